"""Storage models of the creator AI studio."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, BigId, UTCDateTime, utcnow

AI_VISIBILITIES = ("public", "unlisted", "private")
AUTO_REPLY_CHANNELS = ("comments", "messages")
AUTO_REPLY_AUDIENCES = ("everyone", "followers", "mutuals")


class CreatorAI(Base):
    """An AI a creator publishes of themselves. ``card`` keeps the whole Character Card V2 ``data``
    it came from (lorebook, extensions, fields we do not edit), so export is lossless."""

    __tablename__ = "creator_ais"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    slug: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    avatar_media_id: Mapped[int | None] = mapped_column(ForeignKey("media.id", ondelete="SET NULL"))
    description: Mapped[str] = mapped_column(String(300), default="")
    instructions: Mapped[str] = mapped_column(Text, default="")
    tone: Mapped[str] = mapped_column(String(200), default="")
    topics_to_avoid: Mapped[list] = mapped_column(JSON, default=list)
    links: Mapped[list] = mapped_column(JSON, default=list)  # [{"title": ..., "url": ...}]
    greeting: Mapped[str] = mapped_column(Text, default="")
    example_dialogues: Mapped[list] = mapped_column(JSON, default=list)  # [{"user": ..., "ai": ...}]
    visibility: Mapped[str] = mapped_column(String(12), default="public")
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    card: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("owner_id", "slug", name="uq_creator_ais_owner_slug"),)


class AIChat(Base):
    """One fan's conversation with one creator AI."""

    __tablename__ = "creator_ai_chats"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ai_id: Mapped[int] = mapped_column(ForeignKey("creator_ais.id", ondelete="CASCADE"))
    fan_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("ai_id", "fan_id", name="uq_creator_ai_chats_ai_fan"),)


class AIMessage(Base):
    __tablename__ = "creator_ai_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[int] = mapped_column(ForeignKey("creator_ai_chats.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(12))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    citations: Mapped[list] = mapped_column(JSON, default=list)  # post ids
    # ok | declined (avoided topic) | flagged (shield)
    status: Mapped[str] = mapped_column(String(12), default="ok")
    verdict: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_creator_ai_messages_chat_created", "chat_id", "created_at"),)


class AutoReplySetting(Base):
    __tablename__ = "creator_ai_auto_reply_settings"

    ai_id: Mapped[int] = mapped_column(ForeignKey("creator_ais.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[str] = mapped_column(String(12), default="followers")
    daily_limit: Mapped[int] = mapped_column(Integer, default=20)


class AutoReply(Base):
    """A reply the AI wrote for the creator. ``(channel, source_id)`` is unique: never twice."""

    __tablename__ = "creator_ai_auto_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ai_id: Mapped[int] = mapped_column(ForeignKey("creator_ais.id", ondelete="CASCADE"), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    source_id: Mapped[int] = mapped_column(BigId)  # the comment or message replied to
    reply_id: Mapped[int | None] = mapped_column(BigId)  # the comment or message written
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="posted")  # posted | edited | deleted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("channel", "source_id", name="uq_creator_ai_auto_replies_source"),)


class PostEmbedding(Base):
    """The text embedding of a post, for grounding and retrieval; stale when the post was edited later."""

    __tablename__ = "post_embeddings"

    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(100))
    vector: Mapped[bytes] = mapped_column(LargeBinary)  # float32, little-endian
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
