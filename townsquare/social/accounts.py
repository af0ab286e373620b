"""Accounts: sign up, sign in, sessions and profiles.

Handles are stored lower-case (so uniqueness is case-insensitive), emails too. Passwords are
hashed with Argon2id at OWASP's minimum cost (19 MiB, 2 passes), cheap enough for a 2-core box.
"""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from townsquare.social.models import Account, Media
from townsquare.social.tokens import issue_token, revoke_all_tokens, revoke_token

HANDLE_RE = re.compile(r"^[a-z0-9_]{3,30}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
MAX_DISPLAY_NAME = 80
MAX_BIO = 500

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verified against when the login is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def normalize_handle(handle: str) -> str:
    return (handle or "").strip().lstrip("@").lower()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise InvalidInput(f"password must be at least {MIN_PASSWORD} characters", code="weak_password")
    if len(password) > MAX_PASSWORD:
        raise InvalidInput(f"password must be at most {MAX_PASSWORD} characters")


def _check_handle(handle: str) -> str:
    normalized = normalize_handle(handle)
    if not HANDLE_RE.match(normalized):
        raise InvalidInput("handle must be 3-30 characters: letters, digits and underscores", code="invalid_handle")
    return normalized


def _check_email(email: str | None) -> str | None:
    if email is None or not email.strip():
        return None
    email = email.strip().lower()
    if len(email) > 254 or not EMAIL_RE.match(email):
        raise InvalidInput("email address is not valid", code="invalid_email")
    return email


def _check_profile_text(display_name: str | None, bio: str | None) -> None:
    if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
        raise InvalidInput(f"display name must be at most {MAX_DISPLAY_NAME} characters")
    if bio is not None and len(bio) > MAX_BIO:
        raise InvalidInput(f"bio must be at most {MAX_BIO} characters")


def handle_taken(session: Session, handle: str) -> bool:
    return session.scalar(select(Account.id).where(Account.handle == normalize_handle(handle))) is not None


def create_account(session: Session, handle: str, password: str | None, *, email: str | None = None,
                   display_name: str = "", bio: str = "", is_admin: bool = False, is_bot: bool = False,
                   is_private: bool = False) -> Account:
    """Create an account (``password=None`` makes one that cannot sign in, e.g. for bots or seeding)."""
    handle = _check_handle(handle)
    email = _check_email(email)
    if password is not None:
        _check_password(password)
    display_name = (display_name or "").strip()
    _check_profile_text(display_name, bio)
    if handle_taken(session, handle):
        raise Conflict(f"the handle @{handle} is taken", code="handle_taken")
    if email and session.scalar(select(Account.id).where(Account.email == email)) is not None:
        raise Conflict("an account with this email exists", code="email_taken")
    account = Account(handle=handle, email=email, password_hash=hash_password(password) if password else None,
                      display_name=display_name or handle, bio=bio or "", is_admin=is_admin, is_bot=is_bot,
                      is_private=is_private)
    try:
        with session.begin_nested():  # a concurrent sign-up with the same handle loses cleanly
            session.add(account)
            session.flush()
    except IntegrityError:
        raise Conflict(f"the handle @{handle} or this email is taken", code="handle_taken")
    return account


def sign_up(session: Session, handle: str, password: str, *, email: str | None = None,
            display_name: str = "") -> Account:
    """Self-service sign-up: a password is required, and the admins must not have closed sign-ups."""
    from townsquare.social.instance import require_registrations_open

    require_registrations_open(session)
    if password is None:
        raise InvalidInput("password is required", code="weak_password")
    return create_account(session, handle, password, email=email, display_name=display_name)


def authenticate(session: Session, login: str, password: str) -> Account:
    """The account for a handle (or email) and password; Unauthorized otherwise, Forbidden if suspended."""
    login = (login or "").strip().lower()
    if "@" in login and not login.startswith("@"):
        account = session.scalar(select(Account).where(Account.email == login))
    else:
        account = session.scalar(select(Account).where(Account.handle == normalize_handle(login)))
    stored = account.password_hash if account is not None and account.password_hash else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok or account is None or not account.password_hash:
        raise Unauthorized("wrong handle or password", code="bad_credentials")
    if account.status == "deleted" and account.deletion_due_at is not None and account.deletion_due_at > utcnow():
        # Signing in during the grace period cancels the deletion (social/lifecycle.py).
        account.status, account.deletion_due_at = "active", None
    if account.status == "deleted":
        raise Unauthorized("wrong handle or password", code="bad_credentials")
    if account.status != "active":
        raise Forbidden("this account is suspended", code="account_suspended")
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = hash_password(password)
    account.last_seen_at = utcnow()
    return account


def sign_in(session: Session, login: str, password: str, *, kind: str = "api", name: str = "") -> tuple[Account, str]:
    """Check the credentials and issue a token: ``kind="session"`` for the web cookie, ``"api"`` for bearer."""
    if kind not in ("api", "session"):
        raise InvalidInput("token kind must be 'api' or 'session'")
    account = authenticate(session, login, password)
    return account, issue_token(session, account, kind=kind, name=name)


def sign_out(session: Session, token: str) -> bool:
    """Revoke the token (session or API); True when something was revoked."""
    return revoke_token(session, token)


def password_matches(account: Account, password: str) -> bool:
    """Whether ``password`` is the account's (for confirming a serious step such as deletion)."""
    try:
        return _hasher.verify(account.password_hash or _DUMMY_HASH, password or "") and bool(account.password_hash)
    except (VerificationError, InvalidHashError):
        return False


def change_password(session: Session, account: Account, old_password: str, new_password: str, *,
                    keep_token: str | None = None) -> int:
    """Change the password after checking the current one; see ``set_password``."""
    try:
        _hasher.verify(account.password_hash or _DUMMY_HASH, old_password or "")
    except (VerificationError, InvalidHashError):
        raise Unauthorized("the current password is wrong", code="bad_credentials")
    return set_password(session, account, new_password, keep_token=keep_token)


def set_password(session: Session, account: Account, new_password: str, *, keep_token: str | None = None) -> int:
    """Set a new password and sign the account out everywhere else: every API token and web session
    is revoked except ``keep_token`` (the one the change was made with, if any). Every password
    change or reset goes through here. Returns how many tokens were revoked."""
    _check_password(new_password)
    account.password_hash = hash_password(new_password)
    return revoke_all_tokens(session, account.id, keep=keep_token)


def get_account(session: Session, account_id: int) -> Account:
    """An active account by id; NotFound for unknown, suspended or deleted ones."""
    account = session.get(Account, account_id)
    if account is None or account.status != "active":
        raise NotFound("no such account")
    return account


def get_account_by_handle(session: Session, handle: str) -> Account:
    account = session.scalar(select(Account).where(Account.handle == normalize_handle(handle)))
    if account is None or account.status != "active":
        raise NotFound(f"no account @{normalize_handle(handle)}")
    return account


_UNSET = object()


def update_profile(session: Session, account: Account, *, display_name: str | None = None,
                   bio: str | None = None, is_private: bool | None = None,
                   avatar_media_id: int | None | object = _UNSET) -> Account:
    """Change one's own profile. The avatar must be an image the account uploaded (None removes it)."""
    if display_name is not None:
        display_name = display_name.strip()
    _check_profile_text(display_name, bio)
    media = None
    if avatar_media_id is not _UNSET and avatar_media_id is not None:
        media = session.get(Media, avatar_media_id)
        if media is None:
            raise NotFound("no such media")
        if media.owner_id != account.id:
            raise Forbidden("you can only use media you uploaded")
        if media.kind != "image":
            raise InvalidInput("an avatar must be an image")
    if display_name is not None:
        account.display_name = display_name or account.handle
    if bio is not None:
        account.bio = bio
    if is_private is not None:
        account.is_private = bool(is_private)
    if avatar_media_id is not _UNSET:
        account.avatar = media
    session.flush()
    return account


def set_status(session: Session, account: Account, status: str) -> None:
    """Admin: suspend / reactivate. A suspended account cannot sign in and its content disappears."""
    if status not in ("active", "suspended", "deleted"):
        raise InvalidInput("status must be active, suspended or deleted")
    account.status = status


def count_accounts(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Account)) or 0
