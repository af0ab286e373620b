"""The everyday fixes without a browser: the demo's start message, upload limits per Accept header,
the post length limit said in words, non-ASCII hashtags stored and linked, notifications in date order
on the API, the people-you-may-know page."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from live_server import free_port

from .conftest import png_bytes


def test_serve_prints_its_own_address_and_the_demo_sign_ins_every_time(tmp_path):
    from townsquare.db import migrate
    from townsquare.db.engine import Database
    from townsquare.sim.seed import ADMIN_HANDLE, ADMIN_PASSWORD, DEMO_HANDLE, DEMO_PASSWORD
    from townsquare.social.accounts import create_account, set_password

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    migrate.upgrade(url)
    db = Database(url)
    with db.session() as session:
        create_account(session, DEMO_HANDLE, DEMO_PASSWORD)
        create_account(session, ADMIN_HANDLE, ADMIN_PASSWORD, is_admin=True)
    env = {**os.environ, "TOWNSQUARE_DATABASE_URL": url, "TOWNSQUARE_DATA_DIR": str(tmp_path / "data"),
           "TOWNSQUARE_PRELOAD_MODELS": "false", "PYTHONPATH": os.pathsep.join(sys.path)}

    def first_lines(port: int) -> str:
        proc = subprocess.Popen([sys.executable, "-m", "townsquare.cli", "serve", "--port", str(port)], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if "Sign in at" in line or "Uvicorn running" in line or "started server" in line.lower():
                    break
            return "".join(lines)
        finally:
            proc.terminate()
            proc.wait(timeout=20)

    for _ in range(2):  # every start, not only the first
        port = free_port()
        out = first_lines(port)
        assert f"Sign in at http://127.0.0.1:{port}/" in out, out
        assert f"{DEMO_HANDLE} / {DEMO_PASSWORD}" in out and f"{ADMIN_HANDLE} / {ADMIN_PASSWORD}" in out
    # Once the passwords were changed, they are not printed.
    with db.session() as session:
        from townsquare.social.accounts import get_account_by_handle

        set_password(session, get_account_by_handle(session, DEMO_HANDLE), "a-private-password")
        set_password(session, get_account_by_handle(session, ADMIN_HANDLE), "another-private-one")
    db.dispose()
    out = first_lines(free_port())
    assert DEMO_PASSWORD not in out and ADMIN_PASSWORD not in out


@pytest.fixture
def small_uploads(app):
    app.state.settings.max_upload_bytes = 100_000
    return app


def test_too_big_upload_answers_a_page_to_browsers_and_json_to_apps(small_uploads, person):
    alice = person("alice")
    token = alice.token("/compose")
    huge = png_bytes(16, 16) + os.urandom(1_300_000)  # past the limit and the multipart envelope
    page = alice.client.post("/compose", data={"csrf": token, "text": "big"},
                             files={"media": ("big.png", huge, "image/png")},
                             headers={"accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 413 and page.headers["content-type"].startswith("text/html")
    assert "That file is too big" in page.text and "limit of" in page.text
    assert '<nav class="nav"' in page.text and "@alice" in page.text  # drawn signed in
    api = alice.client.post("/api/media", files={"file": ("big.png", huge, "image/png")},
                            headers={"accept": "application/json", "x-csrf-token": token})
    assert api.status_code == 413 and api.json()["error"]["code"] == "too_large"
    # Just over the limit (within the envelope): the compose page says so next to the form.
    over = png_bytes(16, 16) + os.urandom(120_000)
    form = alice.client.post("/compose", data={"csrf": token, "text": "kept text"},
                             files={"media": ("over.png", over, "image/png")}, headers={"accept": "text/html"})
    assert form.status_code == 413 and "kept text" in form.text


def test_too_long_post_is_refused_with_a_message_and_the_text_kept(person):
    alice = person("alice")
    text = "y" * 5001
    response = alice.post_form("/compose", {"text": text}, page="/compose")
    assert response.status_code == 422
    assert "at most 5000 characters" in response.text
    assert text in response.text  # nothing lost
    assert 'maxlength="5000"' not in response.text  # the browser does not cut a paste silently
    assert alice.client.get("/api/accounts/me/posts").status_code in (200, 404)


def test_hashtags_in_any_script_are_stored_and_linked(person, db):
    from townsquare.social.posts import parse_hashtags
    from townsquare.web.templating import linkify

    assert parse_hashtags("#café #বাংলা #हिन्दी #émoji #123 #snake_case") == [
        "café", "বাংলা", "हिन्दी", "émoji", "snake_case"]
    html = str(linkify("see #Café and #বাংলা"))
    assert '<a href="/tags/caf%C3%A9">#Café</a>' in html
    assert '<a href="/tags/%E0%A6%AC%E0%A6%BE%E0%A6%82%E0%A6%B2%E0%A6%BE">#বাংলা</a>' in html
    alice = person("alice")
    alice.post_form("/compose", {"text": "rain in #ঢাকা today"}, page="/compose")
    tag = alice.get("/tags/ঢাকা")
    assert tag.status_code == 200 and "rain in" in tag.text


def test_notifications_api_is_in_date_order(person, db):
    from townsquare.social.models import Notification

    alice, bob = person("alice"), person("bob")
    alice_id, bob_id = alice.account_id(), bob.account_id()
    now = datetime.now(UTC)
    with db.session() as session:
        for ago in (3, 1, 5, 2, 4):
            session.add(Notification(recipient_id=alice_id, actor_id=bob_id, kind="follow",
                                     created_at=now - timedelta(days=ago)))
    seen, cursor = [], None
    while True:
        page = alice.client.get("/api/notifications", params={"limit": 2, **({"cursor": cursor} if cursor else {})})
        assert page.status_code == 200, page.text
        seen += [n["created_at"] for n in page.json()["items"]]
        cursor = page.json().get("next_cursor")
        if not cursor:
            break
    assert len(seen) == 5 and seen == sorted(seen, reverse=True)


def test_people_you_may_know_page_lists_more_with_reasons(person):
    alice, bob = person("alice"), person("bob")
    friends = [person(f"friend{i}") for i in range(6)]
    alice.post_form("/@bob/follow", page="/@bob")
    for f in friends:
        bob.post_form(f"/@{f.handle}/follow", page=f"/@{f.handle}")
    page = alice.get("/people/suggested")
    assert page.status_code == 200
    assert sum(f"@{f.handle}" in page.text for f in friends) >= 4  # more than the panel's three
    assert page.text.count('<ul class="reasons">') >= 4
    assert person().get("/people/suggested", follow_redirects=False).status_code == 303


def test_live_stream_needs_a_session(person):
    visitor = person()
    response = visitor.client.get("/live", headers={"accept": "text/event-stream"})
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
