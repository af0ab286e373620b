"""OAuth 2 for Mastodon apps, in process on SQLite and PostgreSQL: the code flow through the consent
page with PKCE, scopes enforced, replayed codes, bad verifiers, client credentials, refresh,
revocation, the apps list in settings, and app tokens kept off the native API."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from townsquare.db.base import utcnow
from townsquare.social.models import Post, Token

from .helpers import (
    HTML,
    authorize,
    bearer,
    consent,
    csrf_of,
    exchange,
    pkce_pair,
    register_app,
    signup,
    web_sign_in,
)


def _posts(app) -> int:
    with app.state.db.session() as s:
        return s.scalar(select(func.count()).select_from(Post))


def _token(client, browser, app_json, scopes="read write follow"):
    code, verifier, uri = authorize(client, browser, app_json, scopes=scopes)
    r = exchange(client, app_json, code, verifier, uri)
    assert r.status_code == 200, r.text
    return r.json()


def test_code_flow_with_pkce_through_the_consent_page(client, browser, app):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    assert registered["client_secret"] and registered["redirect_uris"] == ["http://127.0.0.1:9/callback"]
    verifier, challenge = pkce_pair()
    query = {"client_id": registered["client_id"], "redirect_uri": "http://127.0.0.1:9/callback",
             "response_type": "code", "scope": "read write", "state": "s1", "code_challenge": challenge,
             "code_challenge_method": "S256"}
    answer, page = consent(browser, query)
    assert "Test app" in page.text and "write:statuses" not in page.text and "Post, comment" in page.text
    # the page lets the form lead to the app's redirect URI (browsers check redirects against form-action)
    assert "form-action 'self' http://127.0.0.1:9" in page.headers["content-security-policy"]
    location = answer.headers["location"]
    assert location.startswith("http://127.0.0.1:9/callback?code=") and "state=s1" in location
    code = location.split("code=")[1].split("&")[0]
    token = exchange(client, registered, code, verifier, "http://127.0.0.1:9/callback", secret=False)
    assert token.status_code == 200, token.text
    body = token.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "read write" and body["refresh_token"]
    assert token.headers["cache-control"] == "no-store"
    me = client.get("/api/v1/accounts/verify_credentials", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["username"] == "ana"
    app_info = client.get("/api/v1/apps/verify_credentials", headers=bearer(body["access_token"]))
    assert app_info.json()["name"] == "Test app" and "client_secret" not in app_info.json()


def test_signed_out_people_sign_in_first_and_come_back(client, browser):
    signup(client, "ana")
    registered = register_app(client)
    query = f"client_id={registered['client_id']}&response_type=code&redirect_uri=http://127.0.0.1:9/callback"
    r = browser.get(f"/oauth/authorize?{query}", headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/signin?next=%2Foauth%2Fauthorize")


def test_a_read_token_cannot_write_and_nothing_is_written(client, browser, app):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    token = _token(client, browser, registered, scopes="read")["access_token"]
    before = _posts(app)
    r = client.post("/api/v1/statuses", headers=bearer(token), json={"status": "should not exist"})
    assert r.status_code == 403 and r.json() == {"error": "This action is outside the authorized scopes"}
    assert _posts(app) == before
    assert client.get("/api/v1/timelines/home", headers=bearer(token)).status_code == 200
    # sub-scopes: read:accounts alone reads a profile but not the timeline
    narrow = _token(client, browser, registered, scopes="read:accounts")["access_token"]
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(narrow)).status_code == 200
    assert client.get("/api/v1/timelines/home", headers=bearer(narrow)).status_code == 403
    assert client.get("/api/v1/notifications", headers=bearer(narrow)).status_code == 403
    follow = _token(client, browser, registered, scopes="follow")["access_token"]
    bob_id, _ = signup(client, "bob")
    assert client.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(follow)).json()["following"] is True
    assert client.post("/api/v1/statuses", headers=bearer(follow), json={"status": "x"}).status_code == 403


def test_app_tokens_do_not_work_on_the_native_api(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    token = _token(client, browser, register_app(client), scopes="read write")["access_token"]
    assert client.get("/api/me", headers=bearer(token)).status_code == 401
    assert client.post("/api/posts", headers=bearer(token), json={"text": "native"}).status_code == 401
    assert client.get("/v1/models", headers=bearer(token)).status_code in (401, 200)  # public listing at most


def test_replayed_code_is_refused_and_revokes_what_it_gave(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    code, verifier, uri = authorize(client, browser, registered)
    first = exchange(client, registered, code, verifier, uri).json()["access_token"]
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(first)).status_code == 200
    again = exchange(client, registered, code, verifier, uri)
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    assert "error_description" in again.json()
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(first)).status_code == 401


def test_bad_pkce_verifier_wrong_redirect_and_other_clients(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client, redirect_uri="http://127.0.0.1:9/a\nhttp://127.0.0.1:9/b")
    other = register_app(client)
    code, verifier, uri = authorize(client, browser, registered, redirect_uri="http://127.0.0.1:9/a")
    for bad_verifier in ("x" * 43, verifier + "x", "", "short"):
        r = exchange(client, registered, code, bad_verifier, uri)
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    r = exchange(client, registered, code, verifier, "http://127.0.0.1:9/b")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = exchange(client, other, code, verifier, uri)  # another app's credentials
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = exchange(client, registered | {"client_secret": "wrong"}, code, verifier, uri)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert exchange(client, registered, code, verifier, uri).status_code == 200  # still good once
    # without PKCE, a client must authenticate with its secret
    code, _, uri = authorize(client, browser, registered, redirect_uri="http://127.0.0.1:9/a", pkce=False)
    r = exchange(client, registered, code, None, uri, secret=False)
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = exchange(client, registered, code, "x" * 50, uri)  # a verifier for a code made without a challenge
    assert r.status_code == 400


def test_expired_codes_and_tokens(client, browser, app):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    code, verifier, uri = authorize(client, browser, registered)
    from townsquare.oauth.models import OAuthCode

    with app.state.db.session() as s:
        s.execute(update(OAuthCode).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert exchange(client, registered, code, verifier, uri).json()["error"] == "invalid_grant"
    token = _token(client, browser, registered)["access_token"]
    with app.state.db.session() as s:
        s.execute(update(Token).where(Token.kind == "oauth").values(expires_at=utcnow() - timedelta(seconds=1)))
    r = client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert r.status_code == 401 and r.json() == {"error": "The access token is invalid"}


def test_refresh_rotates_and_revoke_ends(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    first = _token(client, browser, registered)
    base = {"client_id": registered["client_id"], "client_secret": registered["client_secret"]}
    r = client.post("/oauth/token", data=base | {"grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                                                  "scope": "read"})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["scope"] == "read" and second["access_token"] != first["access_token"]
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(first["access_token"])).status_code == 401
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(second["access_token"])).status_code == 200
    again = client.post("/oauth/token", data=base | {"grant_type": "refresh_token",
                                                      "refresh_token": first["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    widen = client.post("/oauth/token", data=base | {"grant_type": "refresh_token",
                                                      "refresh_token": second["refresh_token"], "scope": "write"})
    assert widen.status_code == 400 and widen.json()["error"] == "invalid_scope"
    assert client.post("/oauth/revoke", data=base | {"token": second["access_token"]}).json() == {}
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(second["access_token"])).status_code == 401
    assert client.post("/oauth/revoke", data=base | {"token": "unknown"}).status_code == 200  # RFC 7009
    assert client.post("/oauth/revoke", data={"client_id": "nope", "token": "x"}).status_code == 401


def test_client_credentials_are_the_app_alone(client):
    registered = register_app(client)
    r = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": registered["client_id"],
                                          "client_secret": registered["client_secret"], "scope": "read"})
    assert r.status_code == 200 and "refresh_token" not in r.json()
    token = r.json()["access_token"]
    assert client.get("/api/v1/apps/verify_credentials", headers=bearer(token)).json()["name"] == "Test app"
    me = client.get("/api/v1/accounts/verify_credentials", headers=bearer(token))
    assert me.status_code == 422 and me.json() == {"error": "This method requires an authenticated user"}
    assert client.get("/api/v1/timelines/public", headers=bearer(token)).status_code == 200
    r = client.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": registered["client_id"],
                                          "client_secret": registered["client_secret"], "scope": "admin:read"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_scope"
    r = client.post("/oauth/token", data={"grant_type": "password", "username": "a", "password": "b"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_the_consent_page_refuses_bad_requests_without_redirecting_to_them(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client, scopes="read")
    base = {"client_id": registered["client_id"], "redirect_uri": "http://127.0.0.1:9/callback",
            "response_type": "code"}
    for query in (base | {"client_id": "unknown"}, base | {"redirect_uri": "https://evil.example/steal"}):
        r = browser.get("/oauth/authorize", params=query, headers=HTML, follow_redirects=False)
        assert r.status_code == 400 and "evil" not in r.headers.get("location", "")
    r = browser.get("/oauth/authorize", params=base | {"scope": "write"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and "error=invalid_scope" in r.headers["location"]
    r = browser.get("/oauth/authorize", params=base | {"code_challenge": "short", "code_challenge_method": "S256"},
                    headers=HTML, follow_redirects=False)
    assert r.status_code == 303 and "error=invalid_request" in r.headers["location"]
    answer, _ = consent(browser, base | {"state": "q"}, decision="deny")
    assert "error=access_denied" in answer.headers["location"] and "state=q" in answer.headers["location"]
    # a forged approval (no CSRF token from the page) writes no code
    r = browser.post("/oauth/authorize", data=base | {"decision": "approve"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 403


def test_out_of_band_code_and_app_registration_errors(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client, redirect_uri="urn:ietf:wg:oauth:2.0:oob")
    answer, _ = consent(browser, {"client_id": registered["client_id"], "response_type": "code",
                                  "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"})
    assert answer.status_code == 200 and "data-oauth-code" in answer.text
    for bad in ({"client_name": "x"}, {"client_name": "", "redirect_uris": "http://a/b"},
                {"client_name": "x", "redirect_uris": "javascript:alert(1)"},
                {"client_name": "x", "redirect_uris": "not a uri"},
                {"client_name": "x", "redirect_uris": "http://a/b", "scopes": "read admin:everything"}):
        r = client.post("/api/v1/apps", data=bad)
        assert 400 <= r.status_code < 500 and isinstance(r.json()["error"], str), (bad, r.text)


def test_people_list_and_revoke_their_apps_in_settings(client, browser):
    signup(client, "ana")
    web_sign_in(browser, "ana")
    registered = register_app(client)
    token = _token(client, browser, registered, scopes="read write")["access_token"]
    page = browser.get("/settings/apps", headers=HTML)
    assert page.status_code == 200 and "Test app" in page.text and "write" in page.text
    app_id = registered["id"]
    r = browser.post(f"/settings/apps/{app_id}/revoke", data={"csrf": csrf_of(page.text)}, headers=HTML,
                     follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(token)).status_code == 401
    assert "No app has access" in browser.get("/settings/apps", headers=HTML).text
    # someone else's app id, or one without access: 404, nothing changes
    page = browser.get("/settings/apps", headers=HTML)
    r = browser.post(f"/settings/apps/{app_id}/revoke", data={"csrf": csrf_of(page.text)}, headers=HTML)
    assert r.status_code == 404


def test_discovery_document(client):
    meta = client.get("/.well-known/oauth-authorization-server").json()
    assert meta["code_challenge_methods_supported"] == ["S256"]
    assert set(meta["grant_types_supported"]) == {"authorization_code", "client_credentials", "refresh_token"}
    assert meta["token_endpoint"].endswith("/oauth/token") and "write:statuses" in meta["scopes_supported"]
