"""Townsquare's notifications as Mastodon's.

| Townsquare | Mastodon ``type`` | ``status`` |
|---|---|---|
| follow | ``follow`` | — |
| follow_request | ``follow_request`` | — |
| like (any reaction) | ``favourite`` | the post |
| repost | ``reblog`` | the post |
| comment, reply | ``mention`` | the comment (a reply) |
| mention | ``mention`` | the post, or the comment it was made in |
| message | ``mention`` | the direct message (a ``direct`` status) |

``follow_accepted`` has no Mastodon type and is left out of the Mastodon API.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.mastodon.entities import Render
from townsquare.social.messages import find_conversation
from townsquare.social.models import Comment, Message, Notification, Post
from townsquare.social.visibility import can_view_post

TYPE_OF = {"follow": "follow", "follow_request": "follow_request", "like": "favourite", "repost": "reblog",
           "comment": "mention", "reply": "mention", "mention": "mention", "message": "mention"}
KINDS_OF: dict[str, tuple[str, ...]] = {}
for _kind, _type in TYPE_OF.items():
    KINDS_OF[_type] = (*KINDS_OF.get(_type, ()), _kind)
SHOWN_KINDS = tuple(TYPE_OF)


def kinds_for(types: list[str], exclude: list[str]) -> tuple[str, ...]:
    """Native kinds for Mastodon's ``types[]`` / ``exclude_types[]`` filters."""
    wanted = set(types) if types else set(KINDS_OF)
    wanted -= set(exclude)
    return tuple(k for t in sorted(wanted) for k in KINDS_OF.get(t, ()))


def _message_for(session: Session, note: Notification) -> tuple[Message, object] | None:
    if note.actor_id is None:
        return None
    conversation = find_conversation(session, note.actor_id, note.recipient_id)
    if conversation is None:
        return None
    message = session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.sender_id == note.actor_id,
                              Message.created_at <= note.created_at)
        .order_by(Message.created_at.desc(), Message.id.desc()).limit(1))
    return (message, conversation) if message is not None else None


def render_notifications(shown: Render, notes: list[Notification]) -> list[dict]:
    """Mastodon notifications; one whose status the recipient can no longer see is left out."""
    session, viewer = shown.session, shown.viewer
    out = []
    for note in notes:
        kind = TYPE_OF.get(note.kind)
        if kind is None:
            continue
        status = None
        if note.kind == "message":
            found = _message_for(session, note)
            if found is None:
                continue
            status = shown.messages([found])[0]
        elif note.comment_id is not None:
            comment = session.get(Comment, note.comment_id)
            post = session.get(Post, comment.post_id) if comment is not None else None
            if comment is None or comment.deleted_at is not None or post is None \
                    or not can_view_post(session, viewer, post):
                continue
            status = shown.comment(comment)
        elif note.post_id is not None:
            post = session.get(Post, note.post_id)
            if post is None or not can_view_post(session, viewer, post):
                continue
            status = shown.post(post)
        elif kind not in ("follow", "follow_request"):
            continue
        out.append(shown.notification(note, kind, status))
    return out
