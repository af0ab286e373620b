"""Storage of OAuth apps and authorization codes. Tokens issued to apps are rows of ``tokens``
(``social.models.Token``: ``kind="oauth"``, with ``scopes`` and ``app_id``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townsquare.db.base import Base, BigId, UTCDateTime, utcnow


class OAuthApp(Base):
    """An app registered with ``POST /api/v1/apps``; the client secret is stored as its SHA-256."""

    __tablename__ = "oauth_apps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    website: Mapped[str | None] = mapped_column(String(2000))
    redirect_uris: Mapped[str] = mapped_column(Text)  # one per line
    scopes: Mapped[str] = mapped_column(String(1000))  # what the app may ask for, space-separated
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OAuthCode(Base):
    """An authorization code, granted on the consent page and exchanged once for a token.

    ``token_id`` is the token it was exchanged for: a code presented again is refused and that
    token revoked (RFC 6749 section 4.1.2)."""

    __tablename__ = "oauth_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("oauth_apps.id", ondelete="CASCADE"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"), index=True)
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scopes: Mapped[str] = mapped_column(String(1000))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
