"""The core CLI: migrate, user create (token works), one-line errors with a non-zero exit."""

from __future__ import annotations

from typer.testing import CliRunner

from townsquare.cli import app


def test_migrate_then_user_create(tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TOWNSQUARE_DATABASE_URL", raising=False)
    runner = CliRunner()
    migrated = runner.invoke(app, ["migrate"])
    assert migrated.exit_code == 0, migrated.output
    from alembic.script import ScriptDirectory

    from townsquare.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert f"database at revision {head}" in migrated.output
    created = runner.invoke(app, ["user", "create", "Root_User", "--password", "secret-pass", "--admin"])
    assert created.exit_code == 0, created.output
    assert "created @root_user (admin)" in created.output
    token = created.output.split("token: ")[1].strip()

    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.social.tokens import resolve_token

    db = Database(load_settings().sqlalchemy_url)
    with db.session() as session:
        account = resolve_token(session, token)
        assert account is not None and account.handle == "root_user" and account.is_admin
    db.dispose()

    again = runner.invoke(app, ["user", "create", "root_user", "--password", "secret-pass"])
    assert again.exit_code == 1 and again.output.strip().splitlines() == ["error: the handle @root_user is taken"]
    weak = runner.invoke(app, ["user", "create", "someone", "--password", "short"])
    assert weak.exit_code == 1 and "at least 8" in weak.output
    generated = runner.invoke(app, ["user", "create", "someone"])
    assert generated.exit_code == 0 and "password: " in generated.output


def test_migrate_reports_a_bad_database_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    result = CliRunner().invoke(app, ["migrate"])
    assert result.exit_code == 1
    assert len(result.output.strip().splitlines()) == 1 and result.output.startswith("error: migration failed")
