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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from townsquare.server.cursors import MAX_CURSOR_CHARS, decode_cursor, encode_cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: ``next_cursor`` is null on the last page."""

    items: list[T]
    next_cursor: str | None = None


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
    cursor: str | None = Query(None, max_length=MAX_CURSOR_CHARS,
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
