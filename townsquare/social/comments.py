"""Comments on posts, threaded by ``parent_id``. Only on posts the actor can see.

The comment's author may edit or delete it; the post's author may delete any comment on their
post. Deleting is soft: a deleted comment with live replies stays in the thread as a placeholder.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Forbidden, InvalidInput, NotFound
from townsquare.social.events import log_event
from townsquare.social.models import Account, Comment, Post
from townsquare.social.notifications import notify
from townsquare.social.posts import get_post, notify_mentions, parse_mentions
from townsquare.social.relations import hidden_author_ids

MAX_COMMENT = 5000


def _check_text(text: str | None) -> str:
    text = (text or "").strip()
    if not text:
        raise InvalidInput("a comment needs text", code="empty_text")
    if len(text) > MAX_COMMENT:
        raise InvalidInput(f"a comment must be at most {MAX_COMMENT} characters", code="text_too_long")
    return text


def add_comment(session: Session, actor: Account, post_id: int, text: str, *, parent_id: int | None = None,
                is_ai: bool = False, created_at: datetime | None = None) -> Comment:
    post = get_post(session, actor, post_id)
    text = _check_text(text)
    parent = None
    if parent_id is not None:
        parent = session.get(Comment, parent_id)
        if parent is None or parent.post_id != post.id or parent.deleted_at is not None:
            raise InvalidInput("parent_id must be a comment on the same post", code="invalid_parent")
    comment = Comment(post_id=post.id, author_id=actor.id, parent_id=parent_id, text=text, is_ai=is_ai,
                      created_at=created_at or utcnow())
    comment.author = actor
    session.add(comment)
    session.flush()
    session.execute(update(Post).where(Post.id == post.id).values(comment_count=Post.comment_count + 1))
    session.refresh(post, ["comment_count"])
    notify(session, post.author_id, "comment", actor_id=actor.id, post_id=post.id, comment_id=comment.id)
    if parent is not None and parent.author_id not in (post.author_id, actor.id):
        notify(session, parent.author_id, "reply", actor_id=actor.id, post_id=post.id, comment_id=comment.id)
    notify_mentions(session, actor, text, post=post, comment_id=comment.id)
    log_event(session, actor.id, "comment", "post", post.id, ts=comment.created_at,
              context={"comment_id": comment.id})
    return comment


def _visible_comment(session: Session, viewer: Account, comment_id: int) -> tuple[Comment, Post]:
    comment = session.get(Comment, comment_id)
    if comment is None or comment.deleted_at is not None:
        raise NotFound("no such comment")
    post = get_post(session, viewer, comment.post_id)  # NotFound when the post is out of sight
    return comment, post


def edit_comment(session: Session, actor: Account, comment_id: int, text: str) -> Comment:
    comment, post = _visible_comment(session, actor, comment_id)
    if comment.author_id != actor.id:
        raise Forbidden("only the author can edit this comment")
    before = set(parse_mentions(comment.text))
    comment.text = _check_text(text)
    comment.edited_at = utcnow()
    notify_mentions(session, actor, comment.text, post=post, comment_id=comment.id, skip=before)
    session.flush()
    return comment


def delete_comment(session: Session, actor: Account, comment_id: int) -> None:
    comment, post = _visible_comment(session, actor, comment_id)
    if actor.id not in (comment.author_id, post.author_id):
        raise Forbidden("only the comment's author or the post's author can delete it")
    comment.deleted_at = utcnow()
    session.execute(update(Post).where(Post.id == post.id, Post.comment_count > 0)
                    .values(comment_count=Post.comment_count - 1))
    session.flush()


@dataclass
class ThreadNode:
    comment: Comment
    replies: list[ThreadNode] = field(default_factory=list)

    @property
    def deleted(self) -> bool:
        return self.comment.deleted_at is not None


def comment_thread(session: Session, viewer: Account | None, post_id: int, *,
                   after: tuple[datetime, int] | None = None, limit: int = 20) -> list[ThreadNode]:
    """Top-level comments oldest first (keyset after ``after``), each with its replies nested.

    Comments by people the viewer blocked/muted (or who blocked them) and by suspended accounts
    are left out; a deleted comment stays as a placeholder only while it has replies to show.
    """
    post = get_post(session, viewer, post_id)
    hidden = hidden_author_ids(session, viewer.id) if viewer is not None else set()
    rows = session.scalars(
        select(Comment).join(Comment.author)
        .where(Comment.post_id == post.id, Account.status == "active")
        .order_by(Comment.created_at, Comment.id)
    ).all()
    nodes = {c.id: ThreadNode(c) for c in rows if c.author_id not in hidden}
    roots: list[ThreadNode] = []
    for node in nodes.values():
        parent_id = node.comment.parent_id
        if parent_id is None:
            roots.append(node)
        elif parent_id in nodes:
            nodes[parent_id].replies.append(node)

    def prune(node: ThreadNode) -> bool:
        node.replies = [r for r in node.replies if prune(r)]
        return not node.deleted or bool(node.replies)

    roots = [r for r in roots if prune(r)]
    if after is not None:
        roots = [r for r in roots if (r.comment.created_at, r.comment.id) > after]
    return roots[:limit]
