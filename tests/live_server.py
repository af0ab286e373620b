"""A real server for browser tests: the app on a temp SQLite database, served by uvicorn in a thread.

The app object is handed back so that a test can give it a scripted model (``app.state.llms``):
browser tests check the pages, not what a model says.
"""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_app(tmp_path: Path, **overrides):
    import uvicorn

    from townsquare.config import load_settings
    from townsquare.db import migrate
    from townsquare.db.engine import Database
    from townsquare.server.app import create_app

    url = f"sqlite:///{tmp_path / 'live.db'}"
    migrate.upgrade(url)
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=url, secret_key="live-test",
                             **{"auth_rate_limit_per_minute": 1000, **overrides})
    db = Database(url)
    app = create_app(settings, db)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app, db
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()
