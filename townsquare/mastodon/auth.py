"""Who calls the Mastodon API, and with which scopes.

A request is authenticated by a bearer token only (``Authorization: Bearer``, or ``access_token`` in
the query as Mastodon also accepts): never by the web session cookie, so these routes need no CSRF
token and can be called from any origin (CORS). Tokens issued to apps carry scopes; API tokens
(sign-in, ``townsquare user create``) have full power.

Every route declares what it needs: ``need("write:statuses")`` (a person's token covering that
scope), ``maybe("read:statuses")`` (anyone; a token, when given, must be valid and cover the scope).
A missing or unknown token is 401, a token without the scope 403, an app's own token
(client credentials) where a person is needed 422 — as on Mastodon.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from townsquare.errors import Forbidden, InvalidInput, Unauthorized
from townsquare.oauth import scopes as scope_rules
from townsquare.server.deps import get_session
from townsquare.social.models import Account
from townsquare.social.tokens import Access, resolve_access


@dataclass(frozen=True)
class Caller:
    access: Access | None  # None: no token

    @property
    def account(self) -> Account | None:
        return self.access.account if self.access is not None else None


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.query_params.get("access_token", "")


def identify(session: Session, secret: str) -> Caller:
    if not secret:
        return Caller(None)
    access = resolve_access(session, secret)
    if access is None:
        raise Unauthorized("The access token is invalid", code="invalid_token")
    return Caller(access)


def caller(request: Request, session: Session = Depends(get_session)) -> Caller:
    return identify(session, bearer_token(request))


def check_scopes(found: Caller, scopes: tuple[str, ...]) -> None:
    if found.access is not None and scopes and not scope_rules.allows(found.access.scopes, *scopes):
        raise Forbidden("This action is outside the authorized scopes", code="insufficient_scope")


def need(*scopes: str):
    """Dependency: the signed-in person, with a token that covers one of ``scopes``."""

    def dependency(found: Caller = Depends(caller)) -> Account:
        if found.access is None:
            raise Unauthorized("The access token is invalid", code="invalid_token")
        check_scopes(found, scopes)
        if found.account is None:
            raise InvalidInput("This method requires an authenticated user", code="user_required")
        return found.account

    return dependency


def maybe(*scopes: str):
    """Dependency: the signed-in person or None (signed out, or an app's own token)."""

    def dependency(found: Caller = Depends(caller)) -> Account | None:
        check_scopes(found, scopes)
        return found.account

    return dependency


def app_token(found: Caller = Depends(caller)) -> Access:
    """Any valid token (a person's or an app's own), for ``apps/verify_credentials``."""
    if found.access is None:
        raise Unauthorized("The access token is invalid", code="invalid_token")
    return found.access
