"""The real ``townsquare serve --workers 2``: /metrics adds up every worker (prometheus multiprocess
mode), access logs are on by default with the request id, JSON logs when asked, off when asked."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid

import httpx
import pytest

from townsquare.bench.server import ServerProcess

from .test_outages import _redis_reason


def _total(text: str, route: str) -> float:
    pattern = re.compile(r'^townsquare_http_requests_total\{(.*)\} ([0-9.e+]+)$')
    total = 0.0
    for line in text.splitlines():
        m = pattern.match(line)
        if m and f'route="{route}"' in m.group(1):
            total += float(m.group(2))
    return total


@pytest.fixture
def data_dir(tmp_path):
    env = {"TOWNSQUARE_DATA_DIR": str(tmp_path / "data"), "TOWNSQUARE_SECRET_KEY": "t"}
    subprocess.run([sys.executable, "-m", "townsquare.cli", "migrate"], env={**__import__("os").environ, **env},
                   check=True, capture_output=True)
    return env


@pytest.mark.skipif(_redis_reason() is not None, reason=_redis_reason() or "")
def test_two_workers_one_metrics_view_and_json_access_logs(data_dir):
    prefix = f"ts-workers-{uuid.uuid4().hex[:8]}"
    server = ServerProcess({**data_dir, "TOWNSQUARE_REDIS_URL": "redis://127.0.0.1:6379/0",
                            "TOWNSQUARE_REDIS_PREFIX": prefix, "TOWNSQUARE_LOG_FORMAT": "json"}, workers=2)
    server.start()
    try:
        pids = set()
        for i in range(40):  # a new connection each time: the kernel spreads them over the workers
            response = httpx.get(server.base_url + "/healthz", headers={"X-Request-ID": f"probe-{i}"})
            assert response.headers["x-request-id"] == f"probe-{i}"
            pids.add(response.json()["pid"])
        totals = {_total(httpx.get(server.base_url + "/metrics").text, "/healthz") for _ in range(6)}
        # Whichever worker answers the scrape, it reports every worker's requests.
        assert totals == {40.0}, totals
        ready = httpx.get(server.base_url + "/readyz").json()
        assert ready["ready"] is True and ready["checks"]["redis"]["ok"] is True
    finally:
        log = server.log_tail(200_000)  # read before the stop, which removes the log file
        server.kill()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [r for r in lines if r["logger"] == "townsquare.access" and r["route"] == "/healthz"]
    assert {r["request_id"] for r in access} == {f"probe-{i}" for i in range(40)}
    assert all(r["status"] == 200 and r["method"] == "GET" and r["duration_ms"] >= 0 for r in access)
    print(f"requests answered by {len(pids)} worker(s)")


def test_access_log_can_be_turned_off(data_dir):
    server = ServerProcess({**data_dir, "TOWNSQUARE_ACCESS_LOG": "false"})
    server.start()
    try:
        httpx.get(server.base_url + "/healthz", headers={"X-Request-ID": "quiet-one"})
        log = server.log_tail(50_000)
    finally:
        server.kill()
    assert "quiet-one" not in log and "GET /healthz" not in log


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch_backend(request):
    from townsquare.bench import concurrency as cc

    url = ""
    if request.param == "postgres":
        from conftest import PG_ADMIN_URL, postgres_unreachable_reason

        reason = postgres_unreachable_reason()
        if reason:
            pytest.skip(reason)
        url = PG_ADMIN_URL
    with cc.scratch_database(request.param, url) as (db_url, data):
        yield db_url, data


@pytest.mark.skipif(_redis_reason() is not None, reason=_redis_reason() or "")
def test_the_api_behaves_the_same_on_two_workers(scratch_backend):
    """Sign up, follow, post, page the feed with its cursor and like, every request on a new
    connection (so on either worker), on SQLite and on PostgreSQL with Redis."""
    db_url, data = scratch_backend
    prefix = f"ts-api2-{uuid.uuid4().hex[:8]}"
    server = ServerProcess({"TOWNSQUARE_DATABASE_URL": db_url, "TOWNSQUARE_DATA_DIR": str(data),
                            "TOWNSQUARE_SECRET_KEY": "t", "TOWNSQUARE_REDIS_URL": "redis://127.0.0.1:6379/0",
                            "TOWNSQUARE_REDIS_PREFIX": prefix, "TOWNSQUARE_AUTH_RATE_LIMIT_PER_MINUTE": "1000"},
                           workers=2)
    server.start()
    try:
        def call(method, path, token=None, **kw):
            headers = {"Authorization": f"Bearer {token}"} if token else {}
            return httpx.request(method, server.base_url + path, headers=headers, timeout=30, **kw)

        reader = call("POST", "/api/auth/signup", json={"handle": "reader", "password": "correct horse"}).json()
        writer = call("POST", "/api/auth/signup", json={"handle": "writer", "password": "correct horse"}).json()
        rt, wt = reader["token"], writer["token"]
        assert call("POST", f"/api/accounts/{writer['account']['id']}/follow", rt).status_code in (200, 201)
        made = [call("POST", "/api/posts", wt, json={"text": f"note {i}"}).json()["id"] for i in range(12)]
        first = call("GET", "/api/feed", rt, params={"limit": 5}).json()
        seen = [item["post"]["id"] for item in first["items"]]
        cursor = first["next_cursor"]
        while cursor:
            page = call("GET", "/api/feed", rt, params={"limit": 5, "cursor": cursor}).json()
            assert not page.get("restarted")  # the cursor worked on whichever worker answered
            seen += [item["post"]["id"] for item in page["items"]]
            cursor = page["next_cursor"]
        assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
        assert call("POST", f"/api/posts/{made[0]}/reaction", rt).status_code == 201
        assert call("GET", f"/api/posts/{made[0]}", wt).json()["like_count"] == 1
        assert call("GET", "/readyz").json()["ready"] is True
    finally:
        server.stop()
        import redis

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0")
        keys = list(client.scan_iter(f"{prefix}:*"))
        if keys:
            client.delete(*keys)
