"""Hold back each response until the request's transaction has committed.

The request's session (``deps.get_session``) commits when the dependency exits, and FastAPI
runs that exit *after* the response has started going out. A commit that fails there (a lock
timeout on SQLite, a constraint checked at commit) would leave the client with a 200 for a
write that never happened. This ASGI middleware holds small responses (JSON, HTML, redirects)
until the app has finished, commit included, and replaces them with a JSON error if it failed.
Streams (server-sent events) and files pass straight through.
"""

from __future__ import annotations

import json
import logging

from sqlalchemy.exc import IntegrityError, OperationalError

log = logging.getLogger(__name__)

_HELD_TYPES = (b"application/json", b"text/html", b"text/plain", b"application/problem+json")


def _holds(message: dict) -> bool:
    for name, value in message.get("headers", []):
        if name.lower() == b"content-type":
            return value.lower().startswith(_HELD_TYPES)
    return True  # no body type: redirects, 204s


def _cause(exc: BaseException, kind: type) -> BaseException | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def _error_for(exc: BaseException) -> tuple[int, dict]:
    if _cause(exc, IntegrityError) is not None:
        return 409, {"error": {"code": "conflict", "message": "this conflicts with existing data; try again"}}
    if _cause(exc, OperationalError) is not None:
        return 503, {"error": {"code": "busy", "message": "the database is busy; try again"}}
    return 500, {"error": {"code": "internal", "message": "something went wrong on our side"}}


class CommitGuardMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        held: list[dict] = []
        passing = False

        async def guarded_send(message: dict) -> None:
            nonlocal passing
            if not passing and message["type"] == "http.response.start" and not _holds(message):
                passing = True
            if passing:
                await send(message)
            else:
                held.append(message)

        try:
            await self.app(scope, receive, guarded_send)
        except Exception as exc:
            if passing:
                raise
            log.exception("request failed after its response was ready: %s %s", scope.get("method"),
                          scope.get("path"))
            status, body = _error_for(exc)
            payload = json.dumps(body).encode()
            await send({"type": "http.response.start", "status": status,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", str(len(payload)).encode())]})
            await send({"type": "http.response.body", "body": payload})
            return
        for message in held:
            await send(message)
