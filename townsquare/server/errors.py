"""Every error leaves the API as ``{"error": {"code": ..., "message": ...}}`` with a 4xx/5xx status."""

from __future__ import annotations

import logging
from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from townsquare.errors import TownsquareError

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid_input",
    429: "rate_limited",
}


def _is_outage(exc: DBAPIError) -> bool:
    """A lost or refused connection (not a bad statement): the database is down or restarting."""
    return isinstance(exc, OperationalError | InterfaceError) or bool(exc.connection_invalidated)


def error_body(code: str, message: str, **extra) -> dict:
    return {"error": {"code": code, "message": message, **extra}}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body",))
        parts.append(f"{loc}: {err.get('msg')}" if loc else str(err.get("msg")))
    return "; ".join(parts) or "invalid request"


HtmlPage = Callable[[Request, int, str], Response | None]
# Another API's own error shape: (request, status, code, message, headers) -> a response for the
# paths it owns, else None (the Mastodon API answers ``{"error": ...}``, see mastodon/errors.py).
ErrorShape = Callable[[Request, int, str, str, dict | None], Response | None]


def install_error_handlers(app: FastAPI, html_page: HtmlPage = lambda request, status, message: None,
                           shapes: tuple[ErrorShape, ...] = ()) -> None:
    """JSON errors for every route; ``html_page`` may answer instead (the web layer's friendly error
    page for browsers) by returning a response rather than None, and so may each of ``shapes`` (the
    error bodies of other APIs, on their own paths)."""

    def _shaped(request: Request, status: int, message: str, code: str, headers: dict | None = None):
        for shape in shapes:
            response = shape(request, status, code, message, headers)
            if response is not None:
                return response
        return None

    def _html_page(request: Request, status: int, message: str, code: str = "error",
                   headers: dict | None = None) -> Response | None:
        return _shaped(request, status, message, code, headers) or html_page(request, status, message)

    @app.exception_handler(TownsquareError)
    async def _domain_error(request: Request, exc: TownsquareError):
        return _html_page(request, exc.status, exc.message, exc.code) or JSONResponse(
            error_body(exc.code, exc.message), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError):
        message = _validation_message(exc)
        return _html_page(request, 422, message, "invalid_input") or JSONResponse(
            error_body("invalid_input", message), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else code
        return _html_page(request, exc.status_code, message, code, exc.headers) or JSONResponse(
            error_body(code, message), status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(IntegrityError)
    async def _integrity_error(request: Request, exc: IntegrityError):
        # A unique/foreign-key race that a service's checks could not see coming: the request's
        # transaction is rolled back by get_session, so nothing was written.
        log.info("integrity error on %s %s: %s", request.method, request.url.path, str(exc.orig)[:200])
        message = "this conflicts with existing data; try again"
        return _shaped(request, 409, message, "conflict") or JSONResponse(error_body("conflict", message),
                                                                         status_code=409)

    @app.exception_handler(DBAPIError)
    async def _database_error(request: Request, exc: DBAPIError):
        if not _is_outage(exc):
            return await _unexpected(request, exc)
        # The database went away (restart, failover, network): nothing was written (the request's
        # transaction is rolled back); the pool reconnects by itself once it is back.
        log.warning("database unavailable on %s %s: %s", request.method, request.url.path,
                    str(exc.orig).splitlines()[0] if exc.orig else type(exc).__name__)
        return _unavailable(request, "database_unavailable",
                            "the database is unavailable; nothing was saved, try again in a moment")

    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeoutError
    except ImportError:  # pragma: no cover - redis is a dependency
        pass
    else:
        @app.exception_handler(RedisConnectionError)
        @app.exception_handler(RedisTimeoutError)
        async def _redis_error(request: Request, exc: Exception):
            log.warning("Redis unavailable on %s %s: %s", request.method, request.url.path, exc)
            return _unavailable(request, "shared_state_unavailable",
                                "a shared service (Redis) is unavailable; try again in a moment")

    def _unavailable(request: Request, code: str, message: str):
        return _html_page(request, 503, message) or JSONResponse(
            error_body(code, message), status_code=503, headers={"Retry-After": "5"})

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _html_page(request, 500, "something went wrong on our side", "internal") or JSONResponse(
            error_body("internal", "something went wrong on our side"), status_code=500)
