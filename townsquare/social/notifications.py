"""Notifications: created by other services through ``notify``; listed and marked read by the person."""

from __future__ import annotations

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import NotFound
from townsquare.social.blocks import either_way_clause
from townsquare.social.models import Account, Comment, Mute, Notification, Post
from townsquare.social.paging import DEFAULT_LIMIT, Page, keyset_page
from townsquare.social.relations import is_blocked_either_way
from townsquare.social.visibility import visible_posts_clause

NOTIFICATION_KINDS = (
    "follow", "follow_request", "follow_accepted", "like", "comment", "reply", "repost", "mention", "message",
)


def notify(
    session: Session,
    recipient_id: int,
    kind: str,
    *,
    actor_id: int | None = None,
    post_id: int | None = None,
    comment_id: int | None = None,
) -> Notification | None:
    """Record a notification, unless it is about oneself or between people who block each other."""
    if kind not in NOTIFICATION_KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if actor_id is not None and (actor_id == recipient_id or is_blocked_either_way(session, actor_id, recipient_id)):
        return None
    note = Notification(recipient_id=recipient_id, actor_id=actor_id, kind=kind, post_id=post_id,
                        comment_id=comment_id)
    session.add(note)
    return note


# --- reading notifications (the recipient only) -------------------------------------------------


def _listable(recipient_id: int):
    """Notifications worth showing: the actor (if any) is still active, not blocked either way and not
    muted by the recipient; the post (if any) is the recipient's own or one they may still see, and
    the comment (if any) is not deleted. A notification about a reply on someone else's post that the
    recipient can no longer see (they unfollowed a followers-only author, were blocked, the post was
    deleted or removed) is not shown at all: it would name the replier and the post."""
    post_ok = or_(
        Notification.post_id.is_(None),
        exists().where(Post.id == Notification.post_id, Post.author_id == recipient_id),
        exists().where(Post.id == Notification.post_id, Account.id == Post.author_id,
                       visible_posts_clause(recipient_id)),
    )
    comment_ok = or_(
        Notification.comment_id.is_(None),
        exists().where(Comment.id == Notification.comment_id, Comment.deleted_at.is_(None)),
    )
    actor_ok = or_(
        Notification.actor_id.is_(None),
        and_(
            exists().where(Account.id == Notification.actor_id, Account.status == "active"),
            ~either_way_clause(recipient_id, Notification.actor_id),  # the block rule (blocks.py)
            ~exists().where(Mute.muter_id == recipient_id, Mute.muted_id == Notification.actor_id),
        ),
    )
    return and_(Notification.recipient_id == recipient_id, actor_ok, post_ok, comment_ok)


def listable_query(recipient_id: int, kinds: tuple[str, ...] | None = None):
    """``select(Notification)`` of what ``list_notifications`` shows (other APIs page it their own
    way: the Mastodon API by id), optionally only some ``kinds``."""
    stmt = select(Notification).where(_listable(recipient_id))
    if kinds is not None:
        stmt = stmt.where(Notification.kind.in_(kinds))
    return stmt


def get_listable(session: Session, recipient: Account, notification_id: int) -> Notification:
    """One of my notifications that is still shown; NotFound otherwise."""
    note = session.scalar(select(Notification).where(Notification.id == notification_id, _listable(recipient.id)))
    if note is None:
        raise NotFound("no such notification")
    return note


def dismiss(session: Session, recipient: Account, notification_id: int) -> None:
    """Remove one of my notifications for good."""
    note = session.scalar(select(Notification).where(Notification.id == notification_id,
                                                     Notification.recipient_id == recipient.id))
    if note is None:
        raise NotFound("no such notification")
    session.delete(note)
    session.flush()


def clear(session: Session, recipient: Account) -> int:
    """Remove all my notifications; returns how many."""
    result = session.execute(delete(Notification).where(Notification.recipient_id == recipient.id)
                             .execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def list_notifications(session: Session, recipient: Account, *, cursor: str | None = None,
                       limit: int = DEFAULT_LIMIT, unread_only: bool = False,
                       kinds: tuple[str, ...] | None = None) -> Page[Notification]:
    """My notifications, newest first by when they happened (imported or backfilled ones carry their
    own time, so ids alone are not date order), optionally only some ``kinds``. Render the post only
    if ``can_view_post`` still allows it."""
    stmt = listable_query(recipient.id, kinds)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return keyset_page(session, stmt, keys=[Notification.created_at, Notification.id],
                       key_of=lambda n: (n.created_at, n.id), cursor=cursor, limit=limit)


def unread_count(session: Session, recipient: Account) -> int:
    return int(session.scalar(
        select(func.count()).select_from(Notification)
        .where(_listable(recipient.id), Notification.read_at.is_(None))
    ) or 0)


def mark_read(session: Session, recipient: Account, notification_id: int) -> Notification:
    note = session.scalar(select(Notification).where(Notification.id == notification_id, _listable(recipient.id)))
    if note is None:  # someone else's, or one that is no longer shown (see ``_listable``)
        raise NotFound("no such notification")
    if note.read_at is None:
        note.read_at = utcnow()
        session.flush()
    return note


def mark_all_read(session: Session, recipient: Account) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.recipient_id == recipient.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return int(result.rowcount or 0)


def mark_read_from(session: Session, recipient: Account, actor_id: int, kind: str) -> int:
    """Mark read the ``kind`` notifications that ``actor_id`` caused (e.g. messages once the
    conversation is read)."""
    result = session.execute(
        update(Notification)
        .where(Notification.recipient_id == recipient.id, Notification.actor_id == actor_id,
               Notification.kind == kind, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)
