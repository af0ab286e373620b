"""Error bodies in Mastodon's shape on the Mastodon and OAuth paths.

- Mastodon API (``/api/v1``, ``/api/v2``): ``{"error": "<message>"}`` with the 4xx status.
- OAuth (``/oauth/token``, ``/oauth/revoke``, ...): RFC 6749's ``{"error": "<code>",
  "error_description": "<message>"}``.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

API_PREFIXES = ("/api/v1/", "/api/v2/")
OAUTH_PATHS = ("/oauth/token", "/oauth/revoke", "/oauth/userinfo", "/.well-known/oauth-authorization-server")
RFC_CODES = frozenset({"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
                       "unsupported_grant_type", "invalid_scope", "access_denied", "unsupported_response_type",
                       "server_error", "invalid_redirect_uri", "invalid_token"})


def is_mastodon_path(path: str) -> bool:
    return path.startswith(API_PREFIXES) or path in ("/api/v1", "/api/v2") or path in OAUTH_PATHS


def error_shape(request: Request, status: int, code: str, message: str, headers: dict | None) -> Response | None:
    path = request.url.path
    if path in OAUTH_PATHS:
        if code not in RFC_CODES:
            code = "invalid_client" if status == 401 else "server_error" if status >= 500 else "invalid_request"
        return JSONResponse({"error": code, "error_description": message}, status_code=status, headers=headers)
    if path.startswith(API_PREFIXES) or path in ("/api/v1", "/api/v2"):
        return JSONResponse({"error": message}, status_code=status, headers=headers)
    return None
