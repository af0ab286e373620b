"""Shared fixtures. Database tests run on SQLite and on PostgreSQL (skipped with a reason when no
server is reachable). Each backend is migrated once per test session from empty with Alembic, and
every test starts from empty tables."""

from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import text

from townsquare.config import load_settings
from townsquare.db import migrate
from townsquare.db.base import Base
from townsquare.db.engine import Database

PG_ADMIN_URL = os.environ.get("TOWNSQUARE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_unreachable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL not reachable at {PG_ADMIN_URL}: {str(exc).splitlines()[0]}"


@pytest.fixture(scope="session")
def postgres_url():
    """A fresh PostgreSQL database for this test session, dropped at the end."""
    reason = postgres_unreachable_reason()
    if reason:
        pytest.skip(reason)
    import psycopg

    name = f"townsquare_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = PG_ADMIN_URL.rpartition("/")
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def _migrated(tmp_path_factory):
    """Backend name -> migrated Database, created on first use."""
    cache: dict[str, Database] = {}
    yield cache
    for database in cache.values():
        database.dispose()


def _empty_all_tables(database: Database) -> None:
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with database.engine.connect() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
            conn.commit()
        else:
            conn.execute(text("PRAGMA foreign_keys=OFF"))
            for t in tables:
                conn.execute(text(f'DELETE FROM "{t}"'))
            # The pragma is a no-op inside a transaction: commit first, or this pooled connection
            # would keep foreign keys off for the tests that use it next.
            conn.commit()
            conn.execute(text("PRAGMA foreign_keys=ON"))
            conn.commit()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request, _migrated, tmp_path_factory) -> Database:
    """A migrated, empty database on each backend."""
    backend = request.param
    if backend not in _migrated:
        if backend == "sqlite":
            url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        else:
            url = request.getfixturevalue("postgres_url")
        migrate.upgrade(url)
        _migrated[backend] = Database(url)
    database = _migrated[backend]
    _empty_all_tables(database)
    return database


@pytest.fixture
def settings(tmp_path, db):
    return load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="test-secret",
                         auth_rate_limit_per_minute=1000)


@pytest.fixture
def app(settings, db):
    from townsquare.server.app import create_app

    app = create_app(settings, db)
    yield app
    # Write what waits in the event buffer now: a late write from this test's buffer thread would
    # meet the next test's table cleanup (a deadlock on PostgreSQL).
    app.state.services.close()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


def pytest_addoption(parser):
    parser.addoption("--run-slow", action="store_true", default=False,
                     help="also run the tests marked slow (real models); `make test` and CI do")


def pytest_collection_modifyitems(config, items):
    """Slow tests (they load the real models) are opt-in for local runs: ``--run-slow``, ``-m slow``
    or ``make test``, which runs everything."""
    if config.getoption("--run-slow") or config.getoption("-m"):
        return
    skip = pytest.mark.skip(reason="slow (loads a real model): run with --run-slow, -m slow or `make test`")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)

