"""Server-sent events: ``event: <type>`` + ``data: <json>`` frames."""

from __future__ import annotations

import json


def sse_frame(data: dict, event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
