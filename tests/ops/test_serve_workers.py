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
