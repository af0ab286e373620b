"""Item 6: cookie-authenticated writes need this session's CSRF token, on the pages and on the JSON
APIs; bearer-token requests are not CSRF-able and need none."""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM

from townsquare.server.csrf import CSRF_COOKIE


@pytest.fixture
def scene(town, app):
    app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "olive"})])
    olive, vic = town.signup("olive"), town.signup("vic")
    post_id = town.post(olive, "hello")
    browser = town.web(vic)
    yield town, olive, vic, post_id, browser
    browser.close()


def _attacks(olive, post_id, action_id):
    """What a cross-site form could make the victim's browser send (no custom header, no token)."""
    return [
        ("post", f"/api/accounts/{olive.sid}/follow", {}),
        ("post", f"/api/posts/{post_id}/reaction", {"json": {"kind": "like"}}),
        ("post", "/api/notifications/read_all", {}),
        ("post", f"/api/assistant/actions/{action_id}/confirm", {}),
        ("post", "/api/posts", {"data": {"text": "forged"}}),
        ("patch", "/api/me", {"json": {"bio": "forged"}}),
        ("delete", f"/api/accounts/{olive.sid}/follow", {}),
        ("post", "/v1/chat/completions", {"json": {"model": "assistant", "messages": [
            {"role": "user", "content": "follow @olive"}]}}),
    ]


def _pending_action(town, vic) -> str:
    conv = town.client.post("/api/assistant/conversations", headers=vic.headers).json()["id"]
    r = town.client.post(f"/api/assistant/conversations/{conv}/messages", json={"text": "follow @olive",
                                                                                "stream": False},
                         headers=vic.headers)
    assert r.status_code == 200, r.text
    return next(s["action_id"] for s in r.json()["steps"] if s["type"] == "confirmation")


def test_cookie_writes_without_the_token_are_refused(scene):
    town, olive, vic, post_id, browser = scene
    action_id = _pending_action(town, vic)
    for method, path, kwargs in _attacks(olive, post_id, action_id):
        r = getattr(browser.client, method)(path, **kwargs)
        assert r.status_code == 403, (method, path, r.status_code, r.text[:200])
        assert r.json()["error"]["code"] == "csrf_failed"
    rel = town.client.get(f"/api/accounts/{olive.sid}/relationship", headers=vic.headers).json()
    assert rel["following"] is False
    assert town.client.get(f"/api/posts/{post_id}", headers=vic.headers).json()["viewer"]["reaction"] is None


def test_the_pages_token_works_and_bearer_needs_none(scene):
    town, olive, vic, post_id, browser = scene
    token = browser.page_token("/")
    r = browser.client.post(f"/api/accounts/{olive.sid}/follow", headers={"X-CSRF-Token": token})
    assert r.status_code == 200 and r.json()["state"] == "following"
    beacon = browser.client.post("/api/events", params={"csrf": token}, json={"events": [
        {"action": "open", "entity_type": "post", "entity_id": post_id, "surface": "home"}]})
    assert beacon.status_code == 201  # sendBeacon cannot set headers: the token rides in the query
    assert town.client.post(f"/api/posts/{post_id}/reaction", json={"kind": "like"},
                            headers=vic.headers).status_code == 201


def test_a_token_minted_while_signed_out_is_refused_when_signed_in(scene, app):
    town, olive, vic, post_id, browser = scene
    from fastapi.testclient import TestClient

    with TestClient(app) as visitor:
        page = visitor.get("/signin", headers={"accept": "text/html"})
        anon = page.cookies.get(CSRF_COOKIE)
    assert anon
    # The attacker plants their signed-out token as the victim's CSRF cookie and submits it.
    browser.client.cookies.set(CSRF_COOKIE, anon)
    form = browser.client.post("/@olive/follow", data={"csrf": anon}, headers={"accept": "text/html"},
                               follow_redirects=False)
    assert form.status_code == 403
    api = browser.client.post(f"/api/accounts/{olive.sid}/follow", headers={"X-CSRF-Token": anon})
    assert api.status_code == 403
    # A token of another signed-in session is no good either.
    other = town.web(olive)
    assert browser.client.post(f"/api/posts/{post_id}/reaction", json={"kind": "like"},
                               headers={"X-CSRF-Token": other.page_token("/")}).status_code == 403
    other.close()
    # After signing in, the pages hand out a token bound to the session: it works.
    fresh = browser.page_token("/")
    assert fresh != anon
    assert browser.client.post(f"/api/accounts/{olive.sid}/follow", headers={"X-CSRF-Token": fresh}).status_code == 200


def test_api_sign_in_returns_a_token_for_cookie_clients(town, client):
    town.signup("kim")
    r = client.post("/api/auth/signin", json={"login": "kim", "password": "correct horse battery", "session": True})
    assert r.status_code == 200 and r.json()["csrf_token"]
    assert client.patch("/api/me", json={"bio": "x"}).status_code == 403
    assert client.patch("/api/me", json={"bio": "x"}, headers={"X-CSRF-Token": r.json()["csrf_token"]}).status_code == 200
    assert client.post("/api/auth/signin", json={"login": "kim", "password": "correct horse battery"}).json()[
        "csrf_token"] is None  # a bearer token needs none
