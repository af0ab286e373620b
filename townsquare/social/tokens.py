"""Bearer tokens and web sessions. The secret is shown once; only its SHA-256 is stored."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.social.events import BUFFER_KEY
from townsquare.social.models import Account, Token

SESSION_LIFETIME = timedelta(days=30)
# ``last_used_at`` is refreshed at most this often. In a server the refresh goes through the
# write-behind buffer (``event_buffer.py``): a request never writes, waits or fails for it.
LAST_USED_RESOLUTION = timedelta(minutes=5)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(session: Session, account: Account, *, kind: str = "api", name: str = "") -> str:
    """Create a token for ``account`` and return its secret (never stored in clear)."""
    secret = secrets.token_urlsafe(32)
    expires = utcnow() + SESSION_LIFETIME if kind == "session" else None
    session.add(Token(account_id=account.id, token_hash=_hash(secret), kind=kind, name=name, expires_at=expires))
    session.flush()
    return secret


@dataclass(frozen=True)
class Access:
    """What a live token lets its bearer do: act as ``account`` (None for an app's own
    client-credentials token) within ``scopes`` (None: full power)."""

    token_id: int
    account: Account | None
    scopes: tuple[str, ...] | None
    app_id: int | None


def resolve_access(session: Session, secret: str) -> Access | None:
    """The live token ``secret`` names, with its account and scopes; None when it is unknown, revoked,
    expired, or its account is not active."""
    if not secret or len(secret) > 200:
        return None
    token = session.scalar(select(Token).where(Token.token_hash == _hash(secret)))
    if token is None or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.expires_at is not None and token.expires_at < now:
        return None
    account = None
    if token.account_id is not None:
        account = session.get(Account, token.account_id)
        if account is None or account.status != "active":
            return None
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        buffer = session.info.get(BUFFER_KEY)
        if buffer is not None:
            buffer.touch_token(token.id, now)
        else:
            token.last_used_at = now
    scopes = tuple(token.scopes.split()) if token.scopes is not None else None
    return Access(token.id, account, scopes, token.app_id)


def resolve_token(session: Session, secret: str) -> Account | None:
    """The active account a live **full-power** token belongs to, or None. Tokens issued to apps
    (scoped, ``kind="oauth"``) work on the Mastodon API only: here they are as no token at all."""
    access = resolve_access(session, secret)
    if access is None or access.scopes is not None:
        return None
    return access.account


def revoke_token(session: Session, secret: str) -> bool:
    token = session.scalar(select(Token).where(Token.token_hash == _hash(secret)))
    if token is None or token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    return True


def revoke_all_tokens(session: Session, account_id: int, *, keep: str | None = None) -> int:
    """Revoke every live token of the account except the one whose secret is ``keep``; returns how many."""
    stmt = (update(Token).where(Token.account_id == account_id, Token.revoked_at.is_(None))
            .values(revoked_at=utcnow()).execution_options(synchronize_session="fetch"))
    if keep:
        stmt = stmt.where(Token.token_hash != _hash(keep))
    return int(session.execute(stmt).rowcount or 0)
