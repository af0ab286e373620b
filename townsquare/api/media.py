"""Media upload (``POST /api/media``) and serving (``GET /media/<sha256>.<ext>``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from townsquare.api.deps import current_account, get_session, optional_account
from townsquare.api.schemas import MediaOut, parse_id, render_media
from townsquare.social import media as media_service
from townsquare.social.models import Account

router = APIRouter(tags=["media"])

_MULTIPART_SLACK = 64 * 1024  # headers and boundaries around the file in a multipart body


@router.post("/api/media", response_model=MediaOut, status_code=201)
def upload(request: Request, file: UploadFile = File(..., description="JPEG, PNG, WebP, GIF, MP4 or WebM"),
           description: str = Form("", max_length=1500), account: Account = Depends(current_account),
           session: Session = Depends(get_session)):
    """Upload an image or a video; the type is checked from the bytes. Attach it to a post or avatar by id."""
    settings = request.app.state.settings
    limit = settings.max_upload_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + _MULTIPART_SLACK:
        raise media_service.TooLarge(f"the upload is larger than the {limit} bytes limit")
    data = file.file.read(limit + 1)
    media = media_service.store_upload(session, account, data, media_dir=settings.media_dir, max_bytes=limit,
                                       description=description)
    return render_media(media)


@router.get("/api/media/{media_id}", response_model=MediaOut)
def get_media(media_id: str, viewer: Account | None = Depends(optional_account),
              session: Session = Depends(get_session)):
    """An upload: yours, an avatar, or attached to a post you may read (404 otherwise)."""
    return render_media(media_service.get_media(session, viewer, parse_id(media_id, what="media")))


@router.get("/media/{name}", include_in_schema=False)
def serve(name: str, request: Request):
    """The stored file; its name is its content hash, so it never changes and may be cached for ever."""
    path, content_type = media_service.resolve_file(request.app.state.settings.media_dir, name)
    return FileResponse(path, media_type=content_type,
                        headers={"Cache-Control": "public, max-age=31536000, immutable",
                                 "X-Content-Type-Options": "nosniff"})
