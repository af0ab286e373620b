"""Web sign-in cookies and CSRF protection.

The session cookie (``ts_session``) holds a session token from ``social/tokens.py``; the API's
``optional_account`` accepts it too, so the page script can call the JSON API with the cookie.

CSRF: a signed double-submit token bound to the session (``api/csrf.py``). The ``ts_csrf`` cookie
holds ``nonce.signature`` (HMAC-SHA256 with the site's secret key over the nonce and the session);
every form carries the same value in a hidden ``csrf`` field (and the script sends it as
``X-CSRF-Token`` to the JSON API). A POST is accepted only when the field equals the cookie and the
signature is ours for this session, so another site can neither read nor forge it, and a token
minted while signed out is no good once signed in. Cookies are SameSite=Lax.
"""

from __future__ import annotations

import hmac

from fastapi import Request, Response

from townsquare.server import cookies, csrf
from townsquare.server.deps import SESSION_COOKIE

# Pages run only our own script (no inline script, no other origin), cannot be framed, and keep
# addresses private when following outside links. Inline style attributes are allowed.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; "
                               "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}

CSRF_COOKIE = csrf.CSRF_COOKIE
CSRF_FIELD = csrf.CSRF_FIELD
CSRF_HEADER = csrf.CSRF_HEADER

set_session_cookie = cookies.set_session_cookie
clear_session_cookie = cookies.clear_session_cookie


def _session_secret(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def new_csrf_token(request: Request) -> str:
    return csrf.mint(csrf.secret_key(request.app), _session_secret(request))


def valid_csrf_token(request: Request, token: str | None) -> bool:
    """Ours, and minted for this request's session (or for a signed-out visitor when there is none)."""
    return csrf.verify(csrf.secret_key(request.app), token, _session_secret(request))


def csrf_token_for(request: Request) -> str:
    """The page's token: the cookie's when it is valid for this session, else a new one (set on the
    response by ``render``), so signing in or out gives the next page a token of its own."""
    current = getattr(request.state, "csrf_token", None)
    if current:
        return current
    cookie = request.cookies.get(CSRF_COOKIE)
    token = cookie if valid_csrf_token(request, cookie) else new_csrf_token(request)
    request.state.csrf_token = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(submitted) and bool(cookie) and hmac.compare_digest(str(submitted), str(cookie)) \
        and valid_csrf_token(request, cookie)


def set_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "csrf_token", None)
    if token and token != request.cookies.get(CSRF_COOKIE):
        cookies.set_csrf_cookie(request, response, token)


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are allowed as a redirect target after sign-in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
