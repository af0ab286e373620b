"""Storage models of the social core. They hold columns and relations only; rules live in services.

Conventions: integer primary keys (rendered as strings in APIs), UTC timestamps, soft deletes
(``deleted_at``) where other rows or the event log still point at a row.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import text as sql_text  # ``text`` is a column name below
from sqlalchemy.orm import Mapped, mapped_column, relationship

from townsquare.db.base import Base, BigId, UTCDateTime, utcnow

POST_KINDS = ("text", "photo", "video", "link")
VISIBILITIES = ("public", "followers")
ACCOUNT_STATUSES = ("active", "suspended", "deleted")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    handle: Mapped[str] = mapped_column(String(30), unique=True)  # lower-case, [a-z0-9_]
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    bio: Mapped[str] = mapped_column(Text, default="")
    avatar_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", use_alter=True))
    is_private: Mapped[bool] = mapped_column(Boolean, default=False)  # follows need approval
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    is_bot: Mapped[bool] = mapped_column(Boolean, default=False)  # AI-run accounts are labelled
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    follower_count: Mapped[int] = mapped_column(Integer, default=0)
    following_count: Mapped[int] = mapped_column(Integer, default=0)
    post_count: Mapped[int] = mapped_column(Integer, default=0)
    # Deletion asked for (by the person or an admin): status is "deleted" and everything is hidden at
    # once; the content is removed when this time comes (signing in before it cancels). NULL after.
    deletion_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The person opted out of impression and dwell tracking: none is recorded, the feed uses none.
    tracking_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sql_text("false"))
    locale: Mapped[str | None] = mapped_column(String(16))  # interface language; NULL: from the browser

    avatar: Mapped[Media | None] = relationship(foreign_keys=[avatar_media_id], lazy="selectin")

    __table_args__ = (CheckConstraint("status in ('active','suspended','deleted')", name="status"),)


class Token(Base):
    """A bearer token (API), a web session, or a token issued to an OAuth app; only the SHA-256 of the
    secret is stored.

    ``scopes`` is NULL for full-power tokens (API tokens, web sessions, the CLI's) and the granted
    OAuth scopes, space-separated, for tokens issued to apps (``kind="oauth"``), which work only on
    the Mastodon API. An app's token made with the client-credentials grant has no account.
    """

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default="api")  # "api" | "session" | "oauth"
    name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    scopes: Mapped[str | None] = mapped_column(String(1000))  # NULL: full power
    app_id: Mapped[int | None] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)  # SHA-256 of the refresh token


class Media(Base):
    """An uploaded file, stored once on disk under its content hash."""

    __tablename__ = "media"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # "image" | "video"
    mime_type: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")  # alt text
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The focal point for crops, -1..1 from the centre (Mastodon's ``focus``); NULL: the centre.
    focus_x: Mapped[float | None] = mapped_column(Float)
    focus_y: Mapped[float | None] = mapped_column(Float)
    # Made at upload: a BlurHash placeholder, and the smaller renditions (WebP thumbnails at several
    # widths, a video's poster frame) as [{"kind": "thumb"|"poster", "width", "height", "sha256", "ext"}].
    blurhash: Mapped[str | None] = mapped_column(String(100))
    variants: Mapped[list | None] = mapped_column(JSON)


class Post(Base):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8), default="text")
    text: Mapped[str] = mapped_column(Text, default="")
    link_url: Mapped[str | None] = mapped_column(String(2048))
    link_title: Mapped[str | None] = mapped_column(String(300))
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # by a moderator
    like_count: Mapped[int] = mapped_column(Integer, default=0)
    comment_count: Mapped[int] = mapped_column(Integer, default=0)
    repost_count: Mapped[int] = mapped_column(Integer, default=0)

    author: Mapped[Account] = relationship(lazy="joined", innerjoin=True)
    media: Mapped[list[PostMedia]] = relationship(
        order_by="PostMedia.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        CheckConstraint("kind in ('text','photo','video','link')", name="kind"),
        CheckConstraint("visibility in ('public','followers')", name="visibility"),
        Index("ix_posts_author_created", "author_id", "created_at"),
        Index("ix_posts_created", "created_at"),
        # The few deleted or removed posts, found without a scan (the model's catalogue looks for
        # them every few seconds).
        Index("ix_posts_deleted", "deleted_at", sqlite_where=sql_text("deleted_at IS NOT NULL"),
              postgresql_where=sql_text("deleted_at IS NOT NULL")),
        Index("ix_posts_removed", "removed_at", sqlite_where=sql_text("removed_at IS NOT NULL"),
              postgresql_where=sql_text("removed_at IS NOT NULL")),
    )


class PostMedia(Base):
    __tablename__ = "post_media"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    media_id: Mapped[int] = mapped_column(ForeignKey("media.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    item: Mapped[Media] = relationship(lazy="joined", innerjoin=True)


class Comment(Base):
    """A comment on a post; ``parent_id`` makes threads."""

    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    is_ai: Mapped[bool] = mapped_column(Boolean, default=False)  # written by a creator's AI
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[Account] = relationship(lazy="joined", innerjoin=True)

    __table_args__ = (Index("ix_comments_post_created", "post_id", "created_at"),)


class Reaction(Base):
    """One reaction per person per post (``like`` is the default kind)."""

    __tablename__ = "reactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="like")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "post_id", name="uq_reactions_account_post"),)


class Repost(Base):
    __tablename__ = "reposts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("account_id", "post_id", name="uq_reposts_account_post"),
        Index("ix_reposts_account_created", "account_id", "created_at"),
    )


class Follow(Base):
    __tablename__ = "follows"

    follower_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    followee_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("follower_id <> followee_id", name="not_self"),)


class FollowRequest(Base):
    """A pending request to follow a private account."""

    __tablename__ = "follow_requests"

    requester_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Block(Base):
    __tablename__ = "blocks"

    blocker_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    blocked_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Mute(Base):
    __tablename__ = "mutes"

    muter_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    muted_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Conversation(Base):
    """A one-to-one conversation; ``low_id < high_id`` makes the pair unique."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    low_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    high_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        UniqueConstraint("low_id", "high_id", name="uq_conversations_pair"),
        CheckConstraint("low_id < high_id", name="ordered_pair"),
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    sender_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(Text)
    is_ai: Mapped[bool] = mapped_column(Boolean, default=False)  # written by a creator's AI
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_messages_conversation_created", "conversation_id", "created_at"),)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    # follow, follow_request, follow_accepted, like, comment, reply, repost, mention, message
    kind: Mapped[str] = mapped_column(String(24))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[Account | None] = relationship(foreign_keys=[actor_id], lazy="joined")

    __table_args__ = (Index("ix_notifications_recipient_id", "recipient_id", "id"),
                      Index("ix_notifications_recipient_created", "recipient_id", "created_at", "id"))


class Hashtag(Base):
    __tablename__ = "hashtags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)  # lower-case, without '#'


class PostHashtag(Base):
    __tablename__ = "post_hashtags"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    hashtag_id: Mapped[int] = mapped_column(
        ForeignKey("hashtags.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HashtagFollow(Base):
    __tablename__ = "hashtag_follows"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    hashtag_id: Mapped[int] = mapped_column(ForeignKey("hashtags.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Report(Base):
    """A report about a post, a comment or an account, waiting in the moderation queue."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    target_account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("comments.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(32))  # spam, harassment, hate, violence, nudity, other
    details: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, resolved, dismissed
    action: Mapped[str | None] = mapped_column(String(32))  # remove_post, suspend_account, none
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_reports_status_created", "status", "created_at"),)


# Actions of the event log. The unified model learns from these; keep the names stable.
EVENT_ACTIONS = (
    "impression",  # shown on a surface at a position
    "dwell",  # time spent on an item (dwell_ms)
    "open",  # opened the post page / expanded it
    "like",
    "unlike",
    "comment",
    "share",  # shared outside / copied link
    "repost",
    "follow",
    "unfollow",
    "hide",  # "not interested" / show less
    "report",
    "profile_visit",
    "post",  # authored the post (entity = the new post)
    "message",  # sent a direct message (entity = the other account)
    "ai_chat",  # talked to a creator's AI (entity = the creator's account)
    "search",  # searched (context holds the query)
)
ENTITY_TYPES = ("post", "account", "comment", "hashtag", "creator_ai", "none")


class Event(Base):
    """The append-only interaction log: what the unified model learns from.

    One narrow row per interaction; ``(actor_id, ts)`` is indexed so per-person time-ordered
    sequences read back in one range scan.
    """

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(String(16))
    entity_type: Mapped[str] = mapped_column(String(12), default="post")
    entity_id: Mapped[int | None] = mapped_column(BigId)
    surface: Mapped[str | None] = mapped_column(String(24))  # home, profile, post, search, pymk, ...
    position: Mapped[int | None] = mapped_column(Integer)
    dwell_ms: Mapped[int | None] = mapped_column(Integer)
    context: Mapped[dict | None] = mapped_column(JSON)

    __table_args__ = (
        Index("ix_events_actor_ts", "actor_id", "ts"),
        Index("ix_events_entity", "entity_type", "entity_id"),
    )


class ShowLess(Base):
    """A "show less like this" preference, recorded when a person hides something; the feed uses it.

    ``target_type`` is ``post`` (never show it again), ``account`` (less from this author) or
    ``hashtag`` (less of this topic).
    """

    __tablename__ = "show_less"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    target_type: Mapped[str] = mapped_column(String(12), primary_key=True)
    target_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("target_type in ('post','account','hashtag')", name="target_type"),)


class ReadMarker(Base):
    """Where a person stopped reading a timeline (``home`` or ``notifications``), saved by apps so
    that another device can resume there (Mastodon's markers)."""

    __tablename__ = "read_markers"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    timeline: Mapped[str] = mapped_column(String(16), primary_key=True)
    last_read_id: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PasswordReset(Base):
    """A password-reset link sent by e-mail: only the hash of its secret is kept; one use, short-lived."""

    __tablename__ = "password_resets"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InstanceSetting(Base):
    """Settings an admin changes on the admin pages (name -> JSON value); defaults live in code."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict | list | str | int | float | bool | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# ``tokens.app_id`` refers to ``oauth_apps``: its table must be in the metadata wherever tokens are written.
from townsquare.oauth import models as _oauth_models  # noqa: E402, F401
