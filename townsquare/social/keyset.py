"""Keyset conditions for newest-first lists (the API turns the keys into opaque cursors)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_


def older_than(ts_column, id_column, before: tuple[datetime, int] | None) -> ColumnElement[bool] | None:
    """Rows strictly after ``before`` in ``(ts desc, id desc)`` order; None when there is no key."""
    if before is None:
        return None
    ts, row_id = before
    return or_(ts_column < ts, and_(ts_column == ts, id_column < row_id))


def newer_than(ts_column, id_column, after: tuple[datetime, int] | None) -> ColumnElement[bool] | None:
    """Rows strictly after ``after`` in ``(ts asc, id asc)`` order; None when there is no key."""
    if after is None:
        return None
    ts, row_id = after
    return or_(ts_column > ts, and_(ts_column == ts, id_column > row_id))
