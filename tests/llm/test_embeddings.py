"""The bundled MiniLM embeddings, run for real, and the remote backend against a tiny local server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import pytest

from townsquare.config import load_settings
from townsquare.errors import InvalidInput, Unavailable
from townsquare.llm.embeddings import EMBEDDING_DIM, bundled_model_dir, embed_texts


@pytest.mark.slow
def test_bundled_embeddings_rank_similar_sentences_higher():
    settings = load_settings(env={})
    texts = [
        "The cat sat on the mat.",
        "A kitten is resting on the rug.",
        "Quarterly revenue grew by eight percent.",
        "How do I bake sourdough bread at home?",
    ]
    vectors = embed_texts(texts, settings=settings)
    assert vectors.shape == (4, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2] + 0.2
    assert sims[0, 1] > sims[0, 3] + 0.2
    # Batching does not change the result.
    again = embed_texts(texts[::-1], settings=settings, batch_size=1)[::-1]
    assert np.allclose(vectors, again, atol=1e-4)


def test_bundled_model_folder_is_found():
    assert (bundled_model_dir() / "modules.json").exists()


def test_empty_and_bad_input():
    settings = load_settings(env={})
    assert embed_texts([], settings=settings).shape == (0, EMBEDDING_DIM)
    with pytest.raises(InvalidInput):
        embed_texts("one string", settings=settings)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput):
        embed_texts(["x"], settings=load_settings(env={}, embeddings_backend="nope"))
    with pytest.raises(InvalidInput):
        embed_texts(["x"], settings=load_settings(env={}, embeddings_backend="remote"))


class _EmbeddingsHandler(BaseHTTPRequestHandler):
    garbage = False

    def do_POST(self):  # noqa: N802 (http.server's naming)
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.garbage:
            payload = b"<html>oops</html>"
        else:
            data = [{"index": i, "embedding": [float(len(text)), 1.0, 0.0]} for i, text in enumerate(body["input"])]
            payload = json.dumps({"data": data[::-1]}).encode()  # out of order on purpose
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("garbage", [False, True])
def test_remote_embeddings(garbage):
    handler = type("H", (_EmbeddingsHandler,), {"garbage": garbage})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = load_settings(env={}, embeddings_backend="remote",
                                 llm_base_url=f"http://127.0.0.1:{server.server_port}/v1", llm_timeout_s=5.0)
        if garbage:
            with pytest.raises(Unavailable):
                embed_texts(["a", "bbb"], settings=settings)
        else:
            vectors = embed_texts(["a", "bbb", "cc"], settings=settings, batch_size=2)
            assert vectors.shape == (3, 3)
            assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0)
            assert vectors[1, 0] > vectors[2, 0] > vectors[0, 0]  # order follows "index"
    finally:
        server.shutdown()
        server.server_close()


def test_remote_embeddings_unreachable():
    settings = load_settings(env={}, embeddings_backend="remote", llm_base_url="http://127.0.0.1:9/v1",
                             llm_timeout_s=2.0)
    with pytest.raises(Unavailable):
        embed_texts(["hello"], settings=settings)
