"""Notifications: created by other services through ``notify``; listed and marked read by the person."""

from __future__ import annotations

from sqlalchemy.orm import Session

from townsquare.social.models import Notification
from townsquare.social.relations import is_blocked_either_way

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
