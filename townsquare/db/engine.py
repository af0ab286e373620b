"""Engine and session factory. SQLite gets WAL and foreign keys; PostgreSQL is used by URL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

SQLITE_MMAP_BYTES = 1 << 30


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Reads through a memory map instead of read() calls into SQLite's own 2 MB page cache: on
    # the 10k-people benchmark community (800 MB) the feed's 600-post read took 1.9 ms with the
    # defaults and 1.0 ms mapped (git history of docs/benchmarks.md). Address space, not memory: the pages are
    # the operating system's file cache, shared by every connection.
    cursor.execute(f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}")
    cursor.close()


def _sqlite_begin_before_savepoint(conn, name) -> None:
    """Open the transaction before a SAVEPOINT on SQLite.

    Python's sqlite3 (before 3.12's autocommit attribute) issues BEGIN lazily, just before the
    first INSERT/UPDATE/DELETE. A SAVEPOINT run before any of those starts the transaction
    itself, and its RELEASE then *commits* everything: a later error could no longer roll the
    savepoint's writes back (a partial write). Beginning explicitly keeps the outer transaction.
    """
    dbapi_connection = conn.connection.dbapi_connection
    if not dbapi_connection.in_transaction:
        # IMMEDIATE: take the write lock now (waiting up to busy_timeout). A deferred BEGIN whose
        # first statement reads would upgrade to a writer later, and in WAL mode that upgrade fails
        # at once with "database is locked" when another connection committed in between.
        dbapi_connection.execute("BEGIN IMMEDIATE")


def _has_nul(parameters) -> bool:
    if isinstance(parameters, str):
        return "\x00" in parameters
    if isinstance(parameters, dict):
        parameters = parameters.values()
    elif not isinstance(parameters, list | tuple):
        return False
    # Numbers are most of a long parameter list (``IN (...)`` of ids): skip them without a call each.
    return any(_has_nul(v) for v in parameters if not isinstance(v, int | float))


def _reject_nul_text(conn, cursor, statement, parameters, context, executemany) -> None:
    """No text holds a NUL character, on every backend.

    PostgreSQL refuses NUL in text (the driver raises DataError: a 500 on any form, JSON field, query
    parameter or search that carries one), while SQLite would store it. Checking the bound values
    here covers every way text reaches the database (API, web forms, CLI) with one rule and a 422;
    bytes (media, vectors) are not text and pass untouched.
    """
    if _has_nul(parameters):
        from townsquare.errors import InvalidInput

        raise InvalidInput("text must not contain NUL characters", code="invalid_text")


def make_engine(url: str, **kwargs) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "savepoint", _sqlite_begin_before_savepoint)
    else:
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        engine = create_engine(url, pool_pre_ping=True, **kwargs)
    event.listen(engine, "before_cursor_execute", _reject_nul_text)
    return engine


def end_transaction(session: Session) -> None:
    """Commit what ``session`` wrote so far, so that it holds no lock and no snapshot.

    Called before every model call (an LLM turn, a shield, a remote embedding): those take seconds,
    and on SQLite an open write transaction blocks every other writer of the database for as long.
    The session stays usable; its next statement starts a new, short transaction.
    """
    if session.in_transaction():
        session.commit()


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose transaction commits on success and rolls back on any error."""
        with self.sessionmaker() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
