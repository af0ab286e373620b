"""Smaller renditions of an upload, made once when it is stored: WebP thumbnails at a few widths
(pages pick one with ``srcset``), a video's poster frame, and a BlurHash placeholder painted while
the file loads.

Renditions are derived files in the media store (``ab/cd/<sha256>.webp``), listed on the media row
(``Media.variants``) and served at ``/media/renditions/<sha256 of the original>/<name>`` with the original's
access check. Making them is best effort: an upload whose renditions fail is stored without them
(pages then use the original), never refused.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import logging
import os
import subprocess
import tempfile

from townsquare.social.media_store import media_key

log = logging.getLogger(__name__)

THUMB_WIDTHS = (320, 640, 1080)  # phone, card, big post: each made only when smaller than the original
WEBP_QUALITY = 80
FRAME_TIMEOUT_S = 20.0
BLURHASH_COMPONENTS = (4, 3)


def variant_name(variant: dict) -> str:
    """The name a rendition is served under, after ``/media/renditions/<sha256 of the original>/``."""
    return f"{variant['kind']}-{variant['width']}.{variant['ext']}"


def _webp(image) -> tuple[bytes, int, int]:
    out = io.BytesIO()
    image.save(out, "WEBP", quality=WEBP_QUALITY, method=4)
    return out.getvalue(), image.width, image.height


def _video_frame(data: bytes, ext: str) -> bytes | None:
    """The first frame of a video as PNG bytes (None without ffmpeg, or when it cannot be read)."""
    from townsquare.social.video_probe import ffmpeg_exe

    exe = ffmpeg_exe()
    if exe is None:
        return None
    demuxer = "mov" if ext == "mp4" else "matroska"
    fd, path = tempfile.mkstemp(suffix="." + ext)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        cmd = [exe, "-hide_banner", "-nostdin", "-threads", "1", "-protocol_whitelist", "file", "-f", demuxer,
               "-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"]
        done = subprocess.run(cmd, capture_output=True, timeout=FRAME_TIMEOUT_S, check=False)
        return done.stdout if done.returncode == 0 and done.stdout else None
    except subprocess.TimeoutExpired:
        return None
    finally:
        os.unlink(path)


def make_renditions(kind: str, ext: str, data: bytes) -> tuple[list[tuple[dict, bytes]], str | None]:
    """([(variant, bytes)], blurhash) for a stored upload's bytes."""
    from PIL import Image, ImageOps

    if kind == "video":
        frame = _video_frame(data, ext)
        if frame is None:
            return [], None
        source = Image.open(io.BytesIO(frame))
        kinds = ("poster",)
    else:
        source = Image.open(io.BytesIO(data))
        if getattr(source, "is_animated", False):
            kinds = ()  # an animated GIF keeps moving: only its placeholder is made
        else:
            kinds = ("thumb",)
    with source:
        source.seek(0)
        still = ImageOps.exif_transpose(source.convert("RGB"))
    made: list[tuple[dict, bytes]] = []
    if "poster" in kinds:
        poster = still.copy()
        poster.thumbnail((THUMB_WIDTHS[-1], THUMB_WIDTHS[-1] * 4))
        made.append(_variant("poster", *_webp(poster)))
    if "thumb" in kinds:
        for width in THUMB_WIDTHS:
            if width >= still.width:
                break
            smaller = still.resize((width, max(1, round(still.height * width / still.width))), Image.LANCZOS)
            made.append(_variant("thumb", *_webp(smaller)))
    return made, _blurhash(still)


def _variant(kind: str, data: bytes, width: int, height: int) -> tuple[dict, bytes]:
    sha = hashlib.sha256(data).hexdigest()
    return {"kind": kind, "width": width, "height": height, "sha256": sha, "ext": "webp"}, data


def _blurhash(image) -> str | None:
    import blurhash
    import numpy as np

    small = image.copy()
    small.thumbnail((32, 32))
    try:
        return blurhash.encode(np.asarray(small, dtype=np.float64), components_x=BLURHASH_COMPONENTS[0],
                               components_y=BLURHASH_COMPONENTS[1])
    except Exception:  # a placeholder is a nicety: never fail an upload for it
        log.debug("no blurhash", exc_info=True)
        return None


def attach_renditions(media, data: bytes, ext: str, store) -> None:
    """Make, store and list the renditions of ``media`` (a new row whose file is ``data``)."""
    try:
        made, placeholder = make_renditions(media.kind, ext, data)
        for variant, blob in made:
            store.put(media_key(variant["sha256"], variant["ext"]), blob, "image/webp")
    except Exception:  # a file that decoded at upload but not here: stored without renditions
        log.warning("no renditions for media %s", media.sha256[:12], exc_info=True)
        return
    media.variants = [v for v, _ in made] or None
    media.blurhash = placeholder


@functools.lru_cache(maxsize=2048)
def placeholder_data_url(hash_: str | None, width: int = 8, height: int = 6) -> str | None:
    """A tiny PNG of a BlurHash, as a data: URL for a CSS background (None without a hash)."""
    if not hash_:
        return None
    import blurhash
    import numpy as np
    from PIL import Image

    try:
        pixels = np.clip(np.asarray(blurhash.decode(hash_, width, height)), 0, 255).astype("uint8")
    except Exception:
        return None
    out = io.BytesIO()
    Image.fromarray(pixels[:, :, :3], "RGB").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def backfill(session_factory, store, *, limit: int | None = None, progress=None) -> int:
    """Make the renditions of stored media that have none (uploads from before renditions, the seeded
    demo community); one transaction per item, so a stop keeps what was done. Returns how many."""
    from sqlalchemy import select

    from townsquare.social.media import file_name
    from townsquare.social.models import Media

    with session_factory() as session:
        ids = list(session.scalars(select(Media.id).where(Media.blurhash.is_(None))
                                   .order_by(Media.id).limit(limit)))
    done = 0
    for media_id in ids:
        with session_factory() as session:
            item = session.get(Media, media_id)
            name = file_name(item)
            ext = name.rsplit(".", 1)[1]
            try:
                data = store.get(media_key(item.sha256, ext))
            except (FileNotFoundError, KeyError):
                continue
            attach_renditions(item, data, ext, store)
            done += 1
        if progress is not None:
            progress()
    return done
