"""JSON shapes of the native API and the functions that render storage rows into them.

Ids are strings in JSON; times are UTC ISO-8601.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput, NotFound
from townsquare.social import media as media_service
from townsquare.social.models import Account, Comment, Media, Post

_MAX_ID = 2**63 - 1


def parse_id(raw: str | int | None, *, what: str = "item", in_body: bool = False) -> int:
    """An id from a path (bad -> 404, nothing there) or a body field (bad -> 422)."""
    text = str(raw if raw is not None else "").strip()
    if text.isascii() and text.isdigit() and 0 < int(text) <= _MAX_ID:
        return int(text)
    if in_body:
        raise InvalidInput(f"{what} id {str(raw)[:40]!r} is not a valid id")
    raise NotFound(f"no such {what}")


class StrictModel(BaseModel):
    """Request bodies refuse unknown fields, so typos fail loudly."""

    model_config = ConfigDict(extra="forbid")


class MediaOut(BaseModel):
    id: str
    kind: str
    mime_type: str
    url: str
    size_bytes: int
    width: int | None = None
    height: int | None = None
    description: str = ""


class AccountOut(BaseModel):
    id: str
    handle: str
    display_name: str
    bio: str
    avatar_url: str | None = None
    is_private: bool
    is_bot: bool
    created_at: datetime
    follower_count: int
    following_count: int
    post_count: int


class MeOut(AccountOut):
    email: str | None = None
    is_admin: bool = False


class ViewerStateOut(BaseModel):
    reaction: str | None = None
    reposted: bool = False


class PostOut(BaseModel):
    id: str
    author: AccountOut
    kind: str
    text: str
    link_url: str | None = None
    link_title: str | None = None
    visibility: str
    media: list[MediaOut]
    hashtags: list[str]
    created_at: datetime
    edited_at: datetime | None = None
    like_count: int
    comment_count: int
    repost_count: int
    viewer: ViewerStateOut | None = None


class CommentOut(BaseModel):
    id: str
    post_id: str
    parent_id: str | None = None
    author: AccountOut | None = None  # null for a deleted comment kept as a placeholder
    text: str
    is_ai: bool
    deleted: bool = False
    created_at: datetime
    edited_at: datetime | None = None
    replies: list[CommentOut] = []


class TimelineItemOut(BaseModel):
    type: str  # "post" | "repost"
    ts: datetime
    post: PostOut
    reposted_by: AccountOut | None = None


class OkOut(BaseModel):
    ok: bool = True


def render_media(media: Media) -> dict:
    return {"id": str(media.id), "kind": media.kind, "mime_type": media.mime_type,
            "url": media_service.media_url(media), "size_bytes": media.size_bytes, "width": media.width,
            "height": media.height, "description": media.description}


def render_account(account: Account) -> dict:
    avatar = account.avatar
    return {"id": str(account.id), "handle": account.handle, "display_name": account.display_name or account.handle,
            "bio": account.bio or "", "avatar_url": media_service.media_url(avatar) if avatar else None,
            "is_private": account.is_private, "is_bot": account.is_bot, "created_at": account.created_at,
            "follower_count": account.follower_count, "following_count": account.following_count,
            "post_count": account.post_count}


def render_me(account: Account) -> dict:
    return render_account(account) | {"email": account.email, "is_admin": account.is_admin}


def render_posts(session: Session, viewer: Account | None, posts: list[Post]) -> list[dict]:
    """Posts with their media, hashtags and the viewer's own reaction/repost (batched queries)."""
    from townsquare.social.posts import post_hashtags, viewer_states

    ids = [p.id for p in posts]
    states = viewer_states(session, viewer, ids)
    tags = post_hashtags(session, ids)
    out = []
    for post in posts:
        state = states.get(post.id)
        out.append({
            "id": str(post.id), "author": render_account(post.author), "kind": post.kind, "text": post.text,
            "link_url": post.link_url, "link_title": post.link_title, "visibility": post.visibility,
            "media": [render_media(pm.item) for pm in post.media], "hashtags": tags.get(post.id, []),
            "created_at": post.created_at, "edited_at": post.edited_at, "like_count": post.like_count,
            "comment_count": post.comment_count, "repost_count": post.repost_count,
            "viewer": {"reaction": state.reaction, "reposted": state.reposted} if state else None,
        })
    return out


def render_post(session: Session, viewer: Account | None, post: Post) -> dict:
    return render_posts(session, viewer, [post])[0]


def render_comment(comment: Comment, replies: list[dict] | None = None) -> dict:
    deleted = comment.deleted_at is not None
    return {"id": str(comment.id), "post_id": str(comment.post_id),
            "parent_id": str(comment.parent_id) if comment.parent_id else None,
            "author": None if deleted else render_account(comment.author), "text": "" if deleted else comment.text,
            "is_ai": comment.is_ai, "deleted": deleted, "created_at": comment.created_at,
            "edited_at": comment.edited_at, "replies": replies or []}
