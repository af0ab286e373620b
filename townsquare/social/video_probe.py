"""Is this upload really a video? Decode its first frame with ffmpeg and read its size.

A container header is easy to fake (12 bytes of MP4 ``ftyp`` followed by HTML), so an upload
counts as a video only when ffmpeg (the binary shipped by the ``imageio-ffmpeg`` package, else one
on the PATH) opens it with the demuxer its magic bytes named and decodes one frame of its first
video stream. ffmpeg is run without a shell, on a private temporary file, with the demuxer forced
(``-f mov`` / ``-f matroska``: no playlist or concat format can be guessed from the content) and
only the ``file`` protocol allowed (a file cannot make ffmpeg open other files or URLs), one
thread, and a time limit.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass

PROBE_TIMEOUT_S = 20.0
# container (our file extension) -> ffmpeg demuxer, and the names ffmpeg reports for the input
DEMUXERS = {"mp4": ("mov", ("mp4", "mov")), "webm": ("matroska", ("webm", "matroska"))}
_INPUT = re.compile(r"^Input #0, ([\w,]+), from", re.MULTILINE)
_VIDEO = re.compile(r"^\s*Stream #0:\d+\S*: Video: .*?, (\d{1,5})x(\d{1,5})(?=[\s,\[]|$)", re.MULTILINE)
_FRAME = re.compile(r"frame=\s*([1-9]\d*)")


class NotAVideo(Exception):
    """The bytes are not a playable video of the claimed container."""


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int


@functools.lru_cache(maxsize=1)
def ffmpeg_exe() -> str | None:
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:  # no wheel for this platform: Debian's ffmpeg, if any
        return shutil.which("ffmpeg")


def probe_video(data: bytes, container: str) -> VideoInfo:
    """Decode the first frame of ``data`` as ``container`` ("mp4" or "webm"); NotAVideo otherwise."""
    exe = ffmpeg_exe()
    if exe is None:
        raise NotAVideo("videos cannot be checked on this server (no ffmpeg)")
    demuxer, names = DEMUXERS[container]
    fd, path = tempfile.mkstemp(prefix="ts-probe-", suffix="." + container)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        cmd = [exe, "-hide_banner", "-nostdin", "-threads", "1", "-xerror", "-protocol_whitelist", "file",
               "-f", demuxer, "-i", path, "-map", "0:v:0", "-frames:v", "1", "-f", "null", "-"]
        try:
            done = subprocess.run(cmd, capture_output=True, timeout=PROBE_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise NotAVideo("the video took too long to check")
    finally:
        os.unlink(path)
    log = done.stderr.decode("utf-8", "replace")
    source = _INPUT.search(log)
    video = _VIDEO.search(log.split("Stream mapping:")[0])
    if done.returncode != 0 or source is None or video is None or not _FRAME.search(log):
        raise NotAVideo("the file is not a playable video")
    if not set(source.group(1).split(",")) & set(names):
        raise NotAVideo("the file is not a playable video")
    return VideoInfo(int(video.group(1)), int(video.group(2)))
