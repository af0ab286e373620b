"""What several workers share: feed cursors and rate limits through Redis, the same answers as one
worker; sign-in throttling per account; forwarded headers believed only from trusted proxies."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient

from townsquare.config import load_settings

REDIS_URL = os.environ.get("TOWNSQUARE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _redis_reason() -> str | None:
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
        return None
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL}: {exc}"


needs_redis = pytest.mark.skipif(_redis_reason() is not None, reason=_redis_reason() or "")


@pytest.fixture
def two_workers(tmp_path, db):
    """Two apps on one database and one Redis namespace: two workers of one server."""
    from townsquare.server.app import create_app

    prefix = f"ts-test-{uuid.uuid4().hex[:8]}"
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             redis_url=REDIS_URL, redis_prefix=prefix, auth_rate_limit_per_minute=4)
    apps = [create_app(settings, db), create_app(settings, db)]
    with TestClient(apps[0]) as a, TestClient(apps[1]) as b:
        yield a, b
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)


@needs_redis
def test_a_feed_cursor_from_one_worker_pages_on_the_other(two_workers):
    a, b = two_workers
    me = a.post("/api/auth/signup", json={"handle": "reader", "password": "correct horse"}).json()
    mia = a.post("/api/auth/signup", json={"handle": "writer", "password": "correct horse"}).json()
    mine, hers = ({"Authorization": f"Bearer {x['token']}"} for x in (me, mia))
    assert a.post(f"/api/accounts/{mia['account']['id']}/follow", headers=mine).status_code in (200, 201)
    for i in range(12):
        assert b.post("/api/posts", json={"text": f"post number {i} #shared"}, headers=hers).status_code == 201
    first = a.get("/api/feed", params={"limit": 5}, headers=mine).json()
    second = b.get("/api/feed", params={"limit": 5, "cursor": first["next_cursor"]}, headers=mine).json()
    assert not second["restarted"]
    ids = [i["post"]["id"] for i in first["items"] + second["items"]]
    assert len(ids) == len(set(ids)) == 10
    # A cursor is personal on every worker.
    stolen = b.get("/api/feed", params={"limit": 5, "cursor": first["next_cursor"]}, headers=hers).json()
    assert stolen["restarted"]


@needs_redis
def test_rate_limits_are_shared_by_the_workers(two_workers):
    a, b = two_workers
    codes = [(a if i % 2 else b).post("/api/auth/signin", json={"login": "nobody", "password": "wrong pass"})
             .status_code for i in range(6)]
    assert codes[:4] == [401] * 4 and codes[4:] == [429, 429]


def test_failed_sign_ins_pause_the_account_whatever_the_address(tmp_path, db, client, signup):
    from townsquare.server.app import create_app

    signup("target", password="the real password")
    settings = load_settings(env={}, data_dir=tmp_path / "d2", database_url=db.url, secret_key="s",
                             auth_rate_limit_per_minute=1000, auth_failures_per_account=3)
    with TestClient(create_app(settings, db)) as c:
        for guess in ("guess one", "guess two", "guess three"):
            assert c.post("/api/auth/signin", json={"login": "target", "password": guess}).status_code == 401
        paused = c.post("/api/auth/signin", json={"login": "@Target", "password": "the real password"})
        assert paused.status_code == 429 and "try again" in paused.json()["error"]["message"]
        # Another account is not affected.
        assert c.post("/api/auth/signin", json={"login": "other", "password": "x" * 8}).status_code == 401


def _serve(tmp_path, env_extra: dict) -> tuple[subprocess.Popen, str]:
    from live_server import free_port

    port = free_port()
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(tmp_path / "data"), "TOWNSQUARE_SECRET_KEY": "s",
           "TOWNSQUARE_AUTH_RATE_LIMIT_PER_MINUTE": "3", **env_extra}
    subprocess.run([sys.executable, "-m", "townsquare.cli", "migrate"], env=env, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "townsquare.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(base + "/api/openapi.json", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode()[-2000:])


@pytest.mark.parametrize("trusted", ["", "127.0.0.1"])
def test_forwarded_addresses_are_believed_only_from_trusted_proxies(tmp_path, trusted):
    proc, base = _serve(tmp_path, {"TOWNSQUARE_TRUSTED_PROXIES": trusted})
    try:
        codes = [httpx.post(base + "/api/auth/signin", json={"login": "nobody", "password": "wrong pass"},
                            headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code for i in range(5)]
    finally:
        proc.terminate()
        proc.wait(10)
    if trusted:  # behind a trusted proxy each forwarded address is its own client
        assert codes == [401] * 5
    else:  # rotating the header from loopback buys nothing
        assert codes == [401, 401, 401, 429, 429]
