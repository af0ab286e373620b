"""CSRF protection for everything the session cookie authenticates: the pages' forms and the JSON APIs.

A browser sends the ``ts_session`` cookie with any request to this site, including a form that
another site makes it submit. So every state-changing request that the cookie authenticates must
also carry a CSRF token that only our own pages know:

- **Pages**: each form has a hidden ``csrf`` field equal to the ``ts_csrf`` cookie (double submit),
  checked by ``web/context.py``.
- **JSON APIs** (``/api/...``, ``/v1/...``): ``CSRFMiddleware`` refuses a POST/PUT/PATCH/DELETE that
  carries the session cookie and no bearer token unless it sends the token as ``X-CSRF-Token``
  (the page script reads it from ``<meta name="csrf-token">``; ``navigator.sendBeacon``, which
  cannot set headers, sends it as ``?csrf=``). ``POST /api/auth/signin`` with ``session: true``
  returns a token for the new session in ``csrf_token``. Requests with ``Authorization: Bearer``
  are not affected: a browser never adds that header by itself, so they cannot be forged.

A token is ``nonce.signature``, the signature an HMAC-SHA256 (the site's secret key) over the nonce
**and the session it belongs to** (a hash of the session cookie; ``anon`` when signed out). A token
minted for a signed-out visitor, or for another session, is refused for a signed-in session.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from townsquare.server.deps import SESSION_COOKIE

CSRF_COOKIE = "ts_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_QUERY = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
API_PREFIXES = ("/api/", "/v1/")
# Signing in or up does not act as the cookie's account (it starts a new one), and takes a JSON body,
# which no cross-site form can send (FastAPI refuses other content types): a stale cookie in a
# client's jar must not stop it from signing in again.
EXEMPT_PATHS = frozenset({"/api/auth/signin", "/api/auth/signup"})
# The Mastodon API never reads the session cookie (bearer tokens only: mastodon/auth.py), so a cookie
# sent along cannot make a forged request act as anyone.
BEARER_ONLY_PREFIXES = ("/api/v1/", "/api/v2/")


def _binding(session_secret: str | None) -> str:
    """What a token is bound to: the session (never the secret itself), or ``anon``."""
    if not session_secret:
        return "anon"
    return hashlib.sha256(b"ts-session:" + session_secret.encode()).hexdigest()[:32]


def _sign(secret_key: str, nonce: str, binding: str) -> str:
    message = f"csrf:{binding}:{nonce}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def mint(secret_key: str, session_secret: str | None) -> str:
    """A new token for the session whose cookie value is ``session_secret`` (None: signed out)."""
    nonce = secrets.token_urlsafe(18)
    return f"{nonce}.{_sign(secret_key, nonce, _binding(session_secret))}"


def verify(secret_key: str, token: str | None, session_secret: str | None) -> bool:
    """True when ``token`` is ours and was minted for this session."""
    if not isinstance(token, str) or token.count(".") != 1 or len(token) > 200:
        return False
    nonce, signature = token.split(".")
    return hmac.compare_digest(signature, _sign(secret_key, nonce, _binding(session_secret)))


def secret_key(app) -> str:
    return app.state.settings.resolved_secret_key()


def cookie_authenticated(request: Request) -> bool:
    """True when the session cookie (not a bearer token) would authenticate this request."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return False
    return bool(request.cookies.get(SESSION_COOKIE))


class CSRFMiddleware:
    """Refuses cookie-authenticated, state-changing API requests without this session's CSRF token
    (403 ``csrf_failed``), before any route runs."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS or not scope["path"].startswith(API_PREFIXES) \
                or scope["path"] in EXEMPT_PATHS or scope["path"].startswith(BEARER_ONLY_PREFIXES):
            await self.app(scope, receive, send)
            return
        request = Request(scope)  # headers, cookies and query only: the body is left for the route
        if cookie_authenticated(request):
            token = request.headers.get(CSRF_HEADER) or request.query_params.get(CSRF_QUERY)
            if not verify(secret_key(scope["app"]), token, request.cookies.get(SESSION_COOKIE)):
                await _refuse(send)
                return
        await self.app(scope, receive, send)


async def _refuse(send: Send) -> None:
    body = json.dumps({"error": {"code": "csrf_failed", "message": (
        "this request carries the session cookie but not its CSRF token: send the page's token as "
        "X-CSRF-Token, or authenticate with 'Authorization: Bearer <token>'")}}).encode()
    await send({"type": "http.response.start", "status": 403,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
