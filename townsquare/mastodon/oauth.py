"""OAuth 2 endpoints: app registration (``POST /api/v1/apps``), the token endpoint (authorization
code with PKCE, client credentials, refresh), revocation, and the server metadata (RFC 8414) that
clients read first. The consent page (``GET/POST /oauth/authorize``) is a web page:
``web/pages_oauth.py``. The rules are in ``townsquare/oauth/service.py``."""

from __future__ import annotations

import base64
import binascii

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from townsquare import __version__
from townsquare.mastodon.auth import app_token, need
from townsquare.mastodon.entities import Render
from townsquare.mastodon.params import body, text
from townsquare.oauth import scopes as scope_rules
from townsquare.oauth import service as oauth
from townsquare.oauth.models import OAuthApp
from townsquare.server.deps import get_session
from townsquare.social.models import Account
from townsquare.social.tokens import Access

router = APIRouter(include_in_schema=False)

GRANT_TYPES = ("authorization_code", "client_credentials", "refresh_token")
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def render_app(app: OAuthApp, client_secret: str | None = None) -> dict:
    uris = oauth.redirect_uris(app)
    body = {"id": str(app.id), "name": app.name, "website": app.website, "scopes": app.scopes.split(),
            "redirect_uri": "\n".join(uris), "redirect_uris": uris, "vapid_key": "", "client_id": app.client_id}
    if client_secret is not None:
        body |= {"client_secret": client_secret, "client_secret_expires_at": 0}
    return body


@router.post("/api/v1/apps")
def create_app(params: dict = Depends(body), session: Session = Depends(get_session)):
    """Register an app: ``client_name``, ``redirect_uris`` (one or more, or the out-of-band URN),
    ``scopes`` (default ``read``), ``website``."""
    uris = params.get("redirect_uris")
    if uris is None:
        raise oauth.OAuthError("redirect_uris is required", code="invalid_redirect_uri", status=422)
    app, secret = oauth.register_app(session, text(params, "client_name", max_len=1000) or "", uris,
                                     text(params, "scopes", max_len=1000), text(params, "website", max_len=3000))
    return render_app(app, secret)


@router.get("/api/v1/apps/verify_credentials")
def verify_app(access: Access = Depends(app_token), session: Session = Depends(get_session)):
    """The app the token was issued to (an API token belongs to no app: 404)."""
    from townsquare.errors import NotFound

    app = session.get(OAuthApp, access.app_id) if access.app_id is not None else None
    if app is None:
        raise NotFound("this token was not issued to an app")
    return render_app(app)


def _client(request: Request, params: dict) -> tuple[str | None, str | None]:
    """Client id and secret from the body, or from HTTP Basic authentication."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            client_id, _, secret = base64.b64decode(header[6:].strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError):
            raise oauth.OAuthError("malformed Basic authentication", code="invalid_client", status=401)
        return client_id, secret
    return text(params, "client_id", max_len=200), text(params, "client_secret", max_len=200)


@router.post("/oauth/token")
def token(request: Request, params: dict = Depends(body), session: Session = Depends(get_session)):
    grant = text(params, "grant_type", max_len=100)
    client_id, client_secret = _client(request, params)
    if grant == "authorization_code":
        try:
            issued = oauth.exchange_code(session, client_id=client_id, client_secret=client_secret,
                                         code=text(params, "code", max_len=500),
                                         redirect_uri=text(params, "redirect_uri", max_len=3000),
                                         code_verifier=text(params, "code_verifier", max_len=500))
        except oauth.OAuthError as exc:
            if getattr(exc, "commit", False):
                session.commit()  # a replayed code: the revocation of its token stays
            raise
    elif grant == "client_credentials":
        issued = oauth.client_credentials(session, client_id=client_id, client_secret=client_secret,
                                          scope=text(params, "scope", max_len=1000))
    elif grant == "refresh_token":
        issued = oauth.refresh(session, client_id=client_id, client_secret=client_secret,
                               refresh_token=text(params, "refresh_token", max_len=500),
                               scope=text(params, "scope", max_len=1000))
    else:
        raise oauth.OAuthError(f"grant_type must be one of {', '.join(GRANT_TYPES)}", code="unsupported_grant_type")
    return JSONResponse(issued.as_json(), headers=NO_STORE)


@router.post("/oauth/revoke")
def revoke(request: Request, params: dict = Depends(body), session: Session = Depends(get_session)):
    client_id, client_secret = _client(request, params)
    oauth.revoke(session, client_id=client_id, client_secret=client_secret, token=text(params, "token", max_len=500))
    return {}


@router.get("/.well-known/oauth-authorization-server")
def metadata(request: Request):
    base = str(request.base_url).rstrip("/")
    return {
        "issuer": base + "/", "service_documentation": f"{base}/api/docs",
        "authorization_endpoint": f"{base}/oauth/authorize", "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke", "userinfo_endpoint": f"{base}/oauth/userinfo",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(scope_rules.KNOWN), "response_types_supported": ["code"],
        "response_modes_supported": ["query"], "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256"], "server": f"Townsquare {__version__}",
    }


@router.get("/oauth/userinfo")
def userinfo(request: Request, account: Account = Depends(need("profile", "read:accounts")),
             session: Session = Depends(get_session)):
    shown = Render.of(request, session, account).account(account)
    return {"iss": str(request.base_url), "sub": shown["url"], "name": shown["display_name"],
            "preferred_username": account.handle, "profile": shown["url"], "picture": shown["avatar"]}
