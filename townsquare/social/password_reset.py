"""Password reset by e-mail: a one-use link that works for a short while.

Asking never says whether an account exists (the page answers the same either way). Only the hash of
the link's secret is stored; using it sets the new password through ``accounts.set_password``, which
ends every sign-in of the account, and spends every other link of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import InvalidInput
from townsquare.social.accounts import normalize_handle, set_password
from townsquare.social.models import Account, PasswordReset

MAX_LINKS_PER_HOUR = 3  # per account: nobody can fill someone's inbox with links


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def find_account(session: Session, login: str) -> Account | None:
    """The active account with this e-mail address or handle, if it has an e-mail to send to."""
    login = (login or "").strip().lower()
    if not login:
        return None
    if "@" in login and not login.startswith("@"):
        account = session.scalar(select(Account).where(Account.email == login))
    else:
        account = session.scalar(select(Account).where(Account.handle == normalize_handle(login)))
    if account is None or account.status != "active" or not account.email:
        return None
    return account


def create_link(session: Session, account: Account, valid_for: timedelta) -> str | None:
    """A new reset secret for ``account`` (None when it asked too often in the last hour)."""
    recent = session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.account_id == account.id, PasswordReset.created_at > utcnow() - timedelta(hours=1)))
    if recent >= MAX_LINKS_PER_HOUR:
        return None
    secret = secrets.token_urlsafe(32)
    session.add(PasswordReset(account_id=account.id, token_hash=_hash(secret), expires_at=utcnow() + valid_for))
    session.flush()
    return secret


def valid_link(session: Session, secret: str) -> PasswordReset | None:
    if not secret or len(secret) > 200:
        return None
    link = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _hash(secret)))
    if link is None or link.used_at is not None or link.expires_at <= utcnow():
        return None
    account = session.get(Account, link.account_id)
    return link if account is not None and account.status == "active" else None


def reset_password(session: Session, secret: str, new_password: str) -> Account:
    """Set the new password with a valid link; InvalidInput when the link is unknown, used or expired."""
    link = valid_link(session, secret)
    if link is None:
        raise InvalidInput("this reset link has expired or was already used; ask for a new one",
                           code="invalid_reset_link")
    account = session.get(Account, link.account_id)
    set_password(session, account, new_password)  # checks the password first: a weak one spends nothing
    session.execute(update(PasswordReset).where(PasswordReset.account_id == account.id,
                                                PasswordReset.used_at.is_(None)).values(used_at=utcnow()))
    session.flush()
    return account


def reset_mail(handle: str, link: str, minutes: int) -> tuple[str, str]:
    """Subject and body of the reset e-mail."""
    subject = "Reset your Townsquare password"
    body = (f"Hello @{handle},\n\n"
            f"Someone (hopefully you) asked to reset the password of your Townsquare account.\n"
            f"Choose a new password here within {minutes} minutes:\n\n{link}\n\n"
            "If you did not ask for this, ignore this message: your password stays as it is.\n")
    return subject, body
