"""Migrations from empty produce exactly the schema the models describe, on SQLite and PostgreSQL."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import townsquare.db.all_models  # noqa: F401
from townsquare.db import migrate
from townsquare.db.base import Base
from townsquare.db.engine import make_engine


# Full-text search tables (SQLite) and expression indexes (PostgreSQL) that migrations create
# and the ORM does not map.
def _ignore_unmapped(obj, name, type_, reflected, compare_to):
    name = name or ""
    if type_ == "table" and name.startswith(("posts_fts", "accounts_fts")):
        return False
    if type_ == "column" and name == "embedding" and getattr(obj, "table", None) is not None \
            and obj.table.name == "post_embeddings":
        return False  # the pgvector column, where the server has pgvector (migration 0005)
    return not (type_ == "index" and (name.endswith("_fts") or name == "ix_post_embeddings_embedding"))


def test_history_is_linear():
    script = ScriptDirectory.from_config(migrate.alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, f"several heads: {script.get_heads()}"


def test_migrated_schema_matches_the_models(db):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ignore_unmapped,
                                                         "compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())


def test_downgrade_to_empty_and_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    engine = make_engine(url)
    assert [t for t in inspect(engine).get_table_names() if t != "alembic_version"] == []
    engine.dispose()
    migrate.upgrade(url)
    assert migrate.current_revisions(url) == (ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head(),)


def test_sqlite_full_text_triggers_survive_every_migration(tmp_path):
    """A migration that copies a table (Alembic's batch mode on SQLite) drops its triggers: the
    full-text index would then miss every new account or post. Up, down one and up again."""
    import sqlite3

    from townsquare.db import migrate as migrations

    url = f"sqlite:///{tmp_path / 'fts.db'}"
    wanted = {"accounts_fts_ai", "accounts_fts_ad", "accounts_fts_au", "posts_fts_ai", "posts_fts_ad", "posts_fts_au"}

    def triggers() -> set[str]:
        with sqlite3.connect(tmp_path / "fts.db") as conn:
            return {r[0] for r in conn.execute("select name from sqlite_master where type='trigger'")}

    migrations.upgrade(url)
    assert triggers() >= wanted
    migrations.downgrade(url, "-1")
    assert triggers() >= wanted
    migrations.upgrade(url)
    assert triggers() >= wanted
