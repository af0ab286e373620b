"""Generated media for the synthetic community: small JPEG photos and tiny MP4 videos per topic.

A small pool per topic is generated once and reused: files are content addressed (SHA-256), stored
exactly like uploads, so the same file backs many ``media`` rows.
"""

from __future__ import annotations

import functools
import hashlib
import io
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from townsquare.sim.vocab import TOPICS

PHOTO_SIZE = (320, 240)
VIDEO_SIZE = (160, 128)
AVATAR_SIZE = (128, 128)
AVATAR_VARIANTS = 6
VIDEO_FRAMES = 12
VIDEO_FPS = 6


def stored_media_path(media_dir: Path, sha256: str, ext: str) -> Path:
    """Where an uploaded file lives: ``<media_dir>/<sha[:2]>/<sha[2:4]>/<sha>.<ext>`` (the uploads' own
    layout: ``social.media.media_path`` decides it)."""
    from townsquare.social.media import media_path

    return media_path(media_dir, sha256, ext)


def store_file(media_dir, data: bytes, ext: str) -> str:
    """Write ``data`` under its SHA-256 (once) into the media store (or a local folder) and return the hash."""
    from townsquare.social.media import CONTENT_TYPES
    from townsquare.social.media_store import as_store, media_key

    sha = hashlib.sha256(data).hexdigest()
    store = as_store(media_dir)
    key = media_key(sha, ext)
    if not store.exists(key):
        store.put(key, data, CONTENT_TYPES.get(ext, "application/octet-stream"))  # atomic
    return sha


@dataclass(frozen=True)
class MediaFile:
    sha256: str
    kind: str  # "image" | "video"
    mime_type: str
    ext: str
    size_bytes: int
    width: int
    height: int
    description: str


def _palette(topic_index: int, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    base = np.array(TOPICS[topic_index].colour, dtype=float)
    return [tuple(int(c) for c in np.clip(base * rng.uniform(0.5, 1.3) + rng.normal(0, 25, 3), 0, 255))
            for _ in range(6)]


@functools.lru_cache(maxsize=512)  # the same file backs many posts (and many seeds in one process)
def make_photo(topic_index: int, variant: int) -> bytes:
    """A 320x240 JPEG: a gradient in the topic's colour with shapes on it."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([topic_index, variant, 11])
    w, h = PHOTO_SIZE
    colours = _palette(topic_index, rng)
    top, bottom = np.array(colours[0], float), np.array(colours[1], float) * 0.6
    t = np.linspace(0, 1, h)[:, None, None]
    pixels = (top * (1 - t) + bottom * t).repeat(w, axis=1).astype(np.uint8)
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(4, 9))):
        x0, y0 = int(rng.integers(0, w - 40)), int(rng.integers(0, h - 40))
        x1, y1 = x0 + int(rng.integers(20, 140)), y0 + int(rng.integers(20, 110))
        colour = colours[int(rng.integers(2, 6))]
        if rng.random() < 0.5:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        else:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
    draw.text((10, h - 22), TOPICS[topic_index].label, fill=(255, 255, 255))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82)
    return out.getvalue()


@functools.lru_cache(maxsize=256)
def make_avatar(topic_index: int, variant: int) -> bytes:
    """A 128x128 JPEG avatar: concentric shapes in the colours of a person's main topic."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng([topic_index, variant, 17])
    colours = _palette(topic_index, rng)
    size = AVATAR_SIZE[0]
    image = Image.new("RGB", AVATAR_SIZE, colours[0])
    draw = ImageDraw.Draw(image)
    for k in range(3):
        r = int(size * (0.45 - 0.12 * k) * rng.uniform(0.8, 1.1))
        cx, cy = size // 2 + int(rng.integers(-12, 13)), size // 2 + int(rng.integers(-12, 13))
        box = (cx - r, cy - r, cx + r, cy + r)
        if rng.random() < 0.6:
            draw.ellipse(box, fill=colours[k + 1])
        else:
            draw.rectangle(box, fill=colours[k + 1])
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _ffmpeg() -> str:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # no wheel: Debian's ffmpeg, if any
        return "ffmpeg"


@functools.lru_cache(maxsize=256)
def make_video(topic_index: int, variant: int) -> bytes:
    """A tiny H.264 MP4 (2 seconds, 160x128): a shape crossing a topic-coloured background."""
    rng = np.random.default_rng([topic_index, variant, 13])
    w, h = VIDEO_SIZE
    colours = _palette(topic_index, rng)
    frames = np.empty((VIDEO_FRAMES, h, w, 3), dtype=np.uint8)
    for f in range(VIDEO_FRAMES):
        frame = np.empty((h, w, 3), dtype=np.uint8)
        frame[:] = colours[0]
        x = int((f / VIDEO_FRAMES) * (w - 40))
        y = int(h / 2 - 20 + 20 * np.sin(f / 2 + variant))
        frame[y : y + 40, x : x + 40] = colours[2]
        frame[h - 12 :, : int(w * (f + 1) / VIDEO_FRAMES)] = colours[3]
        frames[f] = frame
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "clip.mp4"
        cmd = [_ffmpeg(), "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
               "-r", str(VIDEO_FPS), "-i", "-", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-threads", "1",
               "-preset", "veryfast", "-movflags", "+faststart", "-fflags", "+bitexact", "-map_metadata", "-1",
               "-flags:v", "+bitexact", str(out)]
        subprocess.run(cmd, input=frames.tobytes(), check=True, capture_output=True, timeout=60)
        return out.read_bytes()


class MediaPool:
    """Lazily generated, content-addressed photos and videos, ``variants`` per topic and kind."""

    def __init__(self, media_dir, photo_variants: int = 4, video_variants: int = 2) -> None:
        self.media_dir = media_dir  # a media store or a local folder
        self.photo_variants = photo_variants
        self.video_variants = video_variants
        self._cache: dict[tuple[str, int, int], MediaFile] = {}

    def get(self, kind: str, topic_index: int, variant: int) -> MediaFile:
        """``kind`` is the post kind ("photo" or "video") or "avatar"."""
        variant %= {"photo": self.photo_variants, "video": self.video_variants}.get(kind, AVATAR_VARIANTS)
        key = (kind, topic_index, variant)
        if key not in self._cache:
            label = TOPICS[topic_index].label.lower()
            if kind == "avatar":
                data, ext, mime, (w, h), media_kind = make_avatar(topic_index, variant), "jpg", "image/jpeg", \
                    AVATAR_SIZE, "image"
                description = "Profile picture"
            elif kind == "photo":
                data, ext, mime, (w, h), media_kind = make_photo(topic_index, variant), "jpg", "image/jpeg", \
                    PHOTO_SIZE, "image"
                description = f"A photo about {label}"
            else:
                data, ext, mime, (w, h), media_kind = make_video(topic_index, variant), "mp4", "video/mp4", \
                    VIDEO_SIZE, "video"
                description = f"A short video about {label}"
            sha = store_file(self.media_dir, data, ext)
            self._cache[key] = MediaFile(sha, media_kind, mime, ext, len(data), w, h, description)
        return self._cache[key]
