"""Fixtures for the web page tests: people who sign up through the real pages, each with their own
cookie jar (one TestClient per person), and tiny real image files."""

from __future__ import annotations

import io
import re

import pytest
from fastapi.testclient import TestClient

CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def png_bytes(width: int = 32, height: int = 24, color=(200, 40, 90)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


class Person:
    """A browser session: the cookie jar of one person, with helpers to submit forms like a browser."""

    def __init__(self, app, handle: str | None = None) -> None:
        self.client = TestClient(app, base_url="http://testserver")
        self.handle = handle

    def get(self, path: str, **kwargs):
        kwargs.setdefault("headers", {"accept": "text/html"})
        return self.client.get(path, **kwargs)

    def token(self, path: str = "/signin") -> str:
        """The CSRF token from a page's form (signed-out pages have one too)."""
        return csrf_of(self.get(path).text)

    def post_form(self, path: str, data: dict | None = None, *, files=None, csrf: bool = True,
                  page: str = "/signin", follow: bool = False):
        data = dict(data or {})
        if csrf:
            data.setdefault("csrf", self.token(page))
        return self.client.post(path, data=data, files=files, follow_redirects=follow,
                                headers={"accept": "text/html"})

    def signup(self, handle: str, password: str = "password123", **extra):
        response = self.post_form("/signup", {"handle": handle, "password": password, **extra}, page="/signup")
        assert response.status_code == 303, response.text[:500]
        self.handle = handle
        return response

    def account_id(self) -> int:
        return int(self.client.get("/api/me").json()["id"])


@pytest.fixture
def person(app):
    """``person("alice")`` signs alice up through the sign-up page; ``person()`` is a signed-out visitor."""
    made: list[Person] = []

    def _person(handle: str | None = None, **extra) -> Person:
        p = Person(app)
        if handle:
            p.signup(handle, **extra)
        made.append(p)
        return p

    yield _person
    for p in made:
        p.client.close()
