"""Media uploads: checked by content (not by name or declared type), stored once by SHA-256.

An upload is accepted only when it decodes: images with Pillow (structure verified, pixels loaded),
videos with ffmpeg (``video_probe.py``: the first frame of the first video stream, with the demuxer
that the magic bytes named). Anything else, e.g. an MP4 header followed by HTML, is a 415.

Files live under the key ``ab/cd/<sha256>.<ext>`` in the media store (``media_store.py``: a local
folder or an S3-compatible bucket) and are written atomically, so a reader never sees half a file
and two uploads of the same bytes share one file. Images lose their EXIF metadata (location, camera) before storage.
"""

from __future__ import annotations

import hashlib
import io
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from townsquare.errors import Forbidden, InvalidInput, NotFound, TownsquareError
from townsquare.social.media_store import MediaStore, as_store, media_key
from townsquare.social.models import Account, Media, Post, PostMedia
from townsquare.social.renditions import attach_renditions, variant_name
from townsquare.social.video_probe import NotAVideo, probe_video
from townsquare.social.visibility import visible_posts_query

IMAGE_FORMATS = {"JPEG": ("image/jpeg", "jpg"), "PNG": ("image/png", "png"), "WEBP": ("image/webp", "webp"),
                 "GIF": ("image/gif", "gif")}
VIDEO_TYPES = {"mp4": "video/mp4", "webm": "video/webm"}
CONTENT_TYPES = {ext: mime for mime, ext in IMAGE_FORMATS.values()} | VIDEO_TYPES
FILE_NAME_RE = re.compile(r"^([0-9a-f]{64})\.(jpg|png|webp|gif|mp4|webm)$")
MAX_DESCRIPTION = 1500
MAX_IMAGE_PIXELS = 40_000_000  # larger images are refused (decompression bombs)


class TooLarge(TownsquareError):
    status = 413
    code = "too_large"


class UnsupportedMedia(TownsquareError):
    status = 415
    code = "unsupported_media_type"


@dataclass(frozen=True)
class Sniffed:
    kind: str  # "image" | "video"
    mime_type: str
    ext: str
    data: bytes  # what gets stored (images: without EXIF)
    width: int | None = None
    height: int | None = None


# ISO base media brands that are MP4 video (HEIC/AVIF images share the container and are refused).
MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42", b"avc1", b"dash", b"M4V ",
              b"mmp4", b"MSNV", b"3gp4", b"3gp5", b"3gp6", b"f4v "}


def _sniff_video(data: bytes) -> tuple[str, str] | None:
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in MP4_BRANDS:
        return "video/mp4", "mp4"
    if data[:4] == b"\x1a\x45\xdf\xa3" and b"webm" in data[:64]:
        return "video/webm", "webm"
    return None


def _strip_exif(data: bytes, image, fmt: str) -> tuple[bytes, tuple[int, int]]:
    """Re-encode stills that carry EXIF without it (orientation applied first); others are kept as is.

    Returns the bytes to store and their (width, height)."""
    from PIL import ImageOps

    if fmt not in ("JPEG", "PNG", "WEBP") or getattr(image, "is_animated", False):
        return data, image.size
    # EXIF (GPS position, camera serial) and XMP (which can hold the same) both go.
    if not image.getexif() and "exif" not in image.info and not _has_xmp(image):
        return data, image.size
    upright = ImageOps.exif_transpose(image)
    out = io.BytesIO()
    if fmt == "JPEG":
        upright.save(out, "JPEG", quality=92, optimize=True)
    elif fmt == "WEBP":
        upright.save(out, "WEBP", quality=92)
    else:
        upright.save(out, "PNG", optimize=True)
    return out.getvalue(), upright.size


def _has_xmp(image) -> bool:
    return any(key in image.info for key in ("xmp", "XML:com.adobe.xmp")) or any(
        marker == 0xFFE1 and payload.startswith(b"http://ns.adobe.com/xap/")
        for marker, payload in getattr(image, "applist", []))


def sniff(data: bytes) -> Sniffed:
    """What the bytes really are; UnsupportedMedia for anything but JPEG/PNG/WebP/GIF/MP4/WebM."""
    if not data:
        raise InvalidInput("the file is empty", code="empty_file")
    video = _sniff_video(data)
    if video is not None:  # the magic bytes name a container; only decoding shows it is a video
        try:
            info = probe_video(data, video[1])
        except NotAVideo as exc:
            raise UnsupportedMedia(f"{exc}: upload an MP4 or WebM video that plays")
        return Sniffed("video", video[0], video[1], data, info.width, info.height)
    from PIL import Image

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                if probe.width * probe.height > MAX_IMAGE_PIXELS:
                    raise UnsupportedMedia("the image has too many pixels")
                probe.verify()  # checks the structure; the image must be reopened to be used
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                stored, (width, height) = _strip_exif(data, image, fmt)
    except TownsquareError:
        raise
    except Exception:  # Pillow raises many kinds for broken or hostile files
        raise UnsupportedMedia("the file is not a supported image (JPEG, PNG, WebP, GIF) or video (MP4, WebM)")
    if fmt not in IMAGE_FORMATS:
        raise UnsupportedMedia(f"{fmt} images are not supported; use JPEG, PNG, WebP or GIF")
    mime, ext = IMAGE_FORMATS[fmt]
    return Sniffed("image", mime, ext, stored, width, height)


def media_path(media_dir: Path, sha256: str, ext: str) -> Path:
    return Path(media_dir) / media_key(sha256, ext)


def store_upload(session: Session, owner: Account, data: bytes, *, media_dir: MediaStore | Path, max_bytes: int,
                 description: str = "") -> Media:
    """Check and store an upload for ``owner``; the same owner uploading the same bytes gets the same row.

    ``media_dir`` is the media store (``settings.media_store``) or a local folder. The file is written
    before the row; when the store fails (``StorageFull``, ``Unavailable``) the caller's transaction
    rolls back, so no row ever points at a file that is not there."""
    if len(data) > max_bytes:
        raise TooLarge(f"the file is larger than the {max_bytes // (1024 * 1024) or max_bytes} "
                       f"{'MiB' if max_bytes >= 1024 * 1024 else 'bytes'} limit")
    description = (description or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise InvalidInput(f"description must be at most {MAX_DESCRIPTION} characters")
    sniffed = sniff(data)
    sha = hashlib.sha256(sniffed.data).hexdigest()
    existing = session.scalar(select(Media).where(Media.owner_id == owner.id, Media.sha256 == sha))
    as_store(media_dir).put(media_key(sha, sniffed.ext), sniffed.data, sniffed.mime_type)
    if existing is not None:
        if description and not existing.description:
            existing.description = description
        return existing
    media = Media(owner_id=owner.id, sha256=sha, kind=sniffed.kind, mime_type=sniffed.mime_type,
                  size_bytes=len(sniffed.data), width=sniffed.width, height=sniffed.height,
                  description=description)
    attach_renditions(media, sniffed.data, sniffed.ext, as_store(media_dir))
    session.add(media)
    session.flush()
    return media


def file_name(media: Media) -> str:
    ext = {mime: ext for ext, mime in CONTENT_TYPES.items()}[media.mime_type]
    return f"{media.sha256}.{ext}"


def media_url(media: Media) -> str:
    return f"/media/{file_name(media)}"


def resolve_file(media_dir: MediaStore | Path, name: str) -> tuple[Path, str]:
    """The local file and content type for a served name ``<sha>.<ext>``; NotFound otherwise (and for
    files that are not on local disk: see ``read_file``)."""
    store, key, content_type = _resolve(media_dir, name)
    path = store.local_path(key)
    if path is None or not path.is_file():
        raise NotFound("no such file")
    return path, content_type


def read_file(media_dir: MediaStore | Path, name: str) -> bytes:
    """The bytes of a stored file ``<sha>.<ext>``, from whichever store holds it; NotFound otherwise."""
    store, key, _ = _resolve(media_dir, name)
    return store.get(key)


def _resolve(media_dir: MediaStore | Path, name: str) -> tuple[MediaStore, str, str]:
    match = FILE_NAME_RE.match(name or "")
    if not match:
        raise NotFound("no such file")
    sha, ext = match.groups()
    return as_store(media_dir), media_key(sha, ext), CONTENT_TYPES[ext]


@dataclass(frozen=True)
class FileAccess:
    store: MediaStore
    key: str
    content_type: str
    public: bool  # anyone signed out may see it (an avatar, or on a public post): shared caches may keep it

    @property
    def path(self) -> Path | None:
        """The file on local disk (None for an object store)."""
        return self.store.local_path(self.key)


def open_file(session: Session, viewer: Account | None, media_dir: MediaStore | Path, name: str) -> FileAccess:
    """A stored file as ``viewer`` may fetch it: checked on every access, like the post it belongs to.

    A file URL is not a capability: the file is served only when one of its media rows (uploads of
    the same bytes share the file) is one the viewer may see (``can_view_media``: their own upload,
    an active account's avatar, or on a post they may read). Otherwise, and for unknown names, 404."""
    store, key, content_type = _resolve(media_dir, name)
    sha = FILE_NAME_RE.match(name).group(1)
    rows = list(session.scalars(select(Media).where(Media.sha256 == sha, Media.mime_type == content_type)))
    public = any(can_view_media(session, None, m) for m in rows)
    if not public and not (viewer is not None and any(can_view_media(session, viewer, m) for m in rows)):
        raise NotFound("no such file")
    if not store.exists(key):
        raise NotFound("no such file")
    return FileAccess(store, key, content_type, public=public)


def open_rendition(session: Session, viewer: Account | None, media_dir: MediaStore | Path, sha256: str,
                   name: str) -> FileAccess:
    """A rendition (thumbnail, poster) of the stored file ``sha256``, checked like the file itself."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256 or ""):
        raise NotFound("no such file")
    store = as_store(media_dir)
    rows = list(session.scalars(select(Media).where(Media.sha256 == sha256)))
    variant = next((v for m in rows for v in (m.variants or []) if variant_name(v) == name), None)
    if variant is None:
        raise NotFound("no such file")
    public = any(can_view_media(session, None, m) for m in rows)
    if not public and not (viewer is not None and any(can_view_media(session, viewer, m) for m in rows)):
        raise NotFound("no such file")
    key = media_key(variant["sha256"], variant["ext"])
    if not store.exists(key):
        raise NotFound("no such file")
    return FileAccess(store, key, "image/webp", public=public)


def owned_media(session: Session, owner: Account, media_ids: list[int]) -> list[Media]:
    """The media rows in the given order, all owned by ``owner`` (NotFound / Forbidden otherwise)."""
    if len(set(media_ids)) != len(media_ids):
        raise InvalidInput("the same media is attached twice")
    rows = {m.id: m for m in session.scalars(select(Media).where(Media.id.in_(media_ids)))} if media_ids else {}
    result = []
    for media_id in media_ids:
        media = rows.get(media_id)
        if media is None:
            raise NotFound(f"no media {media_id}")
        if media.owner_id != owner.id:
            raise Forbidden("you can only attach media you uploaded")
        result.append(media)
    return result


def can_view_media(session: Session, viewer: Account | None, media: Media) -> bool:
    """The owner sees their uploads; anyone else only an active account's avatar or media attached to a
    post they may read (so a followers-only photo and its alt text stay with the followers)."""
    if viewer is not None and viewer.id == media.owner_id:
        return True
    avatar_of = select(Account.id).where(Account.avatar_media_id == media.id, Account.status == "active")
    if session.scalar(avatar_of.limit(1)) is not None:
        return True
    on_visible_post = (visible_posts_query(viewer.id if viewer else None).with_only_columns(Post.id)
                       .where(exists().where(PostMedia.post_id == Post.id, PostMedia.media_id == media.id)))
    return session.scalar(on_visible_post.limit(1)) is not None


def get_media(session: Session, viewer: Account | None, media_id: int) -> Media:
    """A media row the viewer may see; NotFound otherwise (whether it exists or not)."""
    media = session.get(Media, media_id)
    if media is None or not can_view_media(session, viewer, media):
        raise NotFound("no such media")
    return media
