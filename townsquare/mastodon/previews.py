"""Small previews of media for Mastodon clients: ``preview_url`` (a JPEG at most 400 px on its long
side: the image scaled down, or a video's first frame) and ``blurhash`` (the placeholder clients
paint while the file loads).

Previews are derived files, made on first request and kept beside the media
(``<media_dir>/previews/<sha256>.jpg``, written atomically); the blurhash of each preview is kept in
memory. Access to a preview is checked like access to its file (``social.media.open_file``).
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
import tempfile
from pathlib import Path

from townsquare.errors import NotFound
from townsquare.social.video_probe import ffmpeg_exe

PREVIEW_PX = 400
BLURHASH_PX = 32
FRAME_TIMEOUT_S = 20.0


def preview_path(media_dir: Path, sha256: str) -> Path:
    return Path(media_dir) / "previews" / sha256[:2] / f"{sha256}.jpg"


def _first_frame(path: Path) -> bytes:
    exe = ffmpeg_exe()
    if exe is None:
        raise NotFound("no preview")
    demuxer = "mov" if path.suffix == ".mp4" else "matroska"
    cmd = [exe, "-hide_banner", "-nostdin", "-threads", "1", "-protocol_whitelist", "file", "-f", demuxer,
           "-i", str(path), "-map", "0:v:0", "-frames:v", "1", "-f", "image2pipe", "-vcodec", "png", "-"]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=FRAME_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise NotFound("no preview")
    if done.returncode != 0 or not done.stdout:
        raise NotFound("no preview")
    return done.stdout


def _make_preview(source: Path) -> bytes:
    from PIL import Image, ImageOps

    data = _first_frame(source) if source.suffix in (".mp4", ".webm") else source.read_bytes()
    with Image.open(io.BytesIO(data)) as image:
        image.seek(0)
        still = ImageOps.exif_transpose(image.convert("RGB"))
        still.thumbnail((PREVIEW_PX, PREVIEW_PX))
        out = io.BytesIO()
        still.save(out, "JPEG", quality=80)
    return out.getvalue()


def preview_file(media_dir: Path, source: Path, sha256: str) -> Path:
    """The preview of the stored file ``source`` (made now if missing); NotFound when none can be made."""
    path = preview_path(media_dir, sha256)
    if path.is_file():
        return path
    try:
        data = _make_preview(source)
    except NotFound:
        raise
    except Exception:  # a file that decoded at upload but not now: no preview rather than a 500
        raise NotFound("no preview")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".preview-")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(tmp, path)
    return path


@functools.lru_cache(maxsize=4096)
def _blurhash_of(path_text: str, mtime: float) -> str | None:
    import blurhash
    from PIL import Image

    try:
        with Image.open(path_text) as image:
            small = image.convert("RGB")
            small.thumbnail((BLURHASH_PX, BLURHASH_PX))
            pixels = [[small.getpixel((x, y)) for x in range(small.width)] for y in range(small.height)]
            return blurhash.encode(pixels, components_x=4, components_y=3)
    except Exception:
        return None


def blurhash_for(media_dir: Path, source: Path, sha256: str) -> str | None:
    """The blurhash of a stored file (through its preview); None when no preview can be made."""
    try:
        path = preview_file(media_dir, source, sha256)
        return _blurhash_of(str(path), path.stat().st_mtime)
    except (NotFound, OSError):
        return None
