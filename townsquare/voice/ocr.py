"""Reading the text in a photo, on this machine: Debian's Tesseract (``tesseract-ocr-eng``).

Tesseract reads dark text on a light background best, at a readable size; frames are turned to
grey, small ones scaled up, and tried inverted when the first read finds nothing (light text on a
dark sign). Words Tesseract is unsure of (confidence under ``MIN_CONFIDENCE``) are left out, so a
photo with no text gives no text, not noise.
"""

from __future__ import annotations

import io
import shutil
import subprocess

from townsquare.errors import Unavailable
from townsquare.voice.images import Frame

MIN_CONFIDENCE = 60
MIN_SIDE = 1000  # frames smaller than this are scaled up: Tesseract wants letters ~20 px high
TIMEOUT_S = 30


def available() -> bool:
    return shutil.which("tesseract") is not None


def _tsv_words(png: bytes) -> list[tuple[int, int, int, str]]:
    """(block, line, word) order and text of each word Tesseract is confident about."""
    binary = shutil.which("tesseract")
    if binary is None:
        raise Unavailable("tesseract is not installed (apt-get install tesseract-ocr-eng)")
    try:
        done = subprocess.run([binary, "stdin", "stdout", "-l", "eng", "--psm", "3", "tsv"], input=png,
                              capture_output=True, timeout=TIMEOUT_S, check=True)
    except subprocess.TimeoutExpired:
        raise Unavailable("reading the text in the image took too long") from None
    except (subprocess.CalledProcessError, OSError) as exc:
        raise Unavailable(f"tesseract failed: {str(exc)[:120]}") from None
    words = []
    for row in done.stdout.decode("utf-8", "replace").splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or not cols[11].strip():
            continue
        try:
            confidence = float(cols[10])
        except ValueError:
            continue
        if confidence >= MIN_CONFIDENCE and any(ch.isalnum() for ch in cols[11]):
            words.append((int(cols[2]), int(cols[4]), int(cols[5]), cols[11].strip()))
    return words


def _lines(words: list[tuple[int, int, int, str]]) -> str:
    lines: dict[tuple[int, int], list[str]] = {}
    for block, line, _word, text in words:
        lines.setdefault((block, line), []).append(text)
    return "\n".join(" ".join(ws) for _, ws in sorted(lines.items()))


def read_text(frame: Frame) -> str:
    from PIL import ImageOps

    grey = frame.image.convert("L")
    if max(grey.size) < MIN_SIDE:
        scale = MIN_SIDE / max(grey.size)
        grey = grey.resize((int(grey.width * scale), int(grey.height * scale)))
    for candidate in (grey, ImageOps.invert(grey)):
        out = io.BytesIO()
        candidate.save(out, "PNG")
        text = _lines(_tsv_words(out.getvalue()))
        if len(text.replace("\n", "").replace(" ", "")) >= 2:
            return text
    return ""
