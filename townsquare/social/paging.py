"""Cursor pagination for services: keyset pages over an ORDER BY, and offset pages for ranked results.

A cursor is opaque to clients (URL-safe base64 of a small JSON list). Services return a ``Page``;
the API renders it as ``{"items": [...], "next_cursor": ...}``. A cursor that does not decode is
bad input (422), never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, or_
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
# Same code and wording as api/pagination.py, so every list fails the same way on a bad cursor.
_BAD_CURSOR = "invalid cursor: pass back the next_cursor of a previous page unchanged"


@dataclass
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None = None


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = [{"d": v.isoformat()} if isinstance(v, datetime) else v for v in values]
    raw = json.dumps(encoded, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, size: int) -> list[Any] | None:
    """The values a cursor holds (``size`` of them), or None for the first page."""
    if not cursor:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != size:
            raise ValueError
        decoded = []
        for v in values:
            if isinstance(v, dict):
                decoded.append(datetime.fromisoformat(v["d"]))
            elif isinstance(v, int | str) and not isinstance(v, bool):
                decoded.append(v)
            else:
                raise ValueError
        return decoded
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput(_BAD_CURSOR, code="invalid_cursor")


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    return limit


def _after(keys: Sequence[ColumnElement], values: Sequence[Any], descending: bool) -> ColumnElement[bool]:
    """Rows strictly after ``values`` in the (all-desc or all-asc) order of ``keys``, expanded as ORs so
    each comparison binds with its column's type (row-value comparisons don't, for datetimes)."""
    terms = []
    for i, key in enumerate(keys):
        equal = [keys[j] == values[j] for j in range(i)]
        beyond = key < values[i] if descending else key > values[i]
        terms.append(and_(*equal, beyond))
    return or_(*terms)


def keyset_page(
    session: Session,
    stmt: Select,
    *,
    keys: Sequence[ColumnElement],
    key_of: Callable[[Any], Sequence[Any]],
    cursor: str | None,
    limit: int,
    descending: bool = True,
    scalars: bool = True,
) -> Page:
    """One page of ``stmt`` ordered by ``keys`` (the last key must be unique, e.g. an id).

    ``key_of(row)`` returns the key values of a result row, in the order of ``keys``.
    """
    check_limit(limit)
    values = decode_cursor(cursor, len(keys))
    if values is not None:
        stmt = stmt.where(_after(keys, values, descending))
    stmt = stmt.order_by(*[k.desc() if descending else k.asc() for k in keys]).limit(limit + 1)
    rows = list(session.scalars(stmt) if scalars else session.execute(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(key_of(rows[-1])) if more and rows else None)


def offset_page(session: Session, stmt: Select, *, cursor: str | None, limit: int,
                scalars: bool = True) -> Page:
    """One page of an already ordered ``stmt`` by offset (for relevance-ranked results)."""
    check_limit(limit)
    values = decode_cursor(cursor, 1)
    offset = values[0] if values else 0
    if not isinstance(offset, int) or offset < 0:
        raise InvalidInput(_BAD_CURSOR, code="invalid_cursor")
    stmt = stmt.offset(offset).limit(limit + 1)
    rows = list(session.scalars(stmt) if scalars else session.execute(stmt))
    more = len(rows) > limit
    return Page(rows[:limit], encode_cursor([offset + limit]) if more else None)
