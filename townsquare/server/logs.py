"""Logs: a request id on every line, access logs, and text or JSON output.

- Every request gets an id: the client's ``X-Request-ID`` when it is a plain token (letters, digits,
  ``.-_:``, at most 128 characters), a new random one otherwise. It is sent back in the response's
  ``X-Request-ID`` and put on every log line written while the request is handled (``request_id``),
  in the request's own task and in the threads FastAPI runs its routes in.
- ``townsquare.access`` logs one line per request (method, path, route, status, milliseconds,
  client); ``townsquare serve`` turns it on (``--no-access-log`` or ``TOWNSQUARE_ACCESS_LOG=false``
  turn it off).
- ``TOWNSQUARE_LOG_FORMAT=json`` writes one JSON object a line (``ts``, ``level``, ``logger``,
  ``message``, ``request_id`` and the access fields), for log collectors; ``text`` (the default)
  is for people.

``log_config(settings)`` is the ``logging.config.dictConfig`` that ``townsquare serve`` hands to
uvicorn, which applies it in every worker process.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

REQUEST_ID_HEADER = "x-request-id"
_VALID_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
ACCESS_LOGGER = "townsquare.access"
ACCESS_FIELDS = ("method", "path", "route", "status", "duration_ms", "client")

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("townsquare_request_id", default=None)


def request_id_from(header_value: str | None) -> str:
    """The client's id when it is a plain token, else a new one."""
    if header_value and _VALID_ID.match(header_value):
        return header_value
    return uuid.uuid4().hex


def current_request_id() -> str | None:
    return request_id_var.get()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (``-`` outside a request) so that formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = request_id_var.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or request_id_var.get(),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def log_config(log_format: str = "text", access_log: bool = True, level: str = "INFO") -> dict:
    """The logging set-up of a serving process (uvicorn applies it in each worker)."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log format must be 'text' or 'json', got {log_format!r}")
    formatter = {"()": JsonFormatter} if log_format == "json" else {"format": TEXT_FORMAT}
    level = level.upper()
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"main": formatter},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr",
                                "formatter": "main", "filters": ["request_id"]}},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            # Our access line replaces uvicorn's (it has the route, the duration and the request id).
            "uvicorn.access": {"level": "WARNING", "propagate": False, "handlers": []},
            "uvicorn.error": {"level": level, "propagate": True, "handlers": []},
            "uvicorn": {"level": level, "propagate": True, "handlers": []},
            ACCESS_LOGGER: {"level": "INFO" if access_log else "WARNING", "propagate": True},
            # Chatty libraries stay at warnings.
            "httpx": {"level": "WARNING"},
            "httpcore": {"level": "WARNING"},
            "sentence_transformers": {"level": "WARNING"},
        },
    }


access_log = logging.getLogger(ACCESS_LOGGER)


def log_access(method: str, path: str, route: str, status: int, duration_ms: float, client: str) -> None:
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields = {"method": method, "path": path, "route": route, "status": status,
              "duration_ms": round(duration_ms, 1), "client": client}
    access_log.info("%s %s %s %.1fms %s", method, path, status, duration_ms, client, extra=fields)
