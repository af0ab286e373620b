"""A real Townsquare server in a subprocess, for benchmarks and end-to-end tests: ``townsquare
serve`` on a free loopback port, in its own process group (so ``kill()`` takes every worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


class ServerProcess:
    def __init__(self, env: dict[str, str], *, workers: int = 1, port: int | None = None,
                 source: str | None = None) -> None:
        self.env = {**os.environ, **env}
        # Another checkout of Townsquare (a baseline for side-by-side runs): run from its folder, as
        # ``python -m`` puts the working folder first on the path.
        self.cwd = source
        if source:
            self.env["PYTHONPATH"] = source
        self.workers = workers
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = None

    def migrate(self) -> None:
        subprocess.run([sys.executable, "-m", "townsquare.cli", "migrate"], env=self.env, check=True,
                       capture_output=True, cwd=self.cwd)

    def start(self, timeout_s: float = 120.0) -> str:
        # The server's log goes to a file: a pipe nobody reads fills up and blocks the server.
        self.log = tempfile.NamedTemporaryFile(prefix="townsquare-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "townsquare.cli", "serve", "--port", str(self.port), "--workers", str(self.workers)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.cwd)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.log_tail().strip().splitlines()
                raise RuntimeError(f"the server exited: {err[-1] if err else self.proc.returncode}")
            try:
                if httpx.get(self.base_url + "/api/openapi.json", timeout=2).status_code == 200:
                    return self.base_url
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"the server did not answer within {timeout_s:.0f} s")

    def log_tail(self, n: int = 4000) -> str:
        """The end of the server's log (stdout and stderr)."""
        with open(self.log.name, "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - n))
            return fh.read().decode(errors="replace")

    def stop(self, timeout_s: float = 30.0) -> None:
        """A clean stop (SIGTERM): the server finishes its requests and flushes its buffers."""
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()
            return
        os.unlink(self.log.name)

    def kill(self) -> None:
        """kill -9 of the server and all its workers: what a crash or a power cut does."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)
