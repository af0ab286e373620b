"""Migrations from empty reach exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import townsquare.db.all_models  # noqa: F401
from townsquare.db import migrate
from townsquare.db.base import Base


def test_upgrade_head_matches_models(db):
    # The fixture migrated this database from empty with Alembic's upgrade head.
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn)
        diff = compare_metadata(context, Base.metadata)
        revision = context.get_current_revision()
    assert diff == [], diff
    heads = migrate.alembic_config(db.url)
    from alembic.script import ScriptDirectory

    assert revision == ScriptDirectory.from_config(heads).get_current_head()
