"""Who may see a post. The single source of truth for every read path (API, feed, search,
assistant tools, creator-AI grounding): followers-only posts never reach non-followers.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from townsquare.social.blocks import either_way_clause
from townsquare.social.models import Account, Follow, Post
from townsquare.social.relations import is_blocked_either_way, is_following


def can_view_post(session: Session, viewer: Account | None, post: Post) -> bool:
    """True when ``viewer`` (None = signed out) may read ``post``."""
    if post.deleted_at is not None or post.removed_at is not None:
        return False
    author = post.author if post.author is not None else session.get(Account, post.author_id)
    if author is None or author.status != "active":
        return False
    if viewer is not None and viewer.id == post.author_id:
        return True
    if viewer is not None and is_blocked_either_way(session, viewer.id, post.author_id):
        return False
    if post.visibility == "public":
        return True
    return viewer is not None and is_following(session, viewer.id, post.author_id)


def visible_posts_clause(viewer_id: int | None) -> ColumnElement[bool]:
    """A WHERE clause over ``Post`` (joined to its author as ``Account``) selecting what the viewer may see.

    Use as ``select(Post).join(Post.author).where(visible_posts_clause(viewer_id))``.
    """
    alive = and_(Post.deleted_at.is_(None), Post.removed_at.is_(None), Account.status == "active")
    if viewer_id is None:
        return and_(alive, Post.visibility == "public")
    follows_author = exists().where(and_(Follow.follower_id == viewer_id, Follow.followee_id == Post.author_id))
    blocked = either_way_clause(viewer_id, Post.author_id)  # the block rule (blocks.py)
    return and_(
        alive,
        or_(
            Post.author_id == viewer_id,
            and_(not_(blocked), or_(Post.visibility == "public", follows_author)),
        ),
    )


def visible_posts_query(viewer_id: int | None):
    """``select(Post)`` already joined to its author and filtered to what the viewer may see."""
    return select(Post).join(Post.author).where(visible_posts_clause(viewer_id))
