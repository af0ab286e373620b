"""Sign up, sign in (handle or email), tokens and session cookies, sign out, profiles, rate limits."""

from __future__ import annotations

from townsquare.social.models import Account, Token


def test_signup_signin_me_and_signout(client, signup, db):
    alice = signup("Alice_1", email="Alice@Example.org", display_name="Alice")
    assert alice.handle == "alice_1"
    me = client.get("/api/me", headers=alice.headers)
    assert me.status_code == 200 and me.json()["email"] == "alice@example.org"
    assert me.json()["display_name"] == "Alice"

    by_handle = client.post("/api/auth/signin", json={"login": "@ALICE_1", "password": "correct horse"})
    by_email = client.post("/api/auth/signin", json={"login": "alice@example.org", "password": "correct horse"})
    assert by_handle.status_code == 200 and by_email.status_code == 200
    token = by_email.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/me", headers=headers).json()["id"] == alice.id

    assert client.post("/api/auth/signout", headers=headers).json() == {"ok": True}
    gone = client.get("/api/me", headers=headers)
    assert gone.status_code == 401 and gone.json()["error"]["code"] == "unauthorized"
    # The other token still works.
    assert client.get("/api/me", headers=alice.headers).status_code == 200


def test_session_cookie_is_httponly_lax_and_signout_revokes_it(client, signup):
    signup("bob", password="password123")
    response = client.post("/api/auth/signin", json={"login": "bob", "password": "password123", "session": True})
    assert response.status_code == 200
    cookie_header = response.headers["set-cookie"].lower()
    assert "ts_session=" in cookie_header and "httponly" in cookie_header and "samesite=lax" in cookie_header
    assert client.get("/api/me").json()["handle"] == "bob"  # the TestClient keeps the cookie
    assert client.post("/api/auth/signout").status_code == 403  # a cookie-authenticated write needs the token
    csrf = {"X-CSRF-Token": response.json()["csrf_token"]}
    assert client.post("/api/auth/signout", headers=csrf).status_code == 200
    client.cookies.set("ts_session", response.json()["token"])
    assert client.get("/api/me").status_code == 401


def test_signup_rejects_bad_input_without_writing(client, signup, rows):
    signup("carol", email="carol@example.org")
    cases = [
        ({"handle": "ab", "password": "longenough"}, 422, "invalid_handle"),
        ({"handle": "bad-handle", "password": "longenough"}, 422, "invalid_handle"),
        ({"handle": "x" * 31, "password": "longenough"}, 422, "invalid_handle"),
        ({"handle": "dave", "password": "short"}, 422, "weak_password"),
        ({"handle": "CAROL", "password": "longenough"}, 409, "handle_taken"),
        ({"handle": "dave", "password": "longenough", "email": "CAROL@example.org"}, 409, "email_taken"),
        ({"handle": "dave", "password": "longenough", "email": "not-an-email"}, 422, "invalid_email"),
        ({"handle": "dave", "password": "longenough", "admin": True}, 422, "invalid_input"),
    ]
    for body, status, code in cases:
        response = client.post("/api/auth/signup", json=body)
        assert response.status_code == status, (body, response.text)
        assert response.json()["error"]["code"] == code
    malformed = client.post("/api/auth/signup", content=b"{not json", headers={"content-type": "application/json"})
    assert malformed.status_code == 422 and "error" in malformed.json()
    assert rows(Account) == 1 and rows(Token) == 1


def test_wrong_password_and_unknown_login_look_the_same(client, signup):
    signup("erin")
    wrong = client.post("/api/auth/signin", json={"login": "erin", "password": "wrong password"})
    unknown = client.post("/api/auth/signin", json={"login": "nobody", "password": "wrong password"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_suspended_account_cannot_sign_in_and_tokens_stop_working(client, signup, db):
    frank = signup("frank")
    with db.session() as session:
        session.get(Account, int(frank.id)).status = "suspended"
    response = client.post("/api/auth/signin", json={"login": "frank", "password": "correct horse"})
    assert response.status_code == 403 and response.json()["error"]["code"] == "account_suspended"
    assert client.get("/api/me", headers=frank.headers).status_code == 401
    assert client.get(f"/api/accounts/{frank.id}").status_code == 404


def test_auth_rate_limit_per_address(client, app, signup):
    app.state.settings.auth_rate_limit_per_minute = 3
    statuses = [client.post("/api/auth/signin", json={"login": "x", "password": "whatever1"}).status_code
                for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    limited = client.post("/api/auth/signup", json={"handle": "gina", "password": "longenough"})
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"


def test_profile_update_lookup_and_avatar(client, signup, png):
    hana = signup("hana")
    other = signup("ivan")
    upload = client.post("/api/media", headers=hana.headers, files={"file": ("a.png", png(), "image/png")})
    assert upload.status_code == 201
    media_id = upload.json()["id"]
    response = client.patch("/api/me", headers=hana.headers, json={
        "display_name": "Hana H", "bio": "hello", "is_private": True, "avatar_media_id": media_id})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["display_name"] == "Hana H" and body["is_private"] is True
    assert body["avatar_url"] == upload.json()["url"]
    public = client.get("/api/accounts/lookup", params={"handle": "@HANA"})
    assert public.status_code == 200 and public.json()["id"] == hana.id and "email" not in public.json()
    assert client.get(f"/api/accounts/{hana.id}").json()["bio"] == "hello"
    # Someone else's media cannot become your avatar; bad ids and unknown accounts are clear errors.
    stolen = client.patch("/api/me", headers=other.headers, json={"avatar_media_id": media_id})
    assert stolen.status_code == 403
    assert client.patch("/api/me", headers=other.headers, json={"bio": "x" * 501}).status_code == 422
    assert client.get("/api/accounts/999999").status_code == 404
    assert client.get("/api/accounts/abc").status_code == 404
    assert client.get("/api/accounts/lookup", params={"handle": "nobody"}).status_code == 404
    assert client.get("/api/me").status_code == 401
    removed = client.patch("/api/me", headers=hana.headers, json={"avatar_media_id": ""})
    assert removed.json()["avatar_url"] is None


def test_change_password(client, signup):
    jo = signup("joe")
    bad = client.post("/api/me/password", headers=jo.headers,
                      json={"old_password": "nope nope", "new_password": "another one"})
    assert bad.status_code == 401
    ok = client.post("/api/me/password", headers=jo.headers,
                     json={"old_password": "correct horse", "new_password": "another one"})
    assert ok.status_code == 200
    assert client.post("/api/auth/signin", json={"login": "joe", "password": "another one"}).status_code == 200


def test_openapi_renders(client):
    spec = client.get("/api/openapi.json")
    assert spec.status_code == 200
    paths = spec.json()["paths"]
    for path in ("/api/auth/signup", "/api/posts", "/api/timeline/home", "/api/events", "/api/media"):
        assert path in paths


def test_signup_with_session_sets_the_cookie(client):
    response = client.post("/api/auth/signup", json={"handle": "kim", "password": "longenough", "session": True})
    assert response.status_code == 201
    assert "ts_session=" in response.headers["set-cookie"]
    assert client.get("/api/me").json()["handle"] == "kim"
