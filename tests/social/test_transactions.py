"""Savepoints keep the outer transaction on both backends: an error later still rolls back
everything (no partial write), and a failed savepoint leaves earlier writes in place."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from townsquare.social.accounts import create_account
from townsquare.social.models import Account


def _count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Account))


def test_error_after_a_savepoint_rolls_back_everything(db):
    with pytest.raises(RuntimeError), db.session() as session:
        create_account(session, "ghost", None)  # inserts inside a savepoint
        raise RuntimeError("a later step fails")
    assert _count(db) == 0


def test_failed_savepoint_keeps_earlier_writes(db):
    with db.session() as session:
        create_account(session, "first", None)
        with pytest.raises(IntegrityError), session.begin_nested():
            session.add(Account(handle="first"))
            session.flush()
        create_account(session, "second", None)
    with db.session() as session:
        assert sorted(session.scalars(select(Account.handle))) == ["first", "second"]
