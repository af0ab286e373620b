"""What the Mastodon tests share: people signed up through the real API, a browser-like cookie
session signed in through the real sign-in form, and the OAuth code flow through the consent page."""

from __future__ import annotations

import base64
import hashlib
import io
import re
import secrets
from urllib.parse import parse_qs, urlencode, urlsplit

PASSWORD = "correct horse battery"
CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
HTML = {"accept": "text/html"}


def png(color=(10, 200, 30), size=(48, 32)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


def signup(client, handle: str, *, private: bool = False) -> tuple[str, str]:
    """(account id, full-power API token)."""
    r = client.post("/api/auth/signup", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    if private:
        assert client.patch("/api/me", json={"is_private": True},
                            headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return r.json()["account"]["id"], token


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csrf_of(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "no csrf-token meta tag"
    return match.group(1)


def web_sign_in(browser, handle: str) -> None:
    """Sign ``browser`` (an httpx-like client with a cookie jar) in through the sign-in form."""
    page = browser.get("/signin", headers=HTML).text
    r = browser.post("/signin", data={"login": handle, "password": PASSWORD, "csrf": csrf_of(page)}, headers=HTML,
                     follow_redirects=False)
    assert r.status_code == 303, r.text[:300]


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def register_app(client, redirect_uri: str = "http://127.0.0.1:9/callback", scopes: str = "read write follow") -> dict:
    r = client.post("/api/v1/apps", data={"client_name": "Test app", "redirect_uris": redirect_uri, "scopes": scopes,
                                          "website": "https://example.org"})
    assert r.status_code == 200, r.text
    return r.json()


def consent(browser, query: dict, *, decision: str = "approve"):
    """Open the consent page as the signed-in browser and press a button; returns the response to the
    button (a redirect to the app, or the page showing an out-of-band code)."""
    page = browser.get("/oauth/authorize?" + urlencode(query), headers=HTML, follow_redirects=False)
    assert page.status_code == 200, page.text[:500]
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"', page.text))
    import html as html_lib

    fields = {k: html_lib.unescape(v) for k, v in fields.items()}
    fields["decision"] = decision
    return browser.post("/oauth/authorize", data=fields, headers=HTML, follow_redirects=False), page


def code_from(response) -> dict:
    assert response.status_code == 303, response.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(response.headers["location"]).query).items()}


def authorize(client, browser, app: dict, *, scopes: str = "read write follow", redirect_uri: str | None = None,
              pkce: bool = True, state: str = "xyz") -> tuple[str, str | None, str]:
    """The whole code flow: (code, verifier, redirect_uri)."""
    redirect_uri = redirect_uri or app["redirect_uris"][0]
    verifier, challenge = pkce_pair() if pkce else (None, None)
    query = {"client_id": app["client_id"], "redirect_uri": redirect_uri, "response_type": "code", "scope": scopes,
             "state": state}
    if pkce:
        query |= {"code_challenge": challenge, "code_challenge_method": "S256"}
    response, _ = consent(browser, query)
    got = code_from(response)
    assert got["state"] == state
    return got["code"], verifier, redirect_uri


def exchange(client, app: dict, code: str, verifier: str | None, redirect_uri: str, *, secret: bool = True):
    data = {"grant_type": "authorization_code", "client_id": app["client_id"], "code": code,
            "redirect_uri": redirect_uri}
    if secret:
        data["client_secret"] = app["client_secret"]
    if verifier:
        data["code_verifier"] = verifier
    return client.post("/oauth/token", data=data)
