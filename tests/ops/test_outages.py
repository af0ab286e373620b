"""Bad input from the outside world: Redis or PostgreSQL going away and coming back, a model server
that does not answer. Readiness turns false, clients get a clear 503, and the same process recovers
by itself, with nothing lost. The dependency is cut with a TCP proxy (``flaky_proxy``), so the real
servers that other tests use keep running."""

from __future__ import annotations

import http.server
import json
import threading
import time
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from townsquare.config import load_settings

from .flaky_proxy import FlakyProxy

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _redis_reason() -> str | None:
    try:
        import redis

        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}"


def _wait(predicate, timeout_s: float = 15.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    return predicate()


def _signup(client, handle):
    response = client.post("/api/auth/signup", json={"handle": handle, "password": "correct horse"})
    assert response.status_code == 201, response.text
    body = response.json()
    return {"Authorization": f"Bearer {body['token']}"}, body["account"]["id"]


@pytest.mark.skipif(_redis_reason() is not None, reason=_redis_reason() or "")
def test_redis_going_away_and_coming_back(tmp_path, db):
    from townsquare.server.app import create_app

    proxy = FlakyProxy(REDIS_HOST, REDIS_PORT)
    prefix = f"ts-outage-{uuid.uuid4().hex[:8]}"
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             redis_url=f"redis://127.0.0.1:{proxy.port}/0", redis_prefix=prefix,
                             auth_rate_limit_per_minute=1000)
    try:
        with TestClient(create_app(settings, db)) as client:
            auth, _ = _signup(client, "redis_reader")
            assert client.get("/readyz").json()["checks"]["redis"]["ok"] is True

            proxy.cut()
            ready = client.get("/readyz")
            assert ready.status_code == 503
            body = ready.json()
            assert body["ready"] is False and body["checks"]["redis"]["ok"] is False
            assert body["checks"]["database"]["ok"] is True
            # Sign-in limits live in Redis: refused clearly (fail closed), not a 500.
            refused = client.post("/api/auth/signin", json={"login": "redis_reader", "password": "correct horse"})
            assert refused.status_code == 503, refused.text
            assert refused.json()["error"]["code"] == "shared_state_unavailable"
            assert refused.headers.get("retry-after")
            # The feed still works: its cursor cache degrades to ranking afresh.
            assert client.get("/api/feed", headers=auth).status_code == 200

            proxy.restore()
            assert _wait(lambda: client.get("/readyz").status_code == 200)
            again = client.post("/api/auth/signin", json={"login": "redis_reader", "password": "correct horse"})
            assert again.status_code == 200, again.text
    finally:
        proxy.close()
        import redis

        r = redis.Redis(host=REDIS_HOST, port=REDIS_PORT)
        keys = list(r.scan_iter(f"{prefix}:*"))
        if keys:
            r.delete(*keys)


@pytest.mark.postgres
def test_postgres_going_away_and_coming_back(tmp_path, postgres_url):
    from townsquare.db import migrate
    from townsquare.db.engine import Database
    from townsquare.server.app import create_app
    from townsquare.social.models import Event, Post

    migrate.upgrade(postgres_url)  # the session's database (already migrated by other tests, or now)
    host_port = postgres_url.split("@", 1)[1].split("/", 1)[0]
    host, _, port = host_port.partition(":")
    proxy = FlakyProxy(host, int(port or 5432))
    url = postgres_url.replace(host_port, f"127.0.0.1:{proxy.port}")
    db = Database(url)
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=url, secret_key="s",
                             auth_rate_limit_per_minute=1000)
    handle = f"pg_{uuid.uuid4().hex[:8]}"
    try:
        with TestClient(create_app(settings, db)) as client:
            services = client.app.state.services
            services.events.interval_s = 3600  # we flush by hand
            auth, me = _signup(client, handle)
            assert client.post("/api/posts", headers=auth, json={"text": "before"}).status_code == 201

            proxy.cut()
            ready = client.get("/readyz")
            assert ready.status_code == 503 and ready.json()["checks"]["database"]["ok"] is False
            down = client.post("/api/posts", headers=auth, json={"text": "during"})
            assert down.status_code == 503, down.text
            assert down.json()["error"]["code"] == "database_unavailable"
            # Observed events wait in the buffer while the database is away; none is lost.
            services.events.append([{"actor_id": int(me), "action": "impression", "entity_type": "post",
                                     "entity_id": None, "ts": datetime.now(UTC), "surface": "home",
                                     "dwell_ms": None, "context": {"test": handle}}])
            assert services.events.flush() == 0 and services.events.pending() >= 1  # + the token's last use

            proxy.restore()
            assert _wait(lambda: client.get("/readyz").status_code == 200)
            assert client.post("/api/posts", headers=auth, json={"text": "after"}).status_code == 201
            assert services.events.flush() == 1 and services.events.pending() == 0
        with db.session() as s:
            texts = sorted(s.scalars(select(Post.text).where(Post.author_id == int(me))))
            events = s.scalar(select(func.count()).select_from(Event).where(Event.actor_id == int(me),
                                                                             Event.action == "impression"))
        assert texts == ["after", "before"]  # the refused post was not half-written
        assert events == 1
    finally:
        proxy.close()
        db.dispose()


class _SlowModelServer(http.server.ThreadingHTTPServer):
    """An OpenAI-compatible stand-in whose answers can be made to hang."""

    daemon_threads = True

    def __init__(self):
        self.slow = threading.Event()
        super().__init__(("127.0.0.1", 0), _SlowHandler)


class _SlowHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def _answer(self, body: dict):
        if self.server.slow.is_set():
            time.sleep(4)
        data = json.dumps(body).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            pass

    def do_GET(self):
        self._answer({"object": "list", "data": [{"id": "stand-in", "object": "model"}]})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        self.rfile.read(length)
        self._answer({"id": "x", "object": "chat.completion", "model": "stand-in",
                      "choices": [{"index": 0, "finish_reason": "stop",
                                   "message": {"role": "assistant", "content": "hello there"}}],
                      "usage": {"prompt_tokens": 5, "completion_tokens": 2}})


def test_a_model_server_that_times_out(tmp_path, db, monkeypatch):
    from townsquare.server import health
    from townsquare.server.app import create_app

    monkeypatch.setattr(health, "LLM_CACHE_S", 0.0)
    monkeypatch.setattr(health, "LLM_TIMEOUT_S", 1.0)
    server = _SlowModelServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/v1"
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             llm_backend="remote", llm_base_url=base, llm_model="stand-in", llm_timeout_s=1.0,
                             llm_max_retries=0, auth_rate_limit_per_minute=1000)
    try:
        with TestClient(create_app(settings, db)) as client:
            auth, _ = _signup(client, "llm_user")
            assert client.get("/readyz").json()["checks"]["llm"]["ok"] is True
            chat = {"model": "assistant", "messages": [{"role": "user", "content": "hi"}]}

            server.slow.set()
            ready = client.get("/readyz")
            assert ready.status_code == 503
            llm = ready.json()["checks"]["llm"]
            assert llm["ok"] is False and base in llm["error"]
            slow = client.post("/v1/chat/completions", headers=auth, json=chat)
            # The assistant's turn ends with an error step that says what happened (the /v1 surface
            # answers 200 with the step, as it does for every failed turn).
            steps = slow.json()["townsquare"]["steps"]
            assert any(s["type"] == "error" and s["code"] == "unavailable" and "did not answer" in s["message"]
                       for s in steps), slow.text

            server.slow.clear()
            assert _wait(lambda: client.get("/readyz").status_code == 200)
            metrics = client.get("/metrics").text
            assert 'townsquare_llm_requests_total{backend="remote",model="stand-in",outcome="unavailable"}' in metrics
    finally:
        server.shutdown()


def test_readiness_checks_can_be_chosen(tmp_path, db):
    """A deployment may decide that the LLM is not a reason to stop serving feeds."""
    from townsquare.server.app import create_app

    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             llm_backend="remote", llm_base_url="http://127.0.0.1:9/v1", llm_model="gone",
                             ready_checks="database,redis,rec_model")
    with TestClient(create_app(settings, db)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        llm = ready.json()["checks"]["llm"]
        assert llm["ok"] is False and llm["required"] is False
