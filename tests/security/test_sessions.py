"""Item 8: a password change signs the account out everywhere else; the session cookie is Secure
over HTTPS (API and pages)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from townsquare.social import accounts
from townsquare.social.models import Account

PASSWORD = "correct horse battery"
NEW = "a brand new passphrase"


def test_changing_the_password_revokes_every_other_token_and_session(town, app):
    kim = town.signup("kim")
    second = town.client.post("/api/auth/signin", json={"login": "kim", "password": PASSWORD}).json()["token"]
    browser = town.web(kim)
    assert browser.client.get("/api/me").status_code == 200
    r = town.client.post("/api/me/password", json={"old_password": PASSWORD, "new_password": NEW},
                         headers={"Authorization": f"Bearer {second}"})
    assert r.status_code == 200
    assert town.client.get("/api/me", headers={"Authorization": f"Bearer {second}"}).status_code == 200  # kept
    assert town.client.get("/api/me", headers=kim.headers).status_code == 401  # the other API token
    assert browser.client.get("/api/me").status_code == 401  # the web session
    assert browser.client.get("/notifications", headers={"accept": "text/html"},
                              follow_redirects=False).status_code in (302, 303, 401)
    browser.close()
    signin = town.client.post("/api/auth/signin", json={"login": "kim", "password": NEW})
    assert signin.status_code == 200


def test_a_reset_without_a_current_token_revokes_all(town, app):
    kim = town.signup("kim")
    with app.state.db.session() as s:
        assert accounts.set_password(s, s.get(Account, kim.id), NEW) >= 1
        s.commit()
    assert town.client.get("/api/me", headers=kim.headers).status_code == 401


def test_wrong_old_password_changes_nothing(town):
    kim = town.signup("kim")
    r = town.client.post("/api/me/password", json={"old_password": "not it at all", "new_password": NEW},
                         headers=kim.headers)
    assert r.status_code == 401
    assert town.client.get("/api/me", headers=kim.headers).status_code == 200


def test_session_cookies_are_secure_over_https(town, app):
    town.signup("kim")
    with TestClient(app, base_url="https://testserver") as https:
        api = https.post("/api/auth/signin", json={"login": "kim", "password": PASSWORD, "session": True})
        cookies = api.headers.get_list("set-cookie")
        assert any(c.startswith("ts_session=") and "Secure" in c for c in cookies), cookies
        assert any(c.startswith("ts_csrf=") and "Secure" in c for c in cookies), cookies
    with TestClient(app, base_url="https://testserver") as https:
        page = https.get("/signin", headers={"accept": "text/html"})
        csrf = page.cookies.get("ts_csrf")
        form = https.post("/signin", data={"login": "kim", "password": PASSWORD, "csrf": csrf},
                          headers={"accept": "text/html"}, follow_redirects=False)
        assert form.status_code == 303
        assert any(c.startswith("ts_session=") and "Secure" in c for c in form.headers.get_list("set-cookie"))
    with TestClient(app, base_url="http://testserver") as plain:
        api = plain.post("/api/auth/signin", json={"login": "kim", "password": PASSWORD, "session": True})
        assert all("Secure" not in c for c in api.headers.get_list("set-cookie"))
