"""Storage of the per-person feed controls (rules live in ``feed/service.py``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, Float, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, BigId, UTCDateTime, utcnow


class FeedSettings(Base):
    """One row per person who changed a control; absent = defaults."""

    __tablename__ = "feed_settings"

    account_id: Mapped[int] = mapped_column(BigId, ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True)
    mode: Mapped[str] = mapped_column(String(16), default="ranked")  # "ranked" | "chronological"
    discovery: Mapped[float] = mapped_column(Float, default=0.3)  # 0 = friends first, 1 = discovery
    # content type -> multiplier (0.25 .. 4), e.g. {"video": 0.5, "photo": 2.0}
    kind_weights: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("mode in ('ranked','chronological')", name="mode"),
        CheckConstraint("discovery >= 0 and discovery <= 1", name="discovery"),
    )
