"""``townsquare bench concurrency`` and ``townsquare bench durability`` (see ``concurrency.py``)."""

from __future__ import annotations

import typer

DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def _server_env(url: str, data, workers: int, redis_url: str) -> dict[str, str]:
    import uuid

    env = {"TOWNSQUARE_DATABASE_URL": url, "TOWNSQUARE_DATA_DIR": str(data), "TOWNSQUARE_SECRET_KEY": "bench",
           "TOWNSQUARE_AUTH_RATE_LIMIT_PER_MINUTE": "100000"}
    if workers > 1:
        env.update(TOWNSQUARE_REDIS_URL=redis_url, TOWNSQUARE_REDIS_PREFIX=f"bench-{uuid.uuid4().hex[:8]}")
    return env


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("concurrency")
    def bench_concurrency(
        backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgres (a fresh database either way)."),
        workers: int = typer.Option(1, "--workers", min=1, max=16, help="Server worker processes."),
        seconds: float = typer.Option(60.0, "--seconds", min=5.0, help="How long the load runs."),
        clients: int = typer.Option(8, "--clients", min=1, max=64, help="People posting, commenting and reading."),
        people: int = typer.Option(40, "--people", min=10, help="People in the community."),
        assistant: bool = typer.Option(True, "--assistant/--no-assistant",
                                       help="One more person asks the assistant through /v1 the whole time."),
        postgres_url: str = typer.Option(DEFAULT_POSTGRES, "--postgres-url",
                                         help="A PostgreSQL server where a scratch database may be created."),
        redis_url: str = typer.Option(DEFAULT_REDIS, "--redis-url", help="Redis for several workers."),
        server_src: str = typer.Option(None, "--server-src",
                                       help="Serve another checkout of Townsquare (a folder holding its "
                                            "townsquare/ package): the baseline of a side-by-side run."),
        json_path: str = typer.Option(None, "--json", help="Write the results as JSON to this path."),
    ) -> None:
        """Many people at once against the real server: requests/s, p50/p99 per route, failures, and
        acknowledged writes missing afterwards."""
        from pathlib import Path

        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.bench import concurrency as cc
        from townsquare.bench.report import report
        from townsquare.bench.server import ServerProcess
        from townsquare.commands import fail

        if backend not in ("sqlite", "postgres"):
            raise fail("--backend is sqlite or postgres")
        console = Console()
        with cc.scratch_database(backend, postgres_url) as (url, data):
            console.print(f"seeding {people} people on {backend} ...")
            members, post_ids = cc.seed_people(url, people)
            if clients + 1 > len(members):
                raise fail("--people must be larger than --clients")
            server = ServerProcess(_server_env(url, data, workers, redis_url), workers=workers, source=server_src)
            try:
                base = server.start()
                with Progress(TextColumn("load"), BarColumn(), TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
                              TimeElapsedColumn(), console=console) as bar:
                    task = bar.add_task("load", total=seconds)
                    results = cc.run_load(base, members, post_ids, seconds=seconds, clients=clients,
                                          assistant=assistant, progress=lambda s: bar.update(task, completed=s))
            finally:
                server.stop()  # a clean stop: buffered events are written
            missing = cc.missing_writes(url, results)
            overall = cc.summary(results, missing)
        label = f"{backend}, {workers} worker(s)" + (f", server from {server_src}" if server_src else "")
        rows = [{"name": f"{label}, all routes", "metrics": {
            k: v for k, v in overall.items() if k != "failure_kinds"}, "failure_kinds": overall["failure_kinds"],
            "config": {"backend": backend, "workers": workers, "seconds": seconds, "clients": clients,
                       "people": people, "assistant": assistant, "server_src": server_src}}]
        rows += cc.route_rows(results)
        report(f"Concurrency ({backend}, {workers} worker(s), {clients} clients"
               + (" + assistant" if assistant else "") + f", {seconds:.0f} s)", rows,
               Path(json_path) if json_path else None, console)
        if overall["failure_kinds"]:
            console.print("failures: " + ", ".join(overall["failure_kinds"]))

    @bench.command("durability")
    def bench_durability(
        backend: str = typer.Option("sqlite", "--backend", help="sqlite or postgres (a fresh database either way)."),
        rounds: int = typer.Option(3, "--rounds", min=1, max=20, help="kill -9 rounds."),
        write_seconds: float = typer.Option(5.0, "--write-seconds", min=0.5, help="Writes before each kill."),
        clients: int = typer.Option(4, "--clients", min=1, max=32),
        workers: int = typer.Option(1, "--workers", min=1, max=16),
        postgres_url: str = typer.Option(DEFAULT_POSTGRES, "--postgres-url"),
        redis_url: str = typer.Option(DEFAULT_REDIS, "--redis-url"),
        json_path: str = typer.Option(None, "--json", help="Write the results as JSON to this path."),
    ) -> None:
        """kill -9 of the server during sustained writes, then restart: every acknowledged write must
        be there, and SQLite's integrity check must pass."""
        from pathlib import Path

        from rich.console import Console
        from rich.progress import track

        from townsquare.bench import concurrency as cc
        from townsquare.bench.report import report
        from townsquare.bench.server import ServerProcess
        from townsquare.commands import fail

        if backend not in ("sqlite", "postgres"):
            raise fail("--backend is sqlite or postgres")
        console = Console()
        rows = []
        with cc.scratch_database(backend, postgres_url) as (url, data):
            members, post_ids = cc.seed_people(url, max(clients, 10))
            server = ServerProcess(_server_env(url, data, workers, redis_url), workers=workers)
            server.start()
            try:
                for i in track(range(rounds), description="kill -9 rounds", console=console):
                    out = cc.durability_round(server, url, members, post_ids, write_seconds=write_seconds,
                                              clients=clients)
                    rows.append({"name": f"round {i + 1}", "metrics": out})
            finally:
                server.stop()
        report(f"Durability ({backend}, kill -9 x {rounds})", rows, Path(json_path) if json_path else None, console)
        if any(r["metrics"]["missing"] or not r["metrics"]["integrity_ok"] for r in rows):
            raise typer.Exit(1)
