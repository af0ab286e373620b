"""The account pages: deletion with a grace period (signing in cancels it), the data export and the
tracking opt-out (what it keeps, and that the page script is told)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import func, select

from townsquare.social.models import Account, Event, Post

from .conftest import png_bytes


def test_signing_in_during_the_grace_period_cancels_and_after_it_fails(app, person, db):
    from townsquare.social import lifecycle

    alice = person("alice")
    alice_id = alice.account_id()
    alice.post_form("/compose", {"text": "still here"}, page="/compose")
    page = alice.post_form("/settings/delete", {"password": "wrong-password"}, page="/settings/account")
    assert page.status_code == 403 and "not deleted" in page.text
    page = alice.post_form("/settings/delete", {"password": "password123"}, page="/settings/account")
    assert page.status_code == 200 and "being deleted" in page.text
    assert alice.client.get("/api/me").status_code == 401  # signed out everywhere
    bob = person("bob")
    assert bob.client.get(f"/api/accounts/{alice_id}").status_code == 404
    back = person()
    response = back.post_form("/signin", {"login": "alice", "password": "password123"})
    assert response.status_code == 303  # signing in cancels the deletion
    assert bob.client.get(f"/api/accounts/{alice_id}").status_code == 200
    assert "still here" in bob.get("/@alice").text
    with db.session() as s:
        account = s.get(Account, alice_id)
        lifecycle.schedule_deletion(s, account, grace=timedelta(0))
        lifecycle.purge_account(s, account, app.state.settings.media_store)
    late = person()
    assert late.post_form("/signin", {"login": "alice", "password": "password123"}).status_code == 401


def test_export_holds_what_the_person_made(app, person, db):
    from townsquare.assistant.memory import add_memory

    alice, bob = person("alice"), person("bob")
    alice.post_form("/@bob/follow", page="/@bob")
    bob.post_form("/@alice/follow", page="/@alice")
    alice.post_form("/compose", {"text": "a photo of #rain"}, files={"media": ("rain.png", png_bytes(), "image/png")},
                    page="/compose")
    alice.post_form("/messages/bob", {"text": "hello bob"}, page="/messages/bob")
    with db.session() as s:
        add_memory(s, alice.account_id(), "I prefer short answers")
    response = alice.get("/settings/export.zip")
    assert response.status_code == 200 and response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    for expected in ("README.txt", "profile.json", "posts.json", "follows.json", "messages.json", "assistant.json",
                     "ai_personas.json", "events.json", "comments.json", "reactions.json"):
        assert expected in names
    posts = json.loads(archive.read("posts.json"))
    assert posts[0]["text"] == "a photo of #rain" and posts[0]["hashtags"] == ["rain"]
    assert posts[0]["media"][0] in names  # the media file itself is in the zip
    assert json.loads(archive.read("follows.json"))["following"][0]["handle"] == "bob"
    assert json.loads(archive.read("messages.json"))[0]["messages"][0]["text"] == "hello bob"
    assert json.loads(archive.read("assistant.json"))["memories"][0]["text"] == "I prefer short answers"
    profile = json.loads(archive.read("profile.json"))
    assert profile["handle"] == "alice" and "password_hash" not in profile
    assert {e["action"] for e in json.loads(archive.read("events.json"))} >= {"post", "follow"}
    bobs = zipfile.ZipFile(io.BytesIO(bob.get("/settings/export.zip").content))
    assert json.loads(bobs.read("messages.json"))[0]["messages"][0] == {
        **json.loads(bobs.read("messages.json"))[0]["messages"][0], "from": "alice", "text": "hello bob"}
    assert json.loads(bobs.read("posts.json")) == []  # only one's own posts
    assert person().get("/settings/export.zip", follow_redirects=False).status_code == 303


def test_tracking_opt_out_keeps_no_impressions(app, person, db):
    alice, bob = person("alice"), person("bob")
    bob.post_form("/compose", {"text": "look at me"}, page="/compose")
    with db.session() as s:
        post_id = s.scalar(select(Post.id))
    token = alice.token("/settings/account")
    seen = {"events": [{"action": "impression", "entity_id": str(post_id), "surface": "home", "position": 0},
                       {"action": "dwell", "entity_id": str(post_id), "surface": "home", "dwell_ms": 4000}]}
    assert alice.client.post("/api/events", json=seen, headers={"x-csrf-token": token}).status_code == 201
    app.state.services.events.flush()

    def tracked() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(Event).where(
                Event.actor_id == alice.account_id(), Event.action.in_(("impression", "dwell"))))

    assert tracked() == 2
    page = alice.post_form("/settings/tracking", {"opt_out": "1"}, page="/settings/account", follow=True)
    assert "no longer records" in page.text and 'data-tracking="0"' in page.text
    assert tracked() == 0  # what was recorded is gone
    stored = alice.client.post("/api/events", json=seen, headers={"x-csrf-token": token})
    assert stored.status_code == 201 and stored.json()["stored"] == 0
    app.state.services.events.flush()
    assert tracked() == 0
    page = alice.post_form("/settings/tracking", {"opt_out": ""}, page="/settings/account", follow=True)
    assert 'data-tracking="1"' in page.text


def test_password_reset_links_expire_are_single_use_and_limited(app, person, db):
    from townsquare.social import password_reset
    from townsquare.social.accounts import authenticate

    person("alice", email="alice@example.org")
    with db.session() as s:
        account = password_reset.find_account(s, "ALICE@example.org")
        assert account is not None and password_reset.find_account(s, "nobody@example.org") is None
        links = [password_reset.create_link(s, account, timedelta(minutes=30)) for _ in range(4)]
        expired = password_reset.create_link(s, account, timedelta(minutes=-1))
    assert all(links[:3]) and links[3] is None and expired is None  # three an hour
    visitor = person()
    assert visitor.get(f"/password/reset?token={links[0]}").status_code == 200
    weak = visitor.post_form("/password/reset", {"token": links[0], "password": "short", "password_again": "short"},
                             page="/signin")
    assert weak.status_code == 422 and "at least 8" in weak.text
    done = visitor.post_form("/password/reset", {"token": links[0], "password": "brand-new-pass",
                                                 "password_again": "brand-new-pass"}, page="/signin")
    assert done.status_code == 303
    with db.session() as s:
        assert authenticate(s, "alice", "brand-new-pass").handle == "alice"
    # Every link of the account is spent by the reset.
    assert visitor.get(f"/password/reset?token={links[1]}").status_code == 410
    assert visitor.get("/password/reset?token=made-up").status_code == 410


def test_forgot_password_without_mail_says_to_ask_an_admin(person):
    visitor = person()
    page = visitor.get("/password/forgot")
    assert "set-password" in page.text
    answer = visitor.post_form("/password/forgot", {"login": "alice"}, page="/signin")
    assert answer.status_code == 503


def test_cli_sets_a_password_and_deletes_an_account(app, person, db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app as cli
    from townsquare.social.accounts import authenticate

    person("carol")
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", db.url)
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    result = runner.invoke(cli, ["user", "set-password", "carol", "--password", "reset-by-admin"])
    assert result.exit_code == 0 and "new password set for @carol" in result.output
    with db.session() as s:
        assert authenticate(s, "carol", "reset-by-admin").handle == "carol"
    missing = runner.invoke(cli, ["user", "set-password", "nobody"])
    assert missing.exit_code == 1
    result = runner.invoke(cli, ["user", "delete", "carol", "--now"])
    assert result.exit_code == 0 and "deleted" in result.output
    with db.session() as s:
        assert s.scalar(select(Account).where(Account.handle == "carol")) is None
    assert runner.invoke(cli, ["user", "purge"]).output.strip() == "0 account(s) purged"
