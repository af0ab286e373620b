"""The cookies the site sets: the web session (``ts_session``) and its CSRF token (``ts_csrf``).

Both are HttpOnly (no script can read them), SameSite=Lax (not sent on cross-site posts by browsers
that honour it) and ``Secure`` when the request came over HTTPS (``request.url.scheme``; behind a
reverse proxy that is the scheme uvicorn was told to trust, see the deployment docs).
"""

from __future__ import annotations

from fastapi import Request, Response

from townsquare.server.csrf import CSRF_COOKIE
from townsquare.server.deps import SESSION_COOKIE
from townsquare.social.tokens import SESSION_LIFETIME

MAX_AGE = int(SESSION_LIFETIME.total_seconds())


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(SESSION_COOKIE, secret, max_age=MAX_AGE, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(CSRF_COOKIE, token, max_age=MAX_AGE, httponly=True, samesite="lax",
                        secure=is_https(request), path="/")
