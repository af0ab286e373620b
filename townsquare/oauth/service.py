"""OAuth 2 rules: apps, the authorization-code grant with PKCE, client credentials, refresh tokens,
revocation, and the person's list of apps they let in.

- An app registers its redirect URIs and the scopes it may ask for; it gets a client id and a
  secret (shown once; only its SHA-256 is kept).
- ``/oauth/authorize`` (the consent page) checks the request (``check_request``) before showing
  anything, and a signed-in person's approval makes a code (``grant_code``): 10 minutes, once.
- ``exchange_code``: the app (its secret, or no secret when it sent a PKCE challenge) trades the code
  for a token. The redirect URI must be the one the code was made for, the PKCE verifier must hash
  to the challenge (S256 only). A code presented twice is refused and the token it gave is revoked.
- Tokens issued to apps are ``tokens`` rows with ``kind="oauth"``, their scopes and their app; they
  never expire by themselves (as on Mastodon) and come with a refresh token that rotates them.
- Errors are ``OAuthError`` with the RFC 6749 error codes (``invalid_grant``, ``invalid_client``...).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import NotFound, TownsquareError
from townsquare.oauth import scopes as scope_rules
from townsquare.oauth.models import OAuthApp, OAuthCode
from townsquare.social.models import Account, Token

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)
MAX_REDIRECT_URIS = 10
MAX_URI = 2000
MAX_NAME = 200
_CHALLENGE_RE = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")


class OAuthError(TownsquareError):
    """An RFC 6749 error: ``code`` is the ``error`` field, ``message`` its ``error_description``."""

    status = 400
    code = "invalid_request"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


# --- apps -----------------------------------------------------------------------------------------


def _check_redirect_uri(uri: str) -> str:
    uri = uri.strip()
    if uri == OOB:
        return uri
    if len(uri) > MAX_URI or any(c.isspace() for c in uri):
        raise OAuthError("a redirect URI is at most 2000 characters, without spaces", code="invalid_redirect_uri")
    try:
        parts = urlsplit(uri)
    except ValueError:
        parts = None
    if parts is None or not parts.scheme or not _SCHEME_RE.match(parts.scheme) or parts.fragment:
        raise OAuthError(f"{uri[:80]!r} is not an absolute URI without a fragment", code="invalid_redirect_uri")
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        raise OAuthError(f"{uri[:80]!r} has no host", code="invalid_redirect_uri")
    if parts.scheme.lower() in ("javascript", "data", "file", "vbscript"):
        raise OAuthError(f"{parts.scheme}: is not allowed in a redirect URI", code="invalid_redirect_uri")
    return uri


def register_app(session: Session, name: str, redirect_uris: str | list[str], scopes: str | None = None,
                 website: str | None = None) -> tuple[OAuthApp, str]:
    """Register an app; returns it and its client secret (shown this once)."""
    name = (name or "").strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME:
        raise OAuthError(f"client_name is required (at most {MAX_NAME} characters)")
    if isinstance(redirect_uris, str):
        redirect_uris = redirect_uris.split()
    if not isinstance(redirect_uris, list) or not all(isinstance(u, str) for u in redirect_uris):
        raise OAuthError("redirect_uris must be a string or a list of strings", code="invalid_redirect_uri")
    uris = list(dict.fromkeys(_check_redirect_uri(u) for u in redirect_uris if u.strip()))
    if not uris or len(uris) > MAX_REDIRECT_URIS:
        raise OAuthError(f"give 1 to {MAX_REDIRECT_URIS} redirect_uris", code="invalid_redirect_uri")
    granted = _scopes(scopes)
    if website is not None and (not isinstance(website, str) or len(website) > MAX_URI):
        raise OAuthError("website must be a URL of at most 2000 characters")
    secret = secrets.token_urlsafe(32)
    app = OAuthApp(name=name, website=(website or "").strip() or None, redirect_uris="\n".join(uris),
                   scopes=scope_rules.join(granted), client_id=secrets.token_urlsafe(24), secret_hash=_hash(secret))
    session.add(app)
    session.flush()
    return app, secret


def _scopes(raw: str | None) -> tuple[str, ...]:
    try:
        return scope_rules.parse(raw)
    except TownsquareError as exc:
        raise OAuthError(exc.message, code="invalid_scope")


def app_by_client_id(session: Session, client_id: str | None) -> OAuthApp | None:
    if not isinstance(client_id, str) or not client_id or len(client_id) > 64:
        return None
    return session.scalar(select(OAuthApp).where(OAuthApp.client_id == client_id))


def authenticate_client(session: Session, client_id: str | None, client_secret: str | None, *,
                        secret_optional: bool = False) -> OAuthApp:
    """The app whose id (and secret, unless ``secret_optional`` and none is given) is this; 401 otherwise."""
    app = app_by_client_id(session, client_id)
    bad = OAuthError("client authentication failed: unknown client_id or wrong client_secret",
                     code="invalid_client", status=401)
    if app is None:
        raise bad
    if not client_secret and secret_optional:
        return app
    if not isinstance(client_secret, str) or not hmac.compare_digest(_hash(client_secret), app.secret_hash):
        raise bad
    return app


def redirect_uris(app: OAuthApp) -> list[str]:
    return app.redirect_uris.split("\n")


# --- authorization requests and codes -------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked ``/oauth/authorize`` request: what the consent page shows and approves."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None


def check_request(session: Session, *, client_id: str | None, redirect_uri: str | None,
                  response_type: str | None, scope: str | None, state: str | None = None,
                  code_challenge: str | None = None, code_challenge_method: str | None = None) -> AuthorizationRequest:
    """Check an authorization request. Errors about the client or the redirect URI must be shown to
    the person (never redirected: the URI is not trusted); ``OAuthError.redirectable`` says which."""
    app = app_by_client_id(session, client_id)
    if app is None:
        raise OAuthError("unknown client_id: the app is not registered here", code="invalid_client")
    uris = redirect_uris(app)
    uri = redirect_uri or (uris[0] if len(uris) == 1 else "")
    if uri not in uris:
        raise OAuthError("redirect_uri is not one the app registered", code="invalid_redirect_uri")
    if response_type != "code":
        raise OAuthError("response_type must be 'code'", code="unsupported_response_type")
    requested = _scopes(scope or app.scopes)
    if not scope_rules.within(requested, tuple(app.scopes.split())):
        raise OAuthError("the app asks for scopes it did not register", code="invalid_scope")
    if code_challenge is not None or code_challenge_method is not None:
        if (code_challenge_method or "plain") != "S256":
            raise OAuthError("code_challenge_method must be S256", code="invalid_request")
        if not isinstance(code_challenge, str) or not _CHALLENGE_RE.match(code_challenge):
            raise OAuthError("code_challenge must be 43 to 128 URL-safe characters", code="invalid_request")
    if state is not None and len(state) > 1000:
        raise OAuthError("state is at most 1000 characters", code="invalid_request")
    return AuthorizationRequest(app, uri, requested, state, code_challenge, code_challenge_method and "S256")


def grant_code(session: Session, account: Account, request: AuthorizationRequest) -> str:
    """The person approved: a code for the app, valid once for ``CODE_LIFETIME``."""
    code = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(OAuthCode(code_hash=_hash(code), app_id=request.app.id, account_id=account.id,
                          redirect_uri=request.redirect_uri, scopes=scope_rules.join(request.scopes),
                          code_challenge=request.code_challenge, code_challenge_method=request.code_challenge_method,
                          created_at=now, expires_at=now + CODE_LIFETIME))
    session.flush()
    return code


def _pkce_ok(verifier: str | None, challenge: str) -> bool:
    if not isinstance(verifier, str) or not _CHALLENGE_RE.match(verifier):
        return False
    digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")
    return hmac.compare_digest(digest, challenge)


# --- tokens ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: tuple[str, ...]
    created_at: datetime
    refresh_token: str | None = None

    def as_json(self) -> dict:
        body = {"access_token": self.access_token, "token_type": "Bearer", "scope": scope_rules.join(self.scopes),
                "created_at": int(self.created_at.timestamp())}
        if self.refresh_token:
            body["refresh_token"] = self.refresh_token
        return body


def _issue(session: Session, app: OAuthApp, account_id: int | None, granted: tuple[str, ...], *,
           refresh: bool = True) -> tuple[IssuedToken, Token]:
    access = secrets.token_urlsafe(32)
    refresh_token = secrets.token_urlsafe(32) if refresh else None
    now = utcnow()
    row = Token(account_id=account_id, token_hash=_hash(access), kind="oauth", name=app.name[:80], created_at=now,
                scopes=scope_rules.join(granted), app_id=app.id,
                refresh_hash=_hash(refresh_token) if refresh_token else None)
    session.add(row)
    session.flush()
    return IssuedToken(access, granted, now, refresh_token), row


def exchange_code(session: Session, *, client_id: str | None, client_secret: str | None, code: str | None,
                  redirect_uri: str | None, code_verifier: str | None) -> IssuedToken:
    invalid = OAuthError("the authorization code is invalid, expired or already used", code="invalid_grant")
    if not isinstance(code, str) or not code or len(code) > 200:
        raise invalid
    row = session.scalar(select(OAuthCode).where(OAuthCode.code_hash == _hash(code)))
    # A public client (no secret) may only trade a code made with a PKCE challenge.
    app = authenticate_client(session, client_id, client_secret,
                              secret_optional=row is not None and row.code_challenge is not None)
    if row is None or row.app_id != app.id:
        raise invalid
    if row.used_at is not None:
        # Replayed: someone else may hold the code. Revoke what it gave (RFC 6749 4.1.2).
        if row.token_id is not None:
            session.execute(update(Token).where(Token.id == row.token_id, Token.revoked_at.is_(None))
                            .values(revoked_at=utcnow()))
        raise _committed(invalid)
    if row.expires_at < utcnow():
        raise invalid
    if (redirect_uri or row.redirect_uri) != row.redirect_uri:
        raise OAuthError("redirect_uri differs from the one the code was made for", code="invalid_grant")
    if row.code_challenge is not None:
        if not _pkce_ok(code_verifier, row.code_challenge):
            raise OAuthError("code_verifier does not match the code_challenge", code="invalid_grant")
    elif code_verifier:
        raise OAuthError("code_verifier given, but the authorization request had no code_challenge",
                         code="invalid_grant")
    account = session.get(Account, row.account_id)
    if account is None or account.status != "active":
        raise invalid
    issued, token = _issue(session, app, account.id, tuple(row.scopes.split()))
    row.used_at = utcnow()
    row.token_id = token.id
    session.flush()
    return issued


def _committed(error: OAuthError) -> OAuthError:
    """An error whose request must still commit what it wrote (the revocation of a replayed code)."""
    error.commit = True  # read by the route
    return error


def client_credentials(session: Session, *, client_id: str | None, client_secret: str | None,
                       scope: str | None) -> IssuedToken:
    """A token for the app itself (no account): public data and ``apps/verify_credentials`` only."""
    app = authenticate_client(session, client_id, client_secret)
    requested = _scopes(scope)
    if not scope_rules.within(requested, tuple(app.scopes.split())):
        raise OAuthError("the app asks for scopes it did not register", code="invalid_scope")
    issued, _ = _issue(session, app, None, requested, refresh=False)
    return issued


def refresh(session: Session, *, client_id: str | None, client_secret: str | None, refresh_token: str | None,
            scope: str | None) -> IssuedToken:
    """A new token pair for a refresh token (the old pair stops working); ``scope`` may narrow it."""
    app = authenticate_client(session, client_id, client_secret)
    invalid = OAuthError("the refresh token is invalid or was revoked", code="invalid_grant")
    if not isinstance(refresh_token, str) or not refresh_token or len(refresh_token) > 200:
        raise invalid
    row = session.scalar(select(Token).where(Token.refresh_hash == _hash(refresh_token)))
    if row is None or row.app_id != app.id or row.revoked_at is not None or row.account_id is None:
        raise invalid
    account = session.get(Account, row.account_id)
    if account is None or account.status != "active":
        raise invalid
    granted = tuple((row.scopes or "").split())
    if scope:
        narrower = _scopes(scope)
        if not scope_rules.within(narrower, granted):
            raise OAuthError("a refresh can only keep or narrow the scopes", code="invalid_scope")
        granted = narrower
    row.revoked_at = utcnow()
    issued, _ = _issue(session, app, account.id, granted)
    return issued


def revoke(session: Session, *, client_id: str | None, client_secret: str | None, token: str | None) -> bool:
    """Revoke an access or refresh token of this app (RFC 7009: an unknown token is not an error)."""
    app = authenticate_client(session, client_id, client_secret)
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    hashed = _hash(token)
    row = session.scalar(select(Token).where((Token.token_hash == hashed) | (Token.refresh_hash == hashed)))
    if row is None or row.app_id != app.id or row.revoked_at is not None:
        return False
    row.revoked_at = utcnow()
    session.flush()
    return True


# --- the person's apps (web settings) ---------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizedApp:
    app: OAuthApp
    scopes: tuple[str, ...]  # every scope its live tokens hold
    tokens: int
    first_authorized: datetime
    last_used: datetime | None


def authorized_apps(session: Session, account: Account) -> list[AuthorizedApp]:
    """The apps holding live tokens of ``account``, most recently authorized first."""
    rows = session.execute(
        select(Token.app_id, Token.scopes, Token.created_at, Token.last_used_at)
        .where(Token.account_id == account.id, Token.kind == "oauth", Token.revoked_at.is_(None),
               Token.app_id.is_not(None))
    ).all()
    by_app: dict[int, list] = {}
    for row in rows:
        by_app.setdefault(row.app_id, []).append(row)
    apps = {a.id: a for a in session.scalars(select(OAuthApp).where(OAuthApp.id.in_(list(by_app))))} if by_app else {}
    out = []
    for app_id, tokens in by_app.items():
        granted = tuple(dict.fromkeys(s for t in tokens for s in (t.scopes or "").split()))
        used = [t.last_used_at for t in tokens if t.last_used_at is not None]
        out.append(AuthorizedApp(apps[app_id], granted, len(tokens), min(t.created_at for t in tokens),
                                 max(used) if used else None))
    return sorted(out, key=lambda a: a.first_authorized, reverse=True)


def revoke_app(session: Session, account: Account, app_id: int) -> int:
    """Revoke every token ``app_id`` holds for ``account``; NotFound when it holds none."""
    count = session.scalar(select(func.count()).select_from(Token).where(
        Token.account_id == account.id, Token.app_id == app_id, Token.revoked_at.is_(None)))
    if not count:
        raise NotFound("this app has no access to your account")
    session.execute(update(Token).where(Token.account_id == account.id, Token.app_id == app_id,
                                        Token.revoked_at.is_(None)).values(revoked_at=utcnow())
                    .execution_options(synchronize_session=False))
    return int(count)
