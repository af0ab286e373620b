"""The server's description for apps: ``/api/v1/instance`` and ``/api/v2/instance`` (limits, URLs,
version), plus the small fixed answers clients ask for at start (peers, rules, custom emojis...)."""

from __future__ import annotations

import io
from functools import lru_cache

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare import __version__
from townsquare.mastodon.entities import Render
from townsquare.server.deps import get_session
from townsquare.social.media import MAX_DESCRIPTION
from townsquare.social.models import Account, Post
from townsquare.social.posts import MAX_PHOTOS, MAX_TEXT

router = APIRouter(include_in_schema=False)

# Mastodon.py and others parse the first number; the rest says what this really is.
VERSION = f"4.3.0 (compatible; Townsquare {__version__})"
API_VERSION = 2
IMAGE_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif"]
VIDEO_TYPES = ["video/mp4", "video/webm"]


def _host(request: Request) -> str:
    return request.url.netloc


def _streaming(request: Request) -> str:
    scheme = "wss" if request.url.scheme == "https" else "ws"
    return f"{scheme}://{request.url.netloc}"


def _configuration(request: Request) -> dict:
    limit = request.app.state.settings.max_upload_bytes
    return {
        "urls": {"streaming": _streaming(request), "status": None},
        "accounts": {"max_featured_tags": 0, "max_pinned_statuses": 0},
        "statuses": {"max_characters": MAX_TEXT, "max_media_attachments": MAX_PHOTOS,
                     "characters_reserved_per_url": 23},
        "media_attachments": {"supported_mime_types": IMAGE_TYPES + VIDEO_TYPES, "description_limit": MAX_DESCRIPTION,
                              "image_size_limit": limit, "image_matrix_limit": 40_000_000,
                              "video_size_limit": limit, "video_frame_rate_limit": 120,
                              "video_matrix_limit": 8_294_400},
        "polls": {"max_options": 0, "max_characters_per_option": 0, "min_expiration": 0, "max_expiration": 0},
        "translation": {"enabled": False},
        "vapid": {"public_key": ""},
    }


def _admin(session: Session) -> Account | None:
    return session.scalar(select(Account).where(Account.is_admin.is_(True), Account.status == "active")
                          .order_by(Account.id).limit(1))


@router.get("/api/v1/instance")
def instance_v1(request: Request, session: Session = Depends(get_session)):
    admin = _admin(session)
    users = session.scalar(select(func.count()).select_from(Account).where(Account.status == "active")) or 0
    posts = session.scalar(select(func.count()).select_from(Post).where(Post.deleted_at.is_(None))) or 0
    config = _configuration(request)
    return {
        "uri": _host(request), "title": "Townsquare", "short_description": "An open AI social app.",
        "description": "A Townsquare community: a feed ranked by open models, creator AIs and an assistant.",
        "email": "", "version": VERSION, "urls": {"streaming_api": _streaming(request)},
        "stats": {"user_count": users, "status_count": posts, "domain_count": 1},
        "thumbnail": None, "languages": ["en"], "registrations": True, "approval_required": False,
        "invites_enabled": False, "configuration": {k: v for k, v in config.items() if k != "urls"},
        "contact_account": Render.of(request, session, None).account(admin) if admin else None, "rules": [],
    }


@router.get("/api/v2/instance")
def instance_v2(request: Request, session: Session = Depends(get_session)):
    admin = _admin(session)
    users = session.scalar(select(func.count()).select_from(Account).where(Account.status == "active")) or 0
    return {
        "domain": _host(request), "title": "Townsquare", "version": VERSION,
        "source_url": f"{request.base_url}api/docs",
        "description": "A Townsquare community: a feed ranked by open models, creator AIs and an assistant.",
        "usage": {"users": {"active_month": users}}, "thumbnail": {"url": f"{request.base_url}static/favicon.svg"},
        "icon": [], "languages": ["en"], "configuration": _configuration(request),
        "registrations": {"enabled": True, "approval_required": False, "message": None, "url": None},
        "api_versions": {"mastodon": API_VERSION},
        "contact": {"email": "", "account": Render.of(request, session, None).account(admin) if admin else None},
        "rules": [],
    }


@router.get("/api/v1/instance/peers")
def peers():
    return []


@router.get("/api/v1/instance/rules")
def rules():
    return []


@router.get("/api/v1/instance/extended_description")
def extended_description():
    return {"updated_at": None, "content": ""}


@router.get("/api/v1/custom_emojis")
def custom_emojis():
    return []


@router.get("/api/v1/streaming/health")
def streaming_health():
    return PlainTextResponse("OK")


@lru_cache(maxsize=2)
def _placeholder_png(size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "PNG")
    return out.getvalue()


@router.get("/avatars/original/missing.png", include_in_schema=False)
def missing_avatar():
    return Response(_placeholder_png((120, 120), (201, 205, 214)), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})


@router.get("/headers/original/missing.png", include_in_schema=False)
def missing_header():
    return Response(_placeholder_png((600, 200), (229, 231, 236)), media_type="image/png",
                    headers={"Cache-Control": "public, max-age=86400"})
