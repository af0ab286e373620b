"""Cursor pagination shared by every list endpoint.

A cursor is opaque to clients: URL-safe base64 of a small JSON object holding the sort key of
the last item returned (for example ``{"ts": "2026-11-29T03:00:00+00:00", "id": 42}``). Lists
are keyset-paginated on that key, so pages stay stable when new rows arrive in between.

Typical route::

    @router.get("/things", response_model=Page[ThingOut])
    def list_things(page: PageQuery = Depends(page_query), ...):
        after = page.key("ts", "id")             # None on the first page; 422 on a bad cursor
        rows = service.list_things(..., before=after, limit=page.limit + 1)
        return make_page(rows, page.limit, key=lambda r: {"ts": r.created_at, "id": r.id}, render=render)

Services fetch ``limit + 1`` rows; ``make_page`` drops the extra one and uses its presence to
decide whether there is a next page.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from townsquare.errors import InvalidInput

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
_MAX_CURSOR_CHARS = 512

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


def _to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {"$dt"}:
        return datetime.fromisoformat(value["$dt"])
    return value


def encode_cursor(key: dict[str, Any]) -> str:
    """An opaque cursor for a sort key (values: int, str, bool, None or datetime)."""
    raw = json.dumps({k: _to_json(v) for k, v in key.items()}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, *fields: str, types: dict[str, type] | None = None) -> dict[str, Any] | None:
    """The sort key in ``cursor`` (None when there is no cursor); InvalidInput (422) when it is not ours.

    ``fields`` are the keys the cursor must hold; ``types`` optionally checks their types
    (``int`` fields must be ints, ``datetime`` fields datetimes). Unknown keys are refused.
    """
    if cursor is None or cursor == "":
        return None
    bad = InvalidInput("invalid cursor: pass back the next_cursor of a previous page unchanged",
                       code="invalid_cursor")
    if len(cursor) > _MAX_CURSOR_CHARS:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (binascii.Error, ValueError, UnicodeError):
        raise bad
    if not isinstance(data, dict) or set(data) != set(fields):
        raise bad
    try:
        key = {k: _from_json(v) for k, v in data.items()}
    except (TypeError, ValueError):
        raise bad
    for name, expected in (types or {}).items():
        value = key.get(name)
        if expected is int and (not isinstance(value, int) or isinstance(value, bool)):
            raise bad
        if expected is not int and not isinstance(value, expected):
            raise bad
    return key


@dataclass(frozen=True)
class PageQuery:
    """The ``cursor`` and ``limit`` query parameters of a list request."""

    cursor: str | None
    limit: int

    def key(self, *fields: str, types: dict[str, type] | None = None) -> dict[str, Any] | None:
        return decode_cursor(self.cursor, *fields, types=types)

    def ts_id(self) -> tuple[datetime, int] | None:
        """The most common key: ``(timestamp, id)``, newest first."""
        key = self.key("ts", "id", types={"ts": datetime, "id": int})
        return None if key is None else (key["ts"], key["id"])

    def last_id(self) -> int | None:
        key = self.key("id", types={"id": int})
        return None if key is None else key["id"]


def page_query(
    cursor: str | None = Query(None, max_length=_MAX_CURSOR_CHARS,
                               description="The next_cursor of the previous page; omit for the first page."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"Items per page (1..{MAX_LIMIT})."),
) -> PageQuery:
    """FastAPI dependency for list endpoints (limit outside 1..100 -> 422 with the JSON error body)."""
    return PageQuery(cursor=cursor, limit=limit)


def make_page(rows: Sequence[Any], limit: int, *, key: Callable[[Any], dict[str, Any]],
              render: Callable[[Any], Any] = lambda r: r) -> dict[str, Any]:
    """Turn up to ``limit + 1`` rows into ``{"items", "next_cursor"}``."""
    has_more = len(rows) > limit
    shown = list(rows[:limit])
    next_cursor = encode_cursor(key(shown[-1])) if has_more and shown else None
    return {"items": [render(r) for r in shown], "next_cursor": next_cursor}


def ts_id_key(row: Any) -> dict[str, Any]:
    """Key for rows with ``created_at`` and ``id`` (matches ``PageQuery.ts_id``)."""
    return {"ts": row.created_at, "id": row.id}


def id_key(row: Any) -> dict[str, Any]:
    """Key for rows with an ``id`` (matches ``PageQuery.last_id``)."""
    return {"id": row.id}
