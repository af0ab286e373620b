"""``townsquare bench api`` runs for real (a uvicorn subprocess) on a tiny database, writes its JSON
rows, and leaves the data as it was."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from typer.testing import CliRunner

from townsquare.cli import app


def test_bench_api_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TOWNSQUARE_DATABASE_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(app, ["migrate"]).exit_code == 0
    empty = runner.invoke(app, ["bench", "api", "--requests", "5"])
    assert empty.exit_code == 1 and "townsquare seed" in empty.output
    for handle in ("ann", "ben"):
        assert runner.invoke(app, ["user", "create", handle, "--password", "password123"]).exit_code == 0
    out = tmp_path / "bench.json"
    result = runner.invoke(app, ["bench", "api", "--requests", "12", "--warmup", "2", "--concurrency", "2",
                                 "--write-share", "0.5", "--json", str(out)])
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["timeline_read", "post_write", "all"]
    assert rows[2]["metrics"]["requests"] == 12 and rows[2]["metrics"]["errors"] == 0
    assert rows[2]["metrics"]["p50_ms"] > 0

    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.social.models import Account, Post, Token

    db = Database(load_settings().sqlalchemy_url)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Post)) == 0
        assert session.scalar(select(func.count()).select_from(Token)) == 2  # the CLI's, not the bench's
        assert session.scalar(select(func.sum(Account.post_count))) == 0
    db.dispose()
