"""``townsquare models pull`` against a local HTTP server that speaks like the hub: resolve paths,
Range requests, an announced sha256. Interrupted downloads resume; bad files are refused."""

from __future__ import annotations

import hashlib
import http.server
import os
import subprocess
import sys
import threading

import pytest

from townsquare.errors import InvalidInput, Unavailable
from townsquare.llm.download import pull, resolve


class Hub(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    cut_after: int | None = None  # send only this many bytes once (a dropped connection)
    requests: list[dict] = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        name = self.path.rsplit("/", 1)[-1]
        body = self.files.get(name)
        Hub.requests.append({"path": self.path, "range": self.headers.get("Range")})
        if body is None:
            self.send_response(404)
            self.end_headers()
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            if start >= len(body):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
        else:
            self.send_response(200)
        chunk = body[start:]
        self.send_header("Content-Length", str(len(chunk)))
        self.send_header("X-Linked-Etag", f'"{hashlib.sha256(body).hexdigest()}"')
        self.end_headers()
        if Hub.cut_after is not None:
            self.wfile.write(chunk[:Hub.cut_after])
            Hub.cut_after = None
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(chunk)


@pytest.fixture
def hub():
    Hub.files, Hub.requests, Hub.cut_after = {}, [], None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _gguf(n: int = 300_000) -> bytes:
    return b"GGUF" + os.urandom(n)


def test_resolve_repository_and_url():
    assert resolve("bartowski/Llama-3.2-1B-Instruct-GGUF", "x.gguf", "http://h")[0] == \
        "http://h/bartowski/Llama-3.2-1B-Instruct-GGUF/resolve/main/x.gguf"
    assert resolve("https://example.org/m/y.gguf?download=1") == ("https://example.org/m/y.gguf?download=1", "y.gguf")
    with pytest.raises(InvalidInput):
        resolve("not a repo", "x.gguf")
    with pytest.raises(InvalidInput):
        resolve("owner/repo")


def test_an_interrupted_download_resumes_and_is_checked(hub, tmp_path):
    data = _gguf()
    Hub.files["m.gguf"] = data
    Hub.cut_after = 100_000
    url, name = resolve("owner/repo", "m.gguf", hub)
    with pytest.raises(Unavailable):
        pull(url, name, tmp_path)
    assert (tmp_path / "m.gguf.part").stat().st_size == 100_000 and not (tmp_path / "m.gguf").exists()
    seen = []
    path = pull(url, name, tmp_path, progress=lambda done, total: seen.append((done, total)))
    assert path.read_bytes() == data
    assert Hub.requests[-1]["range"] == "bytes=100000-"  # resumed, not started over
    assert seen[-1] == (len(data), len(data))
    assert (tmp_path / "m.gguf.sha256").read_text().strip() == hashlib.sha256(data).hexdigest()


def test_a_wrong_sha256_or_a_file_that_is_not_gguf_is_removed(hub, tmp_path):
    Hub.files["m.gguf"] = _gguf()
    Hub.files["page.gguf"] = b"<html>sign in</html>"
    url, name = resolve("owner/repo", "m.gguf", hub)
    with pytest.raises(InvalidInput, match="sha256"):
        pull(url, name, tmp_path, sha256="0" * 64)
    url, name = resolve("owner/repo", "page.gguf", hub)
    with pytest.raises(InvalidInput, match="not a GGUF"):
        pull(url, name, tmp_path)
    assert list(tmp_path.iterdir()) == []
    url, name = resolve("owner/repo", "missing.gguf", hub)
    with pytest.raises(Unavailable, match="404"):
        pull(url, name, tmp_path)


@pytest.mark.slow
def test_pull_command_then_the_assistant_role_uses_the_model(hub, tmp_path):
    """The CLI downloads a real GGUF (the bundled model, served locally) and a role setting loads it."""
    from townsquare.config import load_settings
    from townsquare.llm.embedded import bundled_model_path
    from townsquare.llm.runtime import get_llm

    Hub.files["SmolLM2-copy.gguf"] = bundled_model_path().read_bytes()
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "townsquare.cli", "models", "pull", "owner/repo",
                          "SmolLM2-copy.gguf", "--endpoint", hub], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    path = tmp_path / "models" / "llm" / "SmolLM2-copy.gguf"
    assert f"saved {path}" in out.stdout
    llm = get_llm("assistant", load_settings(env={}, data_dir=tmp_path, assistant_model=str(path)))
    assert llm.chat([{"role": "user", "content": "Say hi"}], max_tokens=4).text
    bad = subprocess.run([sys.executable, "-m", "townsquare.cli", "models", "pull", "owner/repo", "nope.gguf",
                          "--endpoint", hub], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and bad.stderr.startswith("error: download failed: HTTP 404")
