"""Migrations from empty reach exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

import townsquare.db.all_models  # noqa: F401
from townsquare.db import migrate
from townsquare.db.base import Base


def _name(diff) -> str:
    item = diff[1] if isinstance(diff, tuple) else diff[0][1]
    return str(getattr(item, "name", item))


def test_upgrade_heads_matches_models(db):
    # The db fixture migrated this database from empty with Alembic (upgrade to every head).
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, Base.metadata)
        current = set(context.get_current_heads())
    # Full-text search objects (FTS5 tables, GIN indexes) are made by raw SQL in the search
    # migration and have no model on purpose.
    diff = [d for d in diff if "_fts" not in _name(d)]
    assert diff == [], diff
    assert current == set(ScriptDirectory.from_config(migrate.alembic_config(db.url)).get_heads())
