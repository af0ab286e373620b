"""Shapes of the graph, messages, notifications, search and moderation routers: rendering service
pages (``townsquare.social.paging.Page``) as ``{"items", "next_cursor"}``, and the response models
that document them in OpenAPI. Accounts and posts render with ``api/schemas.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from townsquare.api.schemas import AccountOut, PostOut, render_posts
from townsquare.social.models import Account
from townsquare.social.paging import Page


def render_page(page: Page, render: Callable[[Any], Any]) -> dict:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}


def render_post_page(session: Session, viewer: Account | None, page: Page) -> dict:
    """A page of posts, rendered in one batch (media, hashtags, the viewer's own reaction)."""
    return {"items": render_posts(session, viewer, list(page.items)), "next_cursor": page.next_cursor}


# --- response models (OpenAPI) of the graph, messages, notifications, search and moderation routers ---


class RelationshipOut(BaseModel):
    id: str
    following: bool
    followed_by: bool
    requested: bool
    requested_by: bool
    blocking: bool
    blocked_by: bool
    muting: bool


class RelationshipChangeOut(BaseModel):
    """The relationship after a change; ``state`` says what a follow/unfollow did."""

    state: str | None = None  # following | requested | unfollowed | withdrawn
    removed: bool | None = None
    accepted: bool | None = None
    rejected: bool | None = None
    relationship: RelationshipOut


class RelationshipsOut(BaseModel):
    items: list[RelationshipOut]


class ConnectionOut(BaseModel):
    """An account in a followers/following/requests/blocks/mutes list, and since when."""

    account: AccountOut
    since: datetime


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    sender_id: str
    text: str
    is_ai: bool
    created_at: datetime
    read_at: datetime | None = None


class ConversationOut(BaseModel):
    id: str
    other: AccountOut
    last_message_at: datetime


class ConversationSummaryOut(ConversationOut):
    last_message: MessageOut | None = None
    unread_count: int


class SentOut(BaseModel):
    conversation: ConversationOut
    message: MessageOut


class UnreadOut(BaseModel):
    unread_count: int


class CountOut(BaseModel):
    count: int


class MarkedOut(BaseModel):
    marked: int


class NotificationOut(BaseModel):
    id: str
    kind: str
    actor: AccountOut | None = None
    post: PostOut | None = None  # null once I may no longer see it
    comment_id: str | None = None
    created_at: datetime
    read_at: datetime | None = None


class HashtagNameOut(BaseModel):
    name: str


class HashtagOut(BaseModel):
    name: str
    post_count: int  # posts with the tag that I may see
    following: bool


class SearchOut(BaseModel):
    type: str  # posts | people | hashtags
    items: list[PostOut] | list[AccountOut] | list[HashtagNameOut]
    next_cursor: str | None = None


class ReasonsOut(BaseModel):
    reasons: list[str]
    max_details_chars: int


class MyReportOut(BaseModel):
    id: str
    status: str
    reason: str
    created_at: datetime


class ModeratedAccountOut(AccountOut):
    status: str


class ModeratedPostOut(PostOut):
    removed_at: datetime | None = None
    deleted_at: datetime | None = None


class ModeratedCommentOut(BaseModel):
    id: str
    post_id: str
    text: str
    deleted_at: datetime | None = None


class QueueItemOut(BaseModel):
    """A report with what a moderator needs to decide: the reporter and the target as it stands."""

    id: str
    status: str
    action: str | None = None
    reason: str
    details: str
    created_at: datetime
    resolved_at: datetime | None = None
    reporter: AccountOut | None = None
    target_type: str  # post | comment | account
    target_account: ModeratedAccountOut | None = None
    post: ModeratedPostOut | None = None
    comment: ModeratedCommentOut | None = None
