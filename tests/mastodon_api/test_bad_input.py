"""Bad input on the Mastodon API: unknown tokens, wrong scopes, malformed bodies, ids of other types,
out-of-range values. Every answer is a Mastodon-shaped 4xx (``{"error": "..."}``), never a 500, and
nothing is written."""

from __future__ import annotations

from sqlalchemy import func, select

from townsquare.social.models import Comment, Follow, Media, Message, Notification, Post, Reaction, Repost

from .helpers import bearer, png, signup

COUNTED = (Post, Comment, Message, Reaction, Repost, Follow, Media, Notification)


def _counts(app) -> dict:
    with app.state.db.session() as s:
        return {m.__name__: s.scalar(select(func.count()).select_from(m)) for m in COUNTED}


def _cases(ana: str, bob_id: str, post_id: str, media_id: str) -> list[tuple]:
    huge = "9" * 30
    comment_like = str(10**17 + 999)
    return [
        ("POST", "/api/v1/statuses", {"json": {"status": ""}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "x" * 30_000}}),
        ("POST", "/api/v1/statuses", {"json": {"status": ["a", "list"]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "visibility": "everyone"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": ["abc"]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": [huge]}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "media_ids": "not-a-list-of-ids"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "in_reply_to_id": "abc"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "in_reply_to_id": comment_like}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 60}}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "scheduled_at": "2030-01-01T00:00:00Z"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "@nobodyhere hi", "visibility": "direct"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "no mention", "visibility": "direct"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "@bob @somebodyelse two", "visibility": "direct"}}),
        ("POST", "/api/v1/statuses", {"json": {"status": "hi", "in_reply_to_id": post_id, "media_ids": [media_id]}}),
        ("POST", "/api/v1/statuses", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/v1/statuses", {"content": b"[1, 2]", "headers": {"content-type": "application/json"}}),
        ("POST", "/api/v1/statuses", {"content": b"--x\r\nbroken", "headers": {
            "content-type": "multipart/form-data; boundary=x"}}),
        ("POST", "/api/v1/statuses", {"data": {"status": "a\x00b"}}),
        ("GET", "/api/v1/statuses/abc", {}),
        ("GET", f"/api/v1/statuses/{huge}", {}),
        ("GET", "/api/v1/statuses/-1", {}),
        ("GET", f"/api/v1/statuses/{comment_like}", {}),
        ("GET", f"/api/v1/statuses/{4 * 10**17 + 1}", {}),
        ("GET", "/api/v1/statuses/0", {}),
        ("PUT", f"/api/v1/statuses/{post_id}", {"json": {"status": "edited", "media_ids": [media_id]}}),
        ("PUT", f"/api/v1/statuses/{post_id}", {"json": {"status": ""}}),
        ("DELETE", f"/api/v1/statuses/{str(3 * 10**17 + 1)}", {}),
        ("POST", f"/api/v1/statuses/{post_id}/bookmark", {}),
        ("POST", f"/api/v1/statuses/{post_id}/pin", {}),
        ("POST", f"/api/v1/statuses/{comment_like}/favourite", {}),
        ("POST", "/api/v1/statuses/abc/reblog", {}),
        ("GET", "/api/v1/accounts/abc", {}),
        ("GET", f"/api/v1/accounts/{huge}", {}),
        ("GET", f"/api/v1/accounts/{post_id}9999", {}),
        ("POST", "/api/v1/accounts/abc/follow", {}),
        ("POST", f"/api/v1/accounts/{ana}/follow", {}),  # yourself
        ("POST", f"/api/v1/accounts/{ana}/block", {}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"data": {"display_name": "x" * 300}}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"data": {"locked": "maybe"}}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"files": {"avatar": ("a.png", b"not an image", "image/png")}}),
        ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "nobody"}}),
        ("GET", "/api/v1/accounts/lookup", {"params": {"acct": "ana@elsewhere.example"}}),
        ("POST", "/api/v2/media", {"files": {"file": ("x.png", b"<html>nope</html>", "image/png")}}),
        ("POST", "/api/v2/media", {"data": {"description": "no file"}}),
        ("POST", "/api/v2/media", {"files": {"file": ("a.png", png(), "image/png")}, "data": {"focus": "2,3"}}),
        ("POST", "/api/v2/media", {"files": {"file": ("a.png", png(), "image/png")}, "data": {"focus": "a,b"}}),
        ("POST", "/api/v2/media", {"files": {"file": ("a.png", png(), "image/png")},
                                   "data": {"description": "d" * 2000}}),
        ("PUT", "/api/v1/media/abc", {"data": {"description": "x"}}),
        ("GET", "/api/v1/notifications/abc", {}),
        ("GET", f"/api/v1/notifications/{huge}", {}),
        ("POST", "/api/v1/notifications/12345/dismiss", {}),
        ("POST", "/api/v1/markers", {"data": {"home[last_read_id]": "abc"}}),
        ("POST", "/api/v1/markers", {"json": {"home": "5"}}),
        ("POST", "/api/v1/markers", {"json": {}}),
        ("GET", "/api/v2/search", {}),
        ("GET", "/api/v2/search", {"params": {"q": "x", "type": "planets"}}),
        ("GET", "/api/v2/search", {"params": {"q": "x" * 600}}),
        ("GET", "/api/v2/search", {"params": {"q": "x", "limit": "1000"}}),
        ("GET", "/api/v1/conversations/abc", {}),
        ("POST", "/api/v1/conversations/999/read", {}),
        ("DELETE", "/api/v1/conversations/1", {}),
        ("POST", "/api/v1/follow_requests/abc/authorize", {}),
        ("POST", f"/api/v1/follow_requests/{bob_id}/authorize", {}),
        ("POST", "/api/v1/reports", {"data": {"account_id": "abc"}}),
        ("POST", "/api/v1/reports", {"data": {"account_id": ana}}),
        ("POST", "/api/v1/push/subscription", {}),
        ("GET", "/api/v1/timelines/list/1", {}),
        ("GET", "/api/v1/lists/1", {}),
        ("GET", "/api/v1/streaming/nonsense", {}),
        ("GET", "/api/v1/streaming", {"params": {"stream": "hashtag"}}),
        ("GET", "/api/v1/tags/" + "%23" * 3, {}),
        ("POST", "/api/v1/tags/" + "x" * 200 + "/follow", {}),
        ("DELETE", "/api/v1/nothing/here", {}),
    ]


def test_bad_input_gets_a_mastodon_shaped_4xx_and_writes_nothing(client, app):
    ana, ana_token = signup(client, "ana")
    bob, _ = signup(client, "bob")
    headers = bearer(ana_token)
    post_id = client.post("/api/v1/statuses", headers=headers, json={"status": "the one post"}).json()["id"]
    media_id = client.post("/api/v2/media", headers=headers, files={"file": ("a.png", png(), "image/png")}).json()["id"]
    before = _counts(app)
    failures = []
    for method, path, kwargs in _cases(ana, bob, post_id, media_id):
        kw = dict(kwargs)
        kw["headers"] = headers | kw.get("headers", {})
        r = client.request(method, path, **kw)
        ok = 400 <= r.status_code < 500
        try:
            body = r.json()
            shaped = isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]
        except ValueError:
            shaped = False
        if not (ok and shaped):
            failures.append(f"{method} {path} {kwargs!r:.80} -> {r.status_code} {r.text[:120]}")
    assert not failures, "\n".join(failures)
    assert _counts(app) == before


def test_tokens_unknown_revoked_or_malformed(client, app):
    _, token = signup(client, "ana")
    for header in ("Bearer nope", "Bearer " + "x" * 500, "Bearer ", "Basic abc", "Bearer \u00e9\u00e9".encode("latin-1")):
        r = client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": header})
        assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}, (header, r.text)
    r = client.post("/api/v1/statuses", headers={"Authorization": "Bearer nope"}, json={"status": "x"})
    assert r.status_code == 401
    assert client.get("/api/v1/timelines/public", params={"access_token": "nope"}).status_code == 401
    assert client.get("/api/v1/timelines/public", params={"access_token": token}).status_code == 200
    client.post("/api/auth/signout", headers=bearer(token))
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).status_code == 401
    assert _counts(app)["Post"] == 0


def test_limits_are_clamped_and_bounds_of_other_kinds_ignored(client):
    _, token = signup(client, "ana")
    for i in range(3):
        client.post("/api/v1/statuses", headers=bearer(token), json={"status": f"post {i}"})
    for params in ({"limit": "0"}, {"limit": "-5"}, {"limit": "abc"}, {"limit": "100000"}, {"max_id": "abc"},
                   {"max_id": str(10**17 + 5)}, {"since_id": "x" * 30}, {"min_id": "-3"}):
        r = client.get("/api/v1/timelines/public", params=params, headers=bearer(token))
        assert r.status_code == 200, (params, r.text)
    assert len(client.get("/api/v1/timelines/public", params={"limit": "0"}).json()) == 1


def test_cookies_never_authenticate_the_mastodon_api(client, browser):
    from .helpers import web_sign_in

    signup(client, "ana")
    web_sign_in(browser, "ana")
    assert browser.get("/api/me").status_code == 200  # the session works on the native API
    assert browser.get("/api/v1/accounts/verify_credentials").status_code == 401
    r = browser.post("/api/v1/statuses", json={"status": "forged from another site"})
    assert r.status_code == 401


def test_cors_on_mastodon_and_oauth_paths_only(client):
    pre = {"Origin": "https://elk.example", "Access-Control-Request-Method": "POST",
           "Access-Control-Request-Headers": "authorization,content-type,idempotency-key"}
    for path in ("/api/v1/statuses", "/oauth/token", "/api/v2/media"):
        r = client.options(path, headers=pre)
        assert r.status_code == 200 and r.headers["access-control-allow-origin"] == "*", path
        assert "idempotency-key" in r.headers["access-control-allow-headers"].lower()
    r = client.get("/api/v1/timelines/public", headers={"Origin": "https://elk.example"})
    assert r.headers["access-control-allow-origin"] == "*" and "Link" in r.headers["access-control-expose-headers"]
    assert "access-control-allow-origin" not in client.get("/api/me", headers={"Origin": "https://x.example"}).headers
    assert "access-control-allow-origin" not in client.options("/api/posts", headers=pre).headers
