"""Operations benchmarks: ``townsquare bench train`` (training throughput in 1..N processes) and
``townsquare bench routes`` (server CPU time per request, route by route: ``bench/route_cost.py``).

``bench train``:
A synthetic community is seeded into a scratch data folder (``townsquare seed``), its text
embeddings are computed once (a first, untimed pass fills the cache), then ``townsquare train
--nproc N --no-refit`` runs for each N with the same fixed number of epochs (no early stopping: the
same work for each), on the same log. Reported per N: events in the log, epochs, training seconds,
events/s (events in the log x epochs / training seconds), the validation score at the best epoch
and the test AUC mean of the evaluated model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import typer


def _cli(args: list[str], env: dict, timeout_s: float) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "townsquare.cli", *args], env=env, capture_output=True,
                          text=True, timeout=timeout_s)


def run(nprocs: list[int], people: int, days: int, epochs: int, seed: int, max_minutes: float) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="townsquare-bench-train-") as tmp:
        env = {**os.environ, "TOWNSQUARE_DATA_DIR": tmp, "TOWNSQUARE_DATABASE_URL": "", "OMP_NUM_THREADS": "1",
               "TOWNSQUARE_SECRET_KEY": "bench"}
        for step in (["migrate"], ["seed", "--people", str(people), "--days", str(days), "--seed", str(seed)]):
            done = _cli(step, env, 3600)
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(step)} failed: {done.stderr.strip().splitlines()[-1:]}")
        # Untimed: computes and caches the text embeddings, so every timed run reads the same cache.
        _cli(["train", "--epochs", "1", "--no-refit", "--max-minutes", str(max_minutes)], env, 7200)
        for n in nprocs:
            stats = Path(tmp) / f"stats-{n}.json"
            start = time.monotonic()
            done = _cli(["train", "--nproc", str(n), "--epochs", str(epochs), "--no-refit",
                         "--max-minutes", str(max_minutes), "--json", str(Path(tmp) / f"rows-{n}.json")],
                        {**env, "TOWNSQUARE_TRAIN_STATS": str(stats)}, 7200)
            wall = time.monotonic() - start
            if done.returncode != 0 or not stats.exists():
                raise RuntimeError(f"train --nproc {n} failed: {done.stderr.strip()[-600:]}")
            info = json.loads(stats.read_text())
            test = json.loads((Path(tmp) / f"rows-{n}.json").read_text())[0]["metrics"]
            fit = info["fit"]
            events = int(info.get("n_events") or info["window"].get("n_events") or 0)
            rows.append({"name": f"{n} process{'es' if n > 1 else ''}", "metrics": {
                "events": events, "epochs": fit["epochs"], "train_s": fit["seconds"], "wall_s": round(wall, 1),
                "events/s": round(events * fit["epochs"] / max(fit["seconds"], 1e-9), 1),
                "valid_score": fit["best_valid_score"], "test_auc_mean": test.get("auc_mean")}})
    return rows


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("train")
    def bench_train(
        nproc: list[int] = typer.Option([1, 2], "--nproc", help="process counts to compare (repeat the option)"),
        people: int = typer.Option(300, help="people in the seeded community"),
        days: int = typer.Option(14, help="days of simulated history"),
        epochs: int = typer.Option(4, help="epochs of every run (fixed: the same work for each)"),
        seed: int = typer.Option(7, help="community seed"),
        max_minutes: float = typer.Option(30.0, help="time budget of each run, minutes"),
        json_path: Path = typer.Option(None, "--json", help="write the rows as JSON here"),
    ) -> None:
        """Training events/s and validation score of `townsquare train --nproc N` for each N."""
        from townsquare.benchkit import report

        try:
            rows = run(sorted(set(nproc)), people, days, epochs, seed, max_minutes)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1)
        report(f"Training the unified model: {people} people, {days} days, {epochs} epochs "
               f"({os.cpu_count()} CPU cores)", rows, json_path)

    @bench.command("routes")
    def bench_routes(
        requests: int = typer.Option(50, help="requests to each route"),
        json_path: Path = typer.Option(None, "--json", help="write the rows as JSON here"),
    ) -> None:
        """CPU time of the server per request, route by route, on the configured (seeded) database."""
        from townsquare.bench.route_cost import run as run_routes
        from townsquare.benchkit import report

        try:
            rows = run_routes(requests, {})
        except Exception as exc:  # no seeded database, server did not start, ...: one line
            typer.echo(f"error: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__} "
                       "(seed the database first: townsquare seed)", err=True)
            raise typer.Exit(1)
        report(f"Server CPU time per request ({requests} requests a route, one worker, "
               f"{os.cpu_count()} cores)", rows, json_path)
