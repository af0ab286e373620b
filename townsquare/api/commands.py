"""``townsquare bench api``: throughput and latency of the native API on the configured database.

It starts the real server (uvicorn in a subprocess on 127.0.0.1 and a free port), signs in as
seeded people (API tokens issued directly, revoked afterwards), and runs a bounded load from a
few concurrent clients: home-timeline reads and post writes. It reports requests/s and p50/p99
per operation. The posts it wrote (and their events) are removed at the end, so the demo data
is left as it was. Run it after ``townsquare seed``.
"""

from __future__ import annotations

import typer


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("api")
    def bench_api(
        requests: int = typer.Option(600, "--requests", min=1, help="Total requests (all clients)."),
        seconds: float = typer.Option(60.0, "--seconds", min=1.0, help="Stop after this many seconds anyway."),
        concurrency: int = typer.Option(4, "--concurrency", min=1, max=64, help="Concurrent clients."),
        users: int = typer.Option(20, "--users", min=1, help="Seeded people to act as."),
        write_share: float = typer.Option(0.2, "--write-share", min=0.0, max=1.0,
                                          help="Share of requests that write a post (the rest read the timeline)."),
        warmup: int = typer.Option(20, "--warmup", min=0, help="Untimed requests first."),
        json_path: str = typer.Option(None, "--json", help="Write the results as JSON to this path."),
    ) -> None:
        """Load-test the API on the configured (seeded) database: timeline reads and post writes."""
        import json
        import os
        import random
        import subprocess
        import sys
        import threading
        import time
        from pathlib import Path

        import httpx
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from rich.table import Table
        from sqlalchemy import delete, select, update

        from townsquare.commands import _settings, fail
        from townsquare.db.engine import Database
        from townsquare.social.models import Account, Event, Post, Token
        from townsquare.social.tokens import issue_token

        console = Console()
        settings = _settings()
        db = Database(settings.sqlalchemy_url)
        try:
            with db.session() as session:
                people = session.scalars(select(Account).where(Account.status == "active", Account.is_admin.is_(False))
                                         .order_by(Account.follower_count.desc(), Account.id).limit(users)).all()
                if not people:
                    raise fail("the database has no accounts: run `townsquare seed` first")
                tokens = [issue_token(session, p, kind="api", name="bench") for p in people]
                handles = [p.handle for p in people]
        except typer.Exit:
            db.dispose()
            raise
        except Exception as exc:
            db.dispose()
            raise fail(f"cannot read the database: {str(exc).splitlines()[0]} (did you run townsquare migrate?)")

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = dict(os.environ, TOWNSQUARE_DATABASE_URL=settings.sqlalchemy_url,
                   TOWNSQUARE_DATA_DIR=str(settings.data_dir.resolve()))
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "townsquare.server.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(port), "--log-level", "warning", "--no-access-log"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        written: list[int] = []
        latencies: dict[str, list[float]] = {"timeline": [], "post": []}
        errors: dict[str, int] = {"timeline": 0, "post": 0}
        lock = threading.Lock()
        try:
            deadline = time.monotonic() + 60
            while True:
                if server.poll() is not None:
                    err = (server.stderr.read() or b"").decode(errors="replace").strip().splitlines()
                    raise fail(f"the server did not start: {err[-1] if err else 'exit ' + str(server.returncode)}")
                try:
                    if httpx.get(base + "/api/openapi.json", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline:
                    raise fail("the server did not answer within 60 s")
                time.sleep(0.2)

            def one(client: httpx.Client, rng: random.Random, n: int, timed: bool) -> None:
                user = rng.randrange(len(tokens))
                headers = {"Authorization": f"Bearer {tokens[user]}"}
                op = "post" if rng.random() < write_share else "timeline"
                start = time.perf_counter()
                try:
                    if op == "post":
                        response = client.post("/api/posts", headers=headers, json={
                            "text": f"benchmark post {n} from @{handles[user]} #bench"})
                        ok = response.status_code == 201
                        if ok:
                            with lock:
                                written.append(int(response.json()["id"]))
                    else:
                        response = client.get("/api/timeline/home", headers=headers, params={"limit": 20})
                        ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                elapsed = time.perf_counter() - start
                if timed:
                    with lock:
                        latencies[op].append(elapsed)
                        if not ok:
                            errors[op] += 1

            with httpx.Client(base_url=base, timeout=30) as client:
                rng = random.Random(0)
                for n in range(warmup):
                    one(client, rng, -n - 1, timed=False)

            counter = iter(range(requests))
            stop_at = time.monotonic() + seconds
            with Progress(TextColumn("load"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                          TimeElapsedColumn(), console=console) as progress:
                task = progress.add_task("load", total=requests)

                def worker(seed: int) -> None:
                    rng = random.Random(seed)
                    with httpx.Client(base_url=base, timeout=30) as client:
                        while time.monotonic() < stop_at:
                            with lock:
                                n = next(counter, None)
                            if n is None:
                                return
                            one(client, rng, n, timed=True)
                            progress.advance(task)

                started = time.perf_counter()
                threads = [threading.Thread(target=worker, args=(i + 1,)) for i in range(concurrency)]
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                wall = time.perf_counter() - started
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
            # Leave the demo data as it was: drop the bench's posts, their events and its tokens.
            with db.session() as session:
                if written:
                    for chunk in range(0, len(written), 500):
                        ids = written[chunk:chunk + 500]
                        authors = session.execute(select(Post.author_id).where(Post.id.in_(ids))).scalars().all()
                        session.execute(delete(Event).where(Event.entity_type == "post", Event.entity_id.in_(ids)))
                        session.execute(delete(Post).where(Post.id.in_(ids)))
                        for author in authors:
                            session.execute(update(Account).where(Account.id == author, Account.post_count > 0)
                                            .values(post_count=Account.post_count - 1))
                session.execute(delete(Token).where(Token.name == "bench"))
            db.dispose()

        rows = []
        total = sum(len(v) for v in latencies.values())
        config = {"requests": requests, "seconds_limit": seconds, "concurrency": concurrency, "users": len(tokens),
                  "write_share": write_share, "database": settings.sqlalchemy_url.split(":", 1)[0],
                  "server": "uvicorn, 1 worker, 127.0.0.1"}
        for name, values in (("timeline_read", latencies["timeline"]), ("post_write", latencies["post"]),
                             ("all", latencies["timeline"] + latencies["post"])):
            errs = errors["timeline"] if name == "timeline_read" else errors["post"] if name == "post_write" \
                else errors["timeline"] + errors["post"]
            rows.append({"name": name, "metrics": {
                "requests": len(values), "errors": errs, "requests_per_s": round(len(values) / wall, 2) if wall else 0,
                "p50_ms": round(_percentile(values, 0.5) * 1000, 2), "p99_ms": round(_percentile(values, 0.99) * 1000, 2),
            }, "config": config})

        table = Table(title=f"townsquare bench api: {total} requests in {wall:.1f}s, {concurrency} clients")
        for column in ("operation", "requests", "errors", "req/s", "p50 ms", "p99 ms"):
            table.add_column(column, justify="left" if column == "operation" else "right")
        for row in rows:
            m = row["metrics"]
            table.add_row(row["name"], str(m["requests"]), str(m["errors"]), f"{m['requests_per_s']:.1f}",
                          f"{m['p50_ms']:.1f}", f"{m['p99_ms']:.1f}")
        console.print(table)
        if json_path:
            Path(json_path).parent.mkdir(parents=True, exist_ok=True)
            Path(json_path).write_text(json.dumps(rows, indent=2))
            console.print(f"wrote {json_path}")
