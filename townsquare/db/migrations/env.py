"""Alembic environment: uses the URL handed over by townsquare.db.migrate and our engine set-up."""

from alembic import context

import townsquare.db.all_models  # noqa: F401  (fills the metadata)
from townsquare.db.base import Base as _Base
from townsquare.db.engine import make_engine
from townsquare.db.migrate import include_name

target_metadata = _Base.metadata
url = context.config.get_main_option("sqlalchemy.url")


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
