"""Mastodon's pagination: ``max_id`` (older than), ``since_id`` (newer than, newest first),
``min_id`` (just newer than, so the page right above), ``limit`` (clamped to 1..40, as Mastodon
does), and a ``Link`` header with the ``next`` and ``prev`` pages.

Lists ordered by time use the time of the row a bound id names (so posts made with an earlier
``created_at`` than their id suggests, as the demo community's are, still page in time order).
Lists that have no ids of their own (followers, blocks, conversations) put the native API's opaque
cursor in ``max_id``; clients pass Link values back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import Query, Request, Response
from sqlalchemy import Select, and_, or_

from townsquare.errors import NotFound

DEFAULT_LIMIT = 20
MAX_LIMIT = 40


@dataclass(frozen=True)
class Window:
    max_id: str | None
    since_id: str | None
    min_id: str | None
    limit: int


def window(max_id: str | None = Query(None, max_length=600), since_id: str | None = Query(None, max_length=40),
           min_id: str | None = Query(None, max_length=40), limit: str | None = Query(None, max_length=12)) -> Window:
    """Dependency: the paging parameters (a limit that is not a number is the default, as on Mastodon)."""
    try:
        n = int(limit) if limit not in (None, "") else DEFAULT_LIMIT
    except ValueError:
        n = DEFAULT_LIMIT
    return Window(max_id or None, since_id or None, min_id or None, max(1, min(MAX_LIMIT, n)))


def wide_window(max_id: str | None = Query(None, max_length=600), since_id: str | None = Query(None, max_length=40),
                min_id: str | None = Query(None, max_length=40), limit: str | None = Query(None, max_length=12)) -> Window:
    """As ``window``, for lists Mastodon lets clients read 80 at a time (accounts, notifications)."""
    w = window(max_id, since_id, min_id, limit)
    try:
        n = int(limit) if limit not in (None, "") else w.limit
    except ValueError:
        n = w.limit
    return Window(w.max_id, w.since_id, w.min_id, max(1, min(80, n)))


def bound(raw: str | None, parse: Callable[[str], int]) -> int | None:
    """A bound id of the list's own kind; an id that cannot be one bounds nothing (404 would break
    clients that pass the id of another list)."""
    if raw is None:
        return None
    try:
        return parse(raw)
    except NotFound:
        return None


def keyed_page(session, stmt: Select, ts_col, id_col, w: Window, parse: Callable[[str], int],
               key_of: Callable[[int], tuple[datetime, int] | None], *, scalars: bool = True) -> list:
    """Rows of ``stmt`` in ``(ts desc, id desc)`` order inside the window. ``parse`` turns a bound
    into a row id of this list; ``key_of(id)`` gives that row's ``(ts, id)`` (None: unknown, the id
    alone then bounds)."""

    def older(key_id: int):
        key = key_of(key_id)
        if key is None:
            return id_col < key_id
        return or_(ts_col < key[0], and_(ts_col == key[0], id_col < key[1]))

    def newer(key_id: int):
        key = key_of(key_id)
        if key is None:
            return id_col > key_id
        return or_(ts_col > key[0], and_(ts_col == key[0], id_col > key[1]))

    upper, since, lowest = bound(w.max_id, parse), bound(w.since_id, parse), bound(w.min_id, parse)
    if upper is not None:
        stmt = stmt.where(older(upper))
    lower = lowest if lowest is not None else since
    if lower is not None:
        stmt = stmt.where(newer(lower))
    if lowest is not None:  # the page just above min_id: oldest first, then shown newest first
        rows = list(_run(session, stmt.order_by(ts_col.asc(), id_col.asc()).limit(w.limit), scalars))
        return rows[::-1]
    return list(_run(session, stmt.order_by(ts_col.desc(), id_col.desc()).limit(w.limit), scalars))


def id_page(session, stmt: Select, id_col, w: Window, parse: Callable[[str], int], *, scalars: bool = True) -> list:
    """Rows of ``stmt`` by id, newest first, inside the window (notifications, media...)."""
    upper, since, lowest = bound(w.max_id, parse), bound(w.since_id, parse), bound(w.min_id, parse)
    if upper is not None:
        stmt = stmt.where(id_col < upper)
    lower = lowest if lowest is not None else since
    if lower is not None:
        stmt = stmt.where(id_col > lower)
    if lowest is not None:
        return list(_run(session, stmt.order_by(id_col.asc()).limit(w.limit), scalars))[::-1]
    return list(_run(session, stmt.order_by(id_col.desc()).limit(w.limit), scalars))


def _run(session, stmt, scalars: bool):
    return session.scalars(stmt).unique() if scalars else session.execute(stmt)


def link_header(request: Request, response: Response, *, next_max: str | None = None,
                prev_min: str | None = None, extra: dict[str, Any] | None = None) -> None:
    """Set ``Link`` with the next (older) and previous (newer) pages, keeping the other parameters."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in ("max_id", "min_id", "since_id")]
    links = []
    base = str(request.url.replace(query=""))
    if next_max is not None:
        links.append(f'<{base}?{urlencode(params + [("max_id", next_max)])}>; rel="next"')
    if prev_min is not None:
        links.append(f'<{base}?{urlencode(params + [("min_id", prev_min)])}>; rel="prev"')
    if links:
        response.headers["Link"] = ", ".join(links)


def page_links(request: Request, response: Response, items: Sequence[dict], limit: int) -> None:
    """Link header for a page of entities whose ``id`` is the paging key."""
    if not items:
        return
    link_header(request, response, next_max=items[-1]["id"] if len(items) >= limit else None,
                prev_min=items[0]["id"])
