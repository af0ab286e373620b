"""Request dependencies: the database session, the signed-in account, and pagination."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from townsquare.errors import Unauthorized
from townsquare.social.models import Account
from townsquare.social.tokens import resolve_access, resolve_token

SESSION_COOKIE = "ts_session"


def get_session(request: Request) -> Iterator[Session]:
    """One transaction per request: committed when the route returns, rolled back on any error.

    The commit happens as soon as the route returns, *before* the response is sent: FastAPI closes
    request-scoped ``yield`` dependencies only after sending the response, and a client that acts
    on a response at once (a browser following a 303 after sign-up, a script using a new post's
    id) must find the write there. A failing commit therefore fails the request instead of being
    lost after a 2xx. Whatever a streaming response writes later is committed when the request ends.
    """
    with request.app.state.services.session() as session:
        function_stack = request.scope.get("fastapi_function_astack")
        if function_stack is not None:
            function_stack.push(_commit_when_route_returns(session))
        yield session


def _commit_when_route_returns(session: Session):
    def _exit(exc_type, exc, tb) -> bool:
        if exc_type is None:
            session.commit()
        else:
            session.rollback()
        return False  # never swallow the route's error

    return _exit


def _token_from_request(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(SESSION_COOKIE, "")


def optional_account(request: Request, session: Session = Depends(get_session)) -> Account | None:
    return resolve_token(session, _token_from_request(request))


def optional_reader(request: Request, session: Session = Depends(get_session)) -> Account | None:
    """As ``optional_account``, and also an app's token (Mastodon API) that may read posts: for the
    media files, which Mastodon apps fetch with their token."""
    from townsquare.oauth.scopes import allows

    access = resolve_access(session, _token_from_request(request))
    if access is None or not allows(access.scopes, "read:statuses"):
        return None
    return access.account


def current_account(account: Account | None = Depends(optional_account)) -> Account:
    if account is None:
        raise Unauthorized("sign in first: send 'Authorization: Bearer <token>' or a session cookie")
    return account


def admin_account(account: Account = Depends(current_account)) -> Account:
    from townsquare.errors import Forbidden

    if not account.is_admin:
        raise Forbidden("only admins can do this")
    return account
