"""CORS for browser-based Mastodon clients (Elk, Phanpy, ...) on the Mastodon and OAuth paths only.

Any origin may call them: they are authenticated by bearer tokens, never by cookies, so a page of
another site gains nothing it could not do with a token it already holds (no credentials are
allowed). The rest of the site (pages, native API) keeps the browsers' same-origin rule.
"""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

CORS_PREFIXES = ("/api/v1/", "/api/v2/", "/oauth/token", "/oauth/revoke", "/oauth/userinfo", "/.well-known/",
                 "/nodeinfo")


class MastodonCORS:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.cors = CORSMiddleware(
            app, allow_origins=["*"], allow_credentials=False,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "Accept", "Accept-Language"],
            expose_headers=["Link", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset",
                            "X-Request-Id", "Idempotency-Key"],
            max_age=3600,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(CORS_PREFIXES):
            await self.cors(scope, receive, send)
        else:
            await self.app(scope, receive, send)
