"""``townsquare bench feed``, ``bench simulate`` and ``bench pymk``."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path

import typer


def _table(title: str, rows: list[dict]):
    from rich.table import Table

    keys: list[str] = []
    for row in rows:
        keys += [k for k in row["metrics"] if k not in keys]
    table = Table(title=title)
    table.add_column("system")
    for k in keys:
        table.add_column(k, justify="right")
    for row in rows:
        cells = []
        for k in keys:
            v = row["metrics"].get(k)
            cells.append("" if v is None else f"{v:.4f}" if isinstance(v, float) else str(v))
        table.add_row(row["name"], *cells)
    return table


def _write_json(path: Path | None, rows: list[dict]) -> None:
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2, default=str))


def _community(data_dir: Path, people: int, posts: int | None, days: int, seed: int, console):
    """Settings and database of the benchmark community, seeded on first use."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from townsquare.commands import fail
    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.db.migrate import upgrade

    settings = load_settings(data_dir=data_dir, database_url="")
    settings.ensure_dirs()
    upgrade(settings.sqlalchemy_url)
    db = Database(settings.sqlalchemy_url)
    try:
        from townsquare.sim.seed import SeedOptions, seed_community
    except ImportError:
        raise fail("seeding needs the sim pillar (townsquare.sim.seed)")
    with Progress(TextColumn("{task.description:<36}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=console) as progress:
        report = seed_community(settings, db, SeedOptions(people=people, posts=posts, days=days, seed=seed),
                                if_empty=True, progress=progress)
    if not report.skipped:
        console.print(f"seeded {data_dir}: " + ", ".join(f"{v} {k}" for k, v in report.counts.items()))
    return settings, db


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("pymk")
    def bench_pymk(
        data: Path = typer.Option(..., "--data",
                                  help="An undirected edge list, one 'a b' a line (SNAP ego-Facebook)."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
        seed: int = typer.Option(0, "--seed", help="Seed of the 10% test hold-out (and of training)."),
        epochs: int = typer.Option(20, "--epochs", help="Ranker epochs (best on validation is kept)."),
        splits: int = typer.Option(2, "--splits", help="Training hold-outs carved from the training edges."),
        train_holdout: float = typer.Option(0.1, "--train-holdout", help="Share of training edges each split holds out."),
        threads: int = typer.Option(2, "--threads", help="torch threads."),
        save_model: Path = typer.Option(None, "--save-model", help="Save the trained link model (.npz)."),
        embedding: bool = typer.Option(True, "--embedding/--no-embedding",
                                       help="Add the learned node-embedding features (embed.py)."),
    ) -> None:
        """People you may know on ego-Facebook: ours vs common neighbours, Adamic-Adar, resource allocation."""
        from rich.console import Console

        from townsquare.commands import fail

        if not data.exists():
            raise fail(f"no such file: {data}")
        import torch

        torch.set_num_threads(max(1, threads))
        from townsquare.bench import pymk as pymk_bench
        from townsquare.feed.linkpred import DEFAULT_EMBEDDING

        console = Console()
        with console.status("PYMK benchmark") as status:
            rows = pymk_bench.run(data, seed=seed, progress=lambda m: status.update(f"PYMK benchmark: {m}"),
                                  model_kwargs={"epochs": epochs, "splits": splits, "holdout": train_holdout,
                                                "embedding": DEFAULT_EMBEDDING if embedding else None},
                                  save_model=save_model)
        console.print(_table(f"PYMK on {data.name} (seed {seed})", rows))
        _write_json(json_path, rows)

    @bench.command("feed")
    def bench_feed(
        data_dir: Path = typer.Option(Path("./bench-data/feed"), "--data-dir",
                                      help="A separate data folder; seeded on first use."),
        people: int = typer.Option(10_000, "--people"),
        posts: int = typer.Option(200_000, "--posts"),
        days: int = typer.Option(14, "--days", help="Days of seeded history."),
        viewers: int = typer.Option(200, "--viewers", help="Feeds timed in process."),
        requests: int = typer.Option(200, "--requests", help="HTTP requests for throughput."),
        concurrency: int = typer.Option(4, "--concurrency"),
        seed: int = typer.Option(7, "--seed"),
        heuristic: bool = typer.Option(False, "--heuristic",
                                       help="Rank in process with the heuristics even when a model is trained."),
        json_path: Path = typer.Option(None, "--json"),
    ) -> None:
        """Feed latency (p50/p99 of a 30-item page, in process) and HTTP throughput."""
        from rich.console import Console
        from rich.progress import Progress

        from townsquare.bench import feed as feedbench

        console = Console()
        settings, db = _community(data_dir, people, posts, days, seed, console)
        ids = feedbench.sample_viewers(db, viewers, seed)
        with Progress(console=console) as progress:
            task = progress.add_task("feed pages", total=len(ids))
            rows = feedbench.latency(settings, db, ids, progress=lambda k: progress.update(task, completed=k),
                                     heuristic=heuristic)
        console.print("HTTP throughput ...")
        rows.append(feedbench.http_throughput(settings, db, ids, requests, concurrency))
        for row in rows:
            row.setdefault("config", {}).update(people=people, posts=posts)
        console.print(_table(f"Feed latency ({people} people, {posts} posts)", rows))
        _write_json(json_path, rows)

    @bench.command("simulate")
    def bench_simulate(
        data_dir: Path = typer.Option(Path("./bench-data/simulate"), "--data-dir",
                                      help="The seeded community (seeded on first use); each system runs on a copy."),
        people: int = typer.Option(1000, "--people"),
        posts: int = typer.Option(None, "--posts"),
        seed_days: int = typer.Option(14, "--seed-days", help="Days of seeded history."),
        days: int = typer.Option(30, "--days", help="Simulated days per system."),
        systems: str = typer.Option("chronological,heuristic,model", "--systems"),
        seed: int = typer.Option(7, "--seed"),
        retrain_every: int = typer.Option(0, "--retrain-every",
                                          help="Model system: fine-tune the model every N simulated days on the "
                                               "log so far (0: trained once, before the first day)."),
        retrain_epochs: int = typer.Option(2, "--retrain-epochs", help="Epochs of each scheduled fine-tune."),
        retrain_window: float = typer.Option(14.0, "--retrain-window",
                                             help="Days of the log each scheduled fine-tune learns from."),
        json_path: Path = typer.Option(None, "--json"),
    ) -> None:
        """Simulated people scroll each system's feed for D days; engagement, hides, follows, retention."""
        from rich.console import Console
        from rich.progress import Progress

        from townsquare.bench import feed as feedbench

        console = Console()
        settings, db = _community(data_dir, people, posts, seed_days, seed, console)
        db.dispose()
        rows = []
        if retrain_every < 0 or retrain_epochs < 1 or retrain_window <= 0:
            raise typer.BadParameter("--retrain-every >= 0, --retrain-epochs >= 1, --retrain-window > 0")
        retrain = feedbench.Retraining(retrain_every, retrain_epochs, retrain_window) if retrain_every else None
        days_file = json_path.with_suffix(".days.jsonl") if json_path else None
        if days_file:
            days_file.parent.mkdir(parents=True, exist_ok=True)
            days_file.write_text("")

        def day_line(system: str, day: int, metrics: dict) -> None:
            """One line per system and day (totals so far) in ``<json>.days.jsonl``."""
            if days_file:
                with days_file.open("a") as f:
                    f.write(json.dumps({"name": system, "day": day, "metrics": metrics}) + "\n")

        with Progress(console=console) as progress:
            for system in [s.strip() for s in systems.split(",") if s.strip()]:
                task = progress.add_task(system, total=days)
                copy = feedbench._copy_community(settings, data_dir.parent / f"{data_dir.name}-run-{system}")
                rows.append(feedbench.simulate_system(system, copy, days, seed,
                                                      progress=lambda d, t=task: progress.update(t, completed=d),
                                                      on_day=partial(day_line, system), retrain=retrain,
                                                      log=console.log))
        console.print(_table(f"Simulated {days} days ({people} people)", rows))
        _write_json(json_path, rows)
