"""Web sign-in cookies and CSRF protection.

The session cookie (``ts_session``) holds a session token from ``social/tokens.py``; the API's
``optional_account`` accepts it too, so the page script can call the JSON API with the cookie.

CSRF: a signed double-submit token. The ``ts_csrf`` cookie holds ``nonce.signature`` (HMAC-SHA256
with the site's secret key); every form carries the same value in a hidden ``csrf`` field (and the
script sends it as ``X-CSRF-Token``). A POST is accepted only when the field equals the cookie and
the signature is ours, so another site can neither read nor forge it. Cookies are SameSite=Lax.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from townsquare.api.deps import SESSION_COOKIE
from townsquare.social.tokens import SESSION_LIFETIME

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

CSRF_COOKIE = "ts_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"


def _secret(request: Request) -> bytes:
    return request.app.state.settings.resolved_secret_key().encode()


def _sign(request: Request, nonce: str) -> str:
    return hmac.new(_secret(request), b"csrf:" + nonce.encode(), hashlib.sha256).hexdigest()[:32]


def new_csrf_token(request: Request) -> str:
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(request, nonce)}"


def valid_csrf_token(request: Request, token: str | None) -> bool:
    if not token or token.count(".") != 1:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(signature, _sign(request, nonce))


def csrf_token_for(request: Request) -> str:
    """The page's token: the cookie's when it is valid, else a new one (set on the response by ``render``)."""
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


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def set_csrf_cookie(request: Request, response: Response) -> None:
    token = getattr(request.state, "csrf_token", None)
    if token and token != request.cookies.get(CSRF_COOKIE):
        response.set_cookie(CSRF_COOKIE, token, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                            samesite="lax", secure=_secure(request), path="/")


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(SESSION_COOKIE, secret, max_age=int(SESSION_LIFETIME.total_seconds()), httponly=True,
                        samesite="lax", secure=_secure(request), path="/")


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(SESSION_COOKIE, path="/")


def safe_next(target: str | None, default: str = "/") -> str:
    """Only same-site paths are allowed as a redirect target after sign-in (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
