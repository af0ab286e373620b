"""JSON shapes shared by the graph, messages, notifications, search and moderation routers.

Ids are strings, times are UTC ISO-8601, lists are ``{"items": [...], "next_cursor": ...}``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import Query

from townsquare.errors import NotFound
from townsquare.social.models import Account, Post
from townsquare.social.paging import DEFAULT_LIMIT, MAX_LIMIT, Page


def parse_id(value: str, what: str = "item") -> int:
    """An id from a URL or body: a positive integer written as a string; anything else is unknown."""
    text = str(value).strip()
    if not text.isdigit() or len(text) > 19:
        raise NotFound(f"no such {what}")
    return int(text)


def iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


class PageParams:
    """``?cursor=...&limit=...`` for every list endpoint."""

    def __init__(self, cursor: str | None = Query(None, max_length=500),
                 limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)) -> None:
        self.cursor = cursor
        self.limit = limit


def render_page(page: Page, render: Callable[[Any], dict]) -> dict:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}


def account_summary(account: Account) -> dict:
    return {
        "id": str(account.id),
        "handle": account.handle,
        "display_name": account.display_name or account.handle,
        "bio": account.bio,
        "avatar_media_id": str(account.avatar_media_id) if account.avatar_media_id else None,
        "is_private": account.is_private,
        "is_bot": account.is_bot,
        "follower_count": account.follower_count,
        "following_count": account.following_count,
        "post_count": account.post_count,
    }


def post_summary(post: Post) -> dict:
    return {
        "id": str(post.id),
        "author": account_summary(post.author),
        "kind": post.kind,
        "text": post.text,
        "link_url": post.link_url,
        "link_title": post.link_title,
        "visibility": post.visibility,
        "media": [{"id": str(pm.media_id), "kind": pm.item.kind, "mime_type": pm.item.mime_type,
                   "description": pm.item.description} for pm in post.media],
        "created_at": iso(post.created_at),
        "edited_at": iso(post.edited_at),
        "like_count": post.like_count,
        "comment_count": post.comment_count,
        "repost_count": post.repost_count,
    }
