"""The write-behind buffer for observed events and token use: batches, back-pressure, shutdown,
bad rows and an unreachable database."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from townsquare.social.accounts import create_account
from townsquare.social.event_buffer import EventBuffer
from townsquare.social.events import BUFFER_KEY, event_row, record_event
from townsquare.social.models import Event, Token
from townsquare.social.tokens import issue_token, resolve_token


def _person(db, handle="ana"):
    with db.session() as s:
        return create_account(s, handle, "correct horse").id


def _count(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Event))


def _rows(actor_id, n):
    return [event_row(actor_id, "impression", "post", i, surface="home", position=i) for i in range(n)]


def test_rows_wait_until_a_flush_and_close_writes_the_rest(db):
    ana = _person(db)
    buffer = EventBuffer(db, interval_s=60)  # the thread would not flush during the test
    buffer.append(_rows(ana, 3))
    assert _count(db) == 0 and buffer.pending() == 3
    assert buffer.flush() == 3
    assert _count(db) == 3
    buffer.append(_rows(ana, 2))
    buffer.close()  # a clean stop loses nothing
    assert _count(db) == 5 and buffer.pending() == 0


def test_the_thread_writes_a_full_batch_without_waiting_for_the_interval(db):
    import time

    ana = _person(db)
    buffer = EventBuffer(db, interval_s=60, batch_size=10)
    buffer.append(_rows(ana, 10))
    deadline = time.monotonic() + 5
    while _count(db) < 10 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _count(db) == 10
    buffer.close()


def test_a_full_buffer_writes_its_backlog_itself(db):
    ana = _person(db)
    buffer = EventBuffer(db, interval_s=60, batch_size=10_000, max_rows=50)
    buffer.append(_rows(ana, 49))
    assert _count(db) == 0
    buffer.append(_rows(ana, 1))  # the 50th: back-pressure, written before append returns
    assert _count(db) == 50
    buffer.close()


def test_a_row_the_database_refuses_costs_only_itself(db):
    ana, ben = _person(db, "ana"), _person(db, "ben")
    buffer = EventBuffer(db, interval_s=60)
    buffer.append(_rows(ana, 2) + _rows(ben, 1) + _rows(10**9, 1))  # an actor that does not exist
    assert buffer.flush() == 3
    assert _count(db) == 3 and buffer.dropped == 1
    buffer.close()


def test_an_unreachable_database_keeps_the_rows_for_later(db):
    ana = _person(db)

    class Down:
        def session(self):
            raise OperationalError("connect", {}, Exception("connection refused"))

    buffer = EventBuffer(Down(), interval_s=60)
    buffer.append(_rows(ana, 4))
    assert buffer.flush() == 0 and buffer.pending() == 4
    buffer.db = db  # the database is back
    assert buffer.flush() == 4 and _count(db) == 4
    buffer.close()


def test_sessions_with_a_buffer_record_there_and_others_write_at_once(db):
    ana = _person(db)
    buffer = EventBuffer(db, interval_s=60)
    with db.session() as s:
        s.info[BUFFER_KEY] = buffer
        record_event(s, ana, "open", "post", 1, surface="post")
    assert _count(db) == 0 and buffer.pending() == 1
    with db.session() as s:  # the CLI, a script: no buffer
        record_event(s, ana, "open", "post", 2, surface="post")
    assert _count(db) == 1
    buffer.close()
    assert _count(db) == 2


def test_token_use_is_recorded_through_the_buffer(db):
    buffer = EventBuffer(db, interval_s=60)
    with db.session() as s:
        from townsquare.social.models import Account

        secret = issue_token(s, s.get(Account, _person(db)))
    with db.session() as s:
        s.info[BUFFER_KEY] = buffer
        assert resolve_token(s, secret) is not None
        assert not s.dirty  # the request's own transaction stays read-only
    with db.session() as s:
        assert s.scalar(select(Token.last_used_at)) is None
    buffer.flush()
    with db.session() as s:
        assert s.scalar(select(Token.last_used_at)) is not None
