"""Media upload (``POST /api/media``) and serving (``GET /media/<sha256>.<ext>``, checked on access)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session

from townsquare.api.schemas import MediaOut, parse_id, render_media
from townsquare.server.deps import current_account, get_session, optional_account, optional_reader
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
    media = media_service.store_upload(session, account, data, media_dir=settings.media_store, max_bytes=limit,
                                       description=description)
    return render_media(media)


@router.get("/api/media/{media_id}", response_model=MediaOut)
def get_media(media_id: str, viewer: Account | None = Depends(optional_account),
              session: Session = Depends(get_session)):
    """An upload: yours, an avatar, or attached to a post you may read (404 otherwise)."""
    return render_media(media_service.get_media(session, viewer, parse_id(media_id, what="media")))


# Public files may sit in shared caches for an hour (so a post made followers-only or deleted stops
# being served from them soon); other files only in the viewer's own cache, revalidated each time.
PUBLIC_CACHE = "public, max-age=3600"
PRIVATE_CACHE = "private, no-cache"


@router.get("/media/renditions/{sha256}/{name}", include_in_schema=False)
def serve_rendition(sha256: str, name: str, request: Request, viewer: Account | None = Depends(optional_reader),
                    session: Session = Depends(get_session)):
    """A thumbnail or video poster of a stored file (``social/renditions.py``), with the file's access check."""
    found = media_service.open_rendition(session, viewer, request.app.state.settings.media_store, sha256, name)
    return _file_response(found)


@router.get("/media/{name}", include_in_schema=False)
def serve(name: str, request: Request, viewer: Account | None = Depends(optional_reader),
          session: Session = Depends(get_session)):
    """The stored file, to those who may see what it is attached to (checked on every request, with
    the session cookie or a bearer token: see ``media.open_file``); 404 to everyone else."""
    return _file_response(media_service.open_file(session, viewer, request.app.state.settings.media_store, name))


def _file_response(found: media_service.FileAccess):
    headers = {"Cache-Control": PUBLIC_CACHE if found.public else PRIVATE_CACHE,
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
    if not found.public:
        headers["Vary"] = "Cookie, Authorization"
    if found.path is not None:
        return FileResponse(found.path, media_type=found.content_type, headers=headers)
    # An object store: streamed through, so that the access check above stays the only way in.
    return StreamingResponse(found.store.iter_chunks(found.key), media_type=found.content_type, headers=headers)
