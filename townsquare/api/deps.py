"""Request dependencies: the database session, the signed-in account, and pagination."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from townsquare.errors import Unauthorized
from townsquare.social.models import Account
from townsquare.social.tokens import resolve_token

SESSION_COOKIE = "ts_session"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on any error."""
    db = request.app.state.db
    with db.session() as session:
        yield session


def _token_from_request(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE, "")


def optional_account(request: Request, session: Session = Depends(get_session)) -> Account | None:
    return resolve_token(session, _token_from_request(request))


def current_account(account: Account | None = Depends(optional_account)) -> Account:
    if account is None:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>' or a session cookie")
    return account


def admin_account(account: Account = Depends(current_account)) -> Account:
    from townsquare.errors import Forbidden

    if not account.is_admin:
        raise Forbidden("only admins can do this")
    return account
