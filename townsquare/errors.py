"""Errors that domain code raises and every interface (API, CLI) turns into a clear message.

The web layer maps them to ``{"error": {"code": ..., "message": ...}}`` with the status below;
the CLI prints the message on one line and exits non-zero.
"""

from __future__ import annotations


class TownsquareError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status


class InvalidInput(TownsquareError):
    status = 422
    code = "invalid_input"


class NotFound(TownsquareError):
    status = 404
    code = "not_found"


class Forbidden(TownsquareError):
    status = 403
    code = "forbidden"


class Unauthorized(TownsquareError):
    status = 401
    code = "unauthorized"


class Conflict(TownsquareError):
    status = 409
    code = "conflict"


class RateLimited(TownsquareError):
    status = 429
    code = "rate_limited"


class Busy(TownsquareError):
    status = 503
    code = "busy"


class Unavailable(TownsquareError):
    status = 503
    code = "unavailable"
