"""``townsquare bench routes``: the server's CPU time per request, route by route.

The real server (``townsquare serve``, one worker) is started on the configured database (seed it
first, and train a model to measure the model-ranked feed). One client signs in as the demo person
and sends ``--requests`` requests to each route, one at a time; the server process's CPU time (user +
system, all its threads, from ``/proc/<pid>/stat``) before and after each route, divided by the
number of requests, is its CPU cost. Wall latency (p50, p95) is measured at the client. Background
work that runs meanwhile (the event buffer's writes, the model-reload check) is counted in the
routes that cause it, which is where it belongs.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Callable

import httpx

from townsquare.bench.server import ServerProcess, percentile


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all threads), in seconds."""
    with open(f"/proc/{pid}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def measure(name: str, pid: int, n: int, call: Callable[[int], httpx.Response]) -> dict:
    call(-1)  # warm: imports, caches, the first model load are not the route's steady cost
    latencies, errors = [], 0
    before = cpu_seconds(pid)
    for i in range(n):
        t0 = time.perf_counter()
        response = call(i)
        latencies.append((time.perf_counter() - t0) * 1e3)
        errors += response.status_code >= 400
    time.sleep(0.7)  # the event buffer's write of what these requests observed (every 0.5 s)
    cpu_ms = (cpu_seconds(pid) - before) * 1e3 / n
    return {"name": name, "metrics": {"cpu_ms": round(cpu_ms, 2), "p50_ms": round(percentile(latencies, 0.5), 1),
                                      "p95_ms": round(percentile(latencies, 0.95), 1),
                                      "max_rps_per_core": round(1000 / cpu_ms, 1) if cpu_ms > 0 else None,
                                      "errors": errors}}


def run(n: int, env: dict[str, str]) -> list[dict]:
    from townsquare.sim.seed import DEMO_HANDLE, DEMO_PASSWORD

    server = ServerProcess({**env, "TOWNSQUARE_ACCESS_LOG": "false", "TOWNSQUARE_AUTH_RATE_LIMIT_PER_MINUTE": "100000"})
    server.start()
    rows = []
    try:
        pid = server.proc.pid
        http = httpx.Client(base_url=server.base_url, timeout=60)
        signin = http.post("/api/auth/signin", json={"login": DEMO_HANDLE, "password": DEMO_PASSWORD})
        signin.raise_for_status()
        http.headers["Authorization"] = f"Bearer {signin.json()['token']}"
        first = http.get("/api/feed").json()
        post_ids = [item["post"]["id"] if "post" in item else item["id"] for item in first["items"]]
        cursor = first.get("next_cursor")
        rng = random.Random(0)
        words = ["music", "football", "recipe", "garden", "travel", "photo", "city", "game"]
        routes: list[tuple[str, Callable[[int], httpx.Response]]] = [
            ("GET /healthz", lambda i: http.get("/healthz")),
            ("GET /api/feed (ranks a new feed)", lambda i: http.get("/api/feed")),
            ("GET /api/feed?cursor (next page)", lambda i: http.get("/api/feed", params={"cursor": cursor})),
            ("GET /api/posts/{id}", lambda i: http.get(f"/api/posts/{rng.choice(post_ids)}")),
            ("GET /api/posts/{id}/comments", lambda i: http.get(f"/api/posts/{rng.choice(post_ids)}/comments")),
            ("GET /api/search?q=", lambda i: http.get("/api/search", params={"q": rng.choice(words)})),
            ("GET /api/notifications", lambda i: http.get("/api/notifications")),
            ("GET /api/people/suggestions", lambda i: http.get("/api/people/suggestions")),
            ("POST /api/events (10 impressions)", lambda i: http.post("/api/events", json={"events": [
                {"action": "impression", "entity_id": str(rng.choice(post_ids)), "surface": "home", "position": k}
                for k in range(10)]})),
            ("POST /api/posts", lambda i: http.post("/api/posts", json={"text": f"bench post {i} about {rng.choice(words)}"})),
            ("POST / DELETE /api/posts/{id}/reaction", lambda i: (http.post if i % 2 == 0 else http.delete)(
                f"/api/posts/{post_ids[(i // 2) % len(post_ids)]}/reaction")),
            ("GET /metrics", lambda i: http.get("/metrics")),
        ]
        for name, call in routes:
            rows.append(measure(name, pid, n, call))
    finally:
        server.stop()
    return rows
