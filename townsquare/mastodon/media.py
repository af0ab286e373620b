"""Media: upload (``/api/v1/media``, ``/api/v2/media``) with alt text (``description``) and a focal
point (``focus=x,y``), read and edit (``PUT``), and the preview files (``/media/preview/<name>``,
checked on every access like the files themselves). Uploads are checked by content by
``social.media.store_upload``; they are processed at once, so v2 answers 200 with the ``url``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput, NotFound
from townsquare.mastodon.auth import need
from townsquare.mastodon.common import render
from townsquare.mastodon.ids import parse_plain_id
from townsquare.mastodon.params import body, text, upload
from townsquare.mastodon.previews import preview_file
from townsquare.server.deps import get_session, optional_reader
from townsquare.social import media as media_service
from townsquare.social.models import Account, Media

router = APIRouter(include_in_schema=False)


def _focus(raw: str | None) -> tuple[float, float] | None:
    if raw is None or raw == "":
        return None
    try:
        x, y = (float(v) for v in raw.split(","))
    except ValueError:
        raise InvalidInput("focus must be two numbers between -1 and 1: x,y")
    if not (-1 <= x <= 1 and -1 <= y <= 1):
        raise InvalidInput("focus must be two numbers between -1 and 1: x,y")
    return x, y


def _upload(request: Request, params: dict, account: Account, session: Session) -> dict:
    file = upload(params, "file")
    if file is None:
        raise InvalidInput("file is required (multipart/form-data)")
    settings = request.app.state.settings
    data = file.file.read(settings.max_upload_bytes + 1)
    description = text(params, "description", max_len=media_service.MAX_DESCRIPTION) or ""
    focus = _focus(text(params, "focus", max_len=40))
    media = media_service.store_upload(session, account, data, media_dir=settings.media_dir,
                                       max_bytes=settings.max_upload_bytes, description=description)
    if description:
        media.description = description.strip()
    if focus is not None:
        media.focus_x, media.focus_y = focus
    session.flush()
    return render(request, session, account).media(media)


@router.post("/api/v1/media")
def upload_v1(request: Request, params: dict = Depends(body), account: Account = Depends(need("write:media")),
              session: Session = Depends(get_session)):
    return _upload(request, params, account, session)


@router.post("/api/v2/media")
def upload_v2(request: Request, params: dict = Depends(body), account: Account = Depends(need("write:media")),
              session: Session = Depends(get_session)):
    return _upload(request, params, account, session)


def _own(session: Session, account: Account, raw_id: str) -> Media:
    media = session.get(Media, parse_plain_id(raw_id))
    if media is None or media.owner_id != account.id:
        raise NotFound("Record not found")
    return media


@router.get("/api/v1/media/{media_id}")
def get_media(media_id: str, request: Request, account: Account = Depends(need("write:media", "read:statuses")),
              session: Session = Depends(get_session)):
    return render(request, session, account).media(_own(session, account, media_id))


@router.put("/api/v1/media/{media_id}")
def edit_media(media_id: str, request: Request, params: dict = Depends(body),
               account: Account = Depends(need("write:media")), session: Session = Depends(get_session)):
    """Change the alt text (``description``) or the focal point of your upload."""
    media = _own(session, account, media_id)
    if "description" in params:
        media.description = (text(params, "description", max_len=media_service.MAX_DESCRIPTION) or "").strip()
    focus = _focus(text(params, "focus", max_len=40))
    if focus is not None:
        media.focus_x, media.focus_y = focus
    session.flush()
    return render(request, session, account).media(media)


@router.get("/media/preview/{name}", include_in_schema=False)
def preview(name: str, request: Request, viewer: Account | None = Depends(optional_reader),
            session: Session = Depends(get_session)):
    """The preview of a file, to whoever may see the file (404 otherwise)."""
    settings = request.app.state.settings
    found = media_service.open_file(session, viewer, settings.media_dir, name)
    path = preview_file(settings.media_dir, found.path, name.split(".", 1)[0])
    headers = {"Cache-Control": "public, max-age=3600" if found.public else "private, no-cache",
               "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox"}
    if not found.public:
        headers["Vary"] = "Cookie, Authorization"
    return FileResponse(path, media_type="image/jpeg", headers=headers)


