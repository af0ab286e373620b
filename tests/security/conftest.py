"""Fixtures for the security suite: people made through the real sign-up API, acting through the
real APIs (``Town``), each with a bearer token and, when asked, a web session of their own."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
PASSWORD = "correct horse battery"


@dataclass
class Who:
    """Someone looking at the site: ``token`` None means signed out."""

    name: str
    handle: str | None = None
    id: int | None = None
    token: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def sid(self) -> str:
        return str(self.id)


class Town:
    """Acts through the API as the people it signed up."""

    def __init__(self, client: TestClient, app) -> None:
        self.client = client
        self.app = app
        self.people: dict[str, Who] = {}

    def signup(self, handle: str, *, private: bool = False, bio: str = "") -> Who:
        r = self.client.post("/api/auth/signup", json={"handle": handle, "password": PASSWORD})
        assert r.status_code == 201, r.text
        who = Who(handle, handle, int(r.json()["account"]["id"]), r.json()["token"])
        if private or bio:
            r = self.client.patch("/api/me", json={"is_private": private, "bio": bio}, headers=who.headers)
            assert r.status_code == 200, r.text
        self.people[handle] = who
        return who

    def ok(self, response, status: int = 200):
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    def post(self, who: Who, text: str, visibility: str = "public", media_ids: list[str] | None = None) -> str:
        body = {"text": text, "visibility": visibility}
        if media_ids:
            body |= {"kind": "photo", "media_ids": media_ids}
        return self.ok(self.client.post("/api/posts", json=body, headers=who.headers), 201)["id"]

    def comment(self, who: Who, post_id: str, text: str) -> str:
        return self.ok(self.client.post(f"/api/posts/{post_id}/comments", json={"text": text},
                                        headers=who.headers), 201)["id"]

    def follow(self, who: Who, target: Who) -> str:
        return self.ok(self.client.post(f"/api/accounts/{target.sid}/follow", headers=who.headers))["state"]

    def unfollow(self, who: Who, target: Who) -> None:
        self.ok(self.client.delete(f"/api/accounts/{target.sid}/follow", headers=who.headers))

    def accept(self, who: Who, requester: Who) -> None:
        self.ok(self.client.post(f"/api/follow_requests/{requester.sid}/accept", headers=who.headers))

    def block(self, who: Who, target: Who) -> None:
        self.ok(self.client.post(f"/api/accounts/{target.sid}/block", headers=who.headers))

    def mute(self, who: Who, target: Who) -> None:
        self.ok(self.client.post(f"/api/accounts/{target.sid}/mute", headers=who.headers))

    def message(self, who: Who, to: Who, text: str) -> None:
        self.ok(self.client.post("/api/conversations", json={"recipient_id": to.sid, "text": text},
                                 headers=who.headers), 201)

    def upload_png(self, who: Who, color=(10, 200, 30)) -> dict:
        return self.ok(self.client.post("/api/media", headers=who.headers,
                                        files={"file": ("p.png", png_bytes(color), "image/png")}), 201)

    def create_ai(self, who: Who, name: str, **fields) -> dict:
        return self.ok(self.client.post("/api/studio/ais", json={"name": name, **fields}, headers=who.headers), 201)

    def web(self, who: Who) -> WebSession:
        """A cookie session for ``who`` (signed in through the sign-in page), with its page CSRF token."""
        return WebSession(self.app, who)


class WebSession:
    """A browser-like cookie jar: signed in through the real sign-in form."""

    def __init__(self, app, who: Who) -> None:
        self.client = TestClient(app, base_url="http://testserver")
        self.who = who
        if who.token:
            page = self.client.get("/signin", headers={"accept": "text/html"}).text
            r = self.client.post("/signin", data={"login": who.handle, "password": PASSWORD, "csrf": _meta(page)},
                                 headers={"accept": "text/html"}, follow_redirects=False)
            assert r.status_code == 303, r.text[:300]

    def page_token(self, path: str = "/") -> str:
        return _meta(self.client.get(path, headers={"accept": "text/html"}).text)

    def close(self) -> None:
        self.client.close()


def _meta(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "the page has no csrf-token meta tag"
    return match.group(1)


def png_bytes(color=(10, 200, 30), size=(8, 8)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def town(client, app) -> Town:
    return Town(client, app)
