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
        # What autogenerate (``python -m townsquare.db.migrate``) would write: nothing, in particular
        # no drop of the full-text tables and indexes that only the migration knows about.
        assert compare_metadata(context, Base.metadata) == []
        inspector = inspect(conn)
        if db.dialect == "sqlite":
            assert {"posts_fts", "accounts_fts"} <= set(inspector.get_table_names())
        else:
            names = {ix["name"] for ix in inspector.get_indexes("posts")} | {
                ix["name"] for ix in inspector.get_indexes("accounts")}
            assert {"ix_posts_fts", "ix_accounts_fts"} <= names


def test_search_migration_downgrades_and_upgrades(tmp_path):
    from alembic.script import ScriptDirectory

    from townsquare.db.engine import Database, make_engine
    from townsquare.social import search

    url = f"sqlite:///{tmp_path / 'roundtrip.db'}"
    before_search = ScriptDirectory.from_config(migrate.alembic_config(url)).get_revision("0002_search").down_revision

    def fts_tables() -> set[str]:
        engine = make_engine(url)
        try:
            return {t for t in inspect(engine).get_table_names() if t in ("posts_fts", "accounts_fts")}
        finally:
            engine.dispose()

    migrate.upgrade(url)
    assert fts_tables() == {"posts_fts", "accounts_fts"}
    migrate.downgrade(url, before_search)
    assert fts_tables() == set()
    # rows written while there was no index are indexed by the upgrade ('rebuild')
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO accounts (handle, display_name, bio, is_private, is_admin, is_bot, status, "
                             "created_at, follower_count, following_count, post_count) VALUES "
                             "('old_timer', 'Old Timer', 'here before search', 0, 0, 0, 'active', "
                             "'2026-01-01 00:00:00', 0, 0, 1)")
        conn.exec_driver_sql("INSERT INTO posts (author_id, kind, text, visibility, created_at, like_count, "
                             "comment_count, repost_count) VALUES (1, 'text', 'an archived lighthouse photo', "
                             "'public', '2026-01-01 00:00:00', 0, 0, 0)")
    engine.dispose()
    migrate.upgrade(url)
    assert fts_tables() == {"posts_fts", "accounts_fts"}
    database = Database(url)
    try:
        with database.session() as session:
            assert [p.text for p in search.search_posts(session, None, "lighthouse").items] == [
                "an archived lighthouse photo"]
            assert [a.handle for a in search.search_people(session, None, "timer").items] == ["old_timer"]
    finally:
        database.dispose()
