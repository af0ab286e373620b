"""The search migration: the models and the migrated schema agree (so autogenerate stays quiet about
the hand-made full-text tables and indexes), and it downgrades and upgrades cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from townsquare.db import migrate
from townsquare.db.base import Base


def test_models_match_migrations_without_touching_search_indexes(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": migrate.include_name})
        diffs = compare_metadata(context, Base.metadata)
        # Nothing that a migration made is unknown to the models (autogenerate would drop it).
        # (Other differences, like the foundation's use_alter avatar FK on PostgreSQL, are not ours.)
        assert [d for d in diffs if isinstance(d, tuple) and d[0].startswith("remove_")] == []
        inspector = inspect(conn)
        if db.dialect == "sqlite":
            assert {"posts_fts", "accounts_fts"} <= set(inspector.get_table_names())
        else:
            names = {ix["name"] for ix in inspector.get_indexes("posts")} | {
                ix["name"] for ix in inspector.get_indexes("accounts")}
            assert {"ix_posts_fts", "ix_accounts_fts"} <= names


def test_search_migration_downgrades_and_upgrades(tmp_path):
    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    migrate.upgrade(url)
    assert "0002_search" in migrate.current_revisions(url)
    migrate.downgrade(url, "0002_search-1")  # this branch only, down to 0001
    assert "0002_search" not in migrate.current_revisions(url)
    migrate.upgrade(url)
    assert "0002_search" in migrate.current_revisions(url)
