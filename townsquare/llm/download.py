"""Downloading a bigger language model (a GGUF file) on request: ``townsquare models pull``.

Nothing downloads by default: the bundled model works offline. This is for a person who asks for a
bigger model (Llama 3.2 1B / 3B, Llama 3.1 8B). A download goes to ``<data_dir>/models/llm/``:

- into ``<file>.part`` first, resumed with an HTTP ``Range`` request when it was interrupted
  (Ctrl-C, a dropped connection): run the same command again;
- checked: the sha256 you give (``--sha256``), else the one the Hugging Face hub announces for the
  file (its ``X-Linked-Etag`` header), and the GGUF magic bytes; a file that fails is removed;
- renamed into place only when complete and checked, with its sha256 written beside it.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable
from pathlib import Path

import httpx

from townsquare.errors import InvalidInput, Unavailable

DEFAULT_ENDPOINT = "https://huggingface.co"
CHUNK = 1 << 20
GGUF_MAGIC = b"GGUF"


def llm_models_dir(settings) -> Path:
    return Path(settings.models_dir) / "llm"


def resolve(source: str, filename: str | None = None, endpoint: str = DEFAULT_ENDPOINT) -> tuple[str, str]:
    """``(url, file name)`` for a URL, or a hub repository (``owner/name``) and a file in it."""
    if re.match(r"^https?://", source):
        name = filename or source.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
        return source, name
    if not re.fullmatch(r"[\w.-]+/[\w.-]+", source):
        raise InvalidInput(f"{source!r} is neither a URL nor a repository name like owner/name")
    if not filename:
        raise InvalidInput("name the file in the repository, e.g. Llama-3.2-1B-Instruct-Q4_K_M.gguf")
    return f"{endpoint.rstrip('/')}/{source}/resolve/main/{filename}", filename


def _check_name(name: str) -> str:
    if not name.endswith(".gguf") or "/" in name or name.startswith("."):
        raise InvalidInput(f"{name!r} is not a .gguf file name")
    return name


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def pull(url: str, name: str, dest_dir: Path, *, sha256: str | None = None, token: str | None = None,
         progress: Callable[[int, int | None], None] | None = None, timeout_s: float = 60.0) -> Path:
    """Download ``url`` to ``dest_dir/name`` (resumable, checked); returns the path."""
    name = _check_name(name)
    dest_dir.mkdir(parents=True, exist_ok=True)
    final, part = dest_dir / name, dest_dir / (name + ".part")
    if final.exists() and (sha256 is None or _sha256_of(final) == sha256.lower()):
        return final
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    have = part.stat().st_size if part.exists() else 0
    if have:
        headers["Range"] = f"bytes={have}-"
    try:
        with httpx.stream("GET", url, headers=headers, follow_redirects=True, timeout=timeout_s) as response:
            if response.status_code == 416:  # the part is already complete
                announced = None
            elif response.status_code not in (200, 206):
                raise Unavailable(f"download failed: HTTP {response.status_code} from {url}")
            else:
                announced = (response.headers.get("x-linked-etag") or "").strip('"') or None
                if response.status_code == 200:
                    have = 0  # the server does not resume: start over
                total = response.headers.get("content-length")
                total = int(total) + have if total is not None else None
                with open(part, "ab" if have else "wb") as fh:
                    done = have
                    for block in response.iter_bytes():  # as it arrives: an interruption keeps it all
                        fh.write(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
    except httpx.HTTPError as exc:
        raise Unavailable(f"download interrupted ({type(exc).__name__}); run the same command again to resume")
    expected = (sha256 or (announced if announced and re.fullmatch(r"[0-9a-f]{64}", announced) else None))
    actual = _sha256_of(part)
    if expected and actual != expected.lower():
        part.unlink()
        raise InvalidInput(f"sha256 mismatch: expected {expected}, got {actual}; the partial file was removed")
    with open(part, "rb") as fh:
        if fh.read(4) != GGUF_MAGIC:
            part.unlink()
            raise InvalidInput(f"{url} is not a GGUF file (no GGUF header); removed")
    os.replace(part, final)
    (dest_dir / (name + ".sha256")).write_text(actual + "\n")
    return final
