"""``townsquare moderation ...`` against the test database (both backends)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.social.models import Account, Report


@pytest.fixture
def cli(db, tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", db.url)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, ["moderation", *args])


def test_queue_resolve_suspend_unsuspend(cli, world, client):
    alice, troll = world.user("alice"), world.user("troll")
    assert cli("reports").exit_code == 1  # no admin yet
    world.user("root", admin=True)
    post_id = world.post(troll, "spam spam spam")
    assert client.post("/api/reports", json={"target_type": "post", "target_id": str(post_id), "reason": "spam",
                                             "details": "all day"}, headers=alice.headers).status_code == 201
    listed = cli("reports")
    assert listed.exit_code == 0, listed.output
    assert "@troll" in listed.output and "spam" in listed.output
    with world.db.session() as s:
        report_id = s.query(Report).one().id
    bad = cli("resolve", str(report_id), "obliterate")
    assert bad.exit_code == 1 and bad.output.startswith("error: action must be one of")
    done = cli("resolve", str(report_id), "remove_post")
    assert done.exit_code == 0 and f"report {report_id}: resolved (remove_post)" in done.output
    assert "no open reports" in cli("reports").output
    assert cli("resolve", str(report_id), "dismiss").exit_code == 1  # already resolved

    assert cli("suspend", "@troll").exit_code == 0
    assert world.account(troll).status == "suspended"
    assert cli("suspend", "troll").exit_code == 1  # already
    assert cli("suspend", "nobody").output.strip() == "error: no account @nobody"
    assert cli("suspend", "alice", "--as", "alice").exit_code == 1  # not an admin
    assert cli("unsuspend", "troll").exit_code == 0
    with world.db.session() as s:
        assert s.get(Account, troll.id).status == "active"
