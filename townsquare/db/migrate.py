"""Run Alembic migrations programmatically (``townsquare migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"

# Made by hand in migrations (0002_search), not from the models: autogenerate must leave them alone.
HANDMADE_INDEXES = ("ix_posts_fts", "ix_accounts_fts")


def include_name(name, type_, parent_names) -> bool:
    """Autogenerate filter: skip SQLite FTS5 tables (and their shadow tables) and the PostgreSQL
    full-text expression indexes, so a new revision never proposes dropping them."""
    if type_ == "table" and name and "_fts" in name:
        return False
    return not (type_ == "index" and name in HANDMADE_INDEXES)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Upgrade to the newest revision."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(alembic_config(url), revision)


def current_revisions(url: str) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    from townsquare.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return tuple(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()


def make_revision(message: str) -> None:
    """Autogenerate a new revision from the models against a scratch SQLite database at head.

    Used by developers: ``python -m townsquare.db.migrate "add widgets"``. Review the file it writes.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/scratch.db"
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)


if __name__ == "__main__":
    import sys

    make_revision(" ".join(sys.argv[1:]) or "schema change")
