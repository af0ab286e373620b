"""Opaque cursors: URL-safe base64 of a small JSON object holding the sort key of the last item
shown (for example ``{"ts": "2026-11-29T03:00:00+00:00", "id": 42}``). Shared by the native API's
lists (``api/pagination.py``) and the web pages' "more" links."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any

from townsquare.errors import InvalidInput

MAX_CURSOR_CHARS = 512


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
    if len(cursor) > MAX_CURSOR_CHARS:
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
