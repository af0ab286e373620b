"""Alembic environment: uses the URL handed over by townsquare.db.migrate and our engine set-up."""

from alembic import context

import townsquare.db.all_models  # noqa: F401  (fills the metadata)
from townsquare.db.base import Base as _Base
from townsquare.db.engine import make_engine

target_metadata = _Base.metadata
url = context.config.get_main_option("sqlalchemy.url")


def include_name(name, type_, parent_names) -> bool:
    """Leave out what migrations create by hand: SQLite FTS5 tables (and their shadow tables) and the
    PostgreSQL full-text expression indexes, so autogenerate never proposes dropping them."""
    if type_ == "table" and name and "_fts" in name:
        return False
    if type_ == "index" and name in ("ix_posts_fts", "ix_accounts_fts"):
        return False
    return True


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True,
                      include_name=include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            include_name=include_name,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
