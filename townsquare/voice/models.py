"""Storage of hands-free mode: each person's privacy choice and, only when they opted in, what their
recordings and camera frames were (the files themselves are under ``<data_dir>/voice``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, BigId, UTCDateTime, utcnow


class VoiceSettings(Base):
    __tablename__ = "voice_settings"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    keep_recordings: Mapped[bool] = mapped_column(Boolean, default=False)  # off unless the person turns it on
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class VoiceCapture(Base):
    """A kept recording or frame (only with ``keep_recordings``): the person can list and delete it."""

    __tablename__ = "voice_captures"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    conversation_id: Mapped[int | None] = mapped_column(
        ForeignKey("assistant_conversations.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(8))  # audio | image
    file_name: Mapped[str] = mapped_column(String(80))
    size_bytes: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_voice_captures_account_id", "account_id", "id"),)
