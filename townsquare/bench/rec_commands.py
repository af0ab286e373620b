"""``townsquare bench rec`` (the public sequential-recommendation benchmarks) and ``townsquare bench
rec-app`` (the unified model on the app's own event log)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from townsquare.rec.commands import _fail, _json_safe, _open_db, results_table, wide_console


def _parse_overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


def parse_budget(text: str | None, models: list[str]) -> float | dict[str, float] | None:
    """``--max-minutes``: "12" (every learned model) or "sasrec=30,ours=10" (per model)."""
    if text is None or not text.strip():
        return None

    def minutes(value: str) -> float:
        try:
            return float(value)
        except ValueError:
            raise ValueError(f"--max-minutes expects minutes or MODEL=MINUTES,..., got {text!r}") from None

    if "=" not in text:
        return minutes(text)
    out = {}
    for part in text.split(","):
        name, _, value = part.partition("=")
        if name.strip() not in models:
            raise ValueError(f"--max-minutes names {name.strip()!r}, which is not among --models")
        out[name.strip()] = minutes(value)
    return out


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("rec")
    def bench_rec(
        data: Path = typer.Option(..., "--data", help="whitespace-separated 'user item' file, time order"),
        json_out: Path | None = typer.Option(None, "--json", help="write the result rows here"),
        epochs: int | None = typer.Option(None, help="maximum epochs per model (default: until early stop)"),
        max_minutes: str | None = typer.Option(None, help="wall-clock budget per learned model, minutes: "
                                               "'12', or per model 'sasrec=30,ours=10'"),
        models: str = typer.Option("pop,sasrec,ours", help="comma-separated: pop, sasrec, ours"),
        seed: int = typer.Option(0, help="random seed"),
        threads: int = typer.Option(2, help="torch CPU threads"),
        set_: list[str] = typer.Option([], "--set", help="override a hyper-parameter of ours: KEY=VALUE"),
    ) -> None:
        """Leave-one-out next-item benchmark: popularity vs SASRec+ vs the unified model."""
        import torch
        from rich.console import Console
        from rich.table import Table

        from townsquare.bench.rec import MODELS, run_bench
        from townsquare.errors import TownsquareError
        from townsquare.rec.interactions import leave_one_out, read_interactions

        console = Console(stderr=True)
        torch.set_num_threads(threads)
        names = [m.strip() for m in models.split(",") if m.strip()]
        try:
            unknown = [m for m in names if m not in MODELS]
            if unknown or not names:
                raise ValueError(f"unknown model(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(MODELS)}")
            overrides = _parse_overrides(set_)
            budget = parse_budget(max_minutes, names)
            inter = read_interactions(data)
            split = leave_one_out(inter)
            console.print(f"{data}: {len(inter.users)} users, {inter.n_items} items, {inter.n_interactions} "
                          f"interactions; {len(split.eval_users())} users evaluated")
            rows = run_bench(split, names, epochs=epochs, max_minutes=budget, seed=seed,
                             overrides=overrides, log=lambda s: console.log(s))
        except (TownsquareError, ValueError) as exc:
            typer.echo(f"error: {getattr(exc, 'message', str(exc))}", err=True)
            raise typer.Exit(1)
        table = Table(title=f"Sequential recommendation, {data.name} (leave-one-out, full ranking)")
        for col in ("model", "HR@10", "NDCG@10", "HR@50", "NDCG@50", "MRR", "valid NDCG@10", "train s",
                    "train CPU s", "epochs (best)"):
            table.add_column(col)
        for r in rows:
            m = r["metrics"]
            table.add_row(r["name"], *(f"{m[k]:.4f}" for k in ("HR@10", "NDCG@10", "HR@50", "NDCG@50", "MRR")),
                          f"{r['valid_metrics']['NDCG@10']:.4f}", f"{r['train_seconds']:.0f}",
                          f"{r['train_cpu_seconds']:.0f}" if "train_cpu_seconds" in r else "-",
                          f"{r['epochs']} ({r['best_epoch']})")
        wide_console().print(table)
        if json_out:
            meta = {"data": str(data), "users": len(inter.users), "items": inter.n_items,
                    "interactions": inter.n_interactions, "seed": seed, "threads": threads}
            for r in rows:
                r["dataset"] = meta
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(rows, indent=2))

    @bench.command("rec-app")
    def bench_rec_app(
        epochs: int = typer.Option(40, help="maximum epochs"),
        max_minutes: float = typer.Option(10.0, help="training budget, minutes"),
        threads: int = typer.Option(1, help="torch CPU threads (1 is fastest on a busy machine)"),
        seed: int = typer.Option(0, help="random seed"),
        valid_frac: float = typer.Option(0.1, help="share of the log (by time) held out for validation"),
        test_frac: float = typer.Option(0.2, help="share of the log (by time) held out as the test tail "
                                                  "(long enough for the 48 h two-way horizon)"),
        json_out: Path | None = typer.Option(None, "--json", help="write the result rows here"),
        timing_people: int = typer.Option(100, help="people to time the Scorer on (0 = skip)"),
    ) -> None:
        """Train on the event log's train split (nothing is registered) and compare with popularity and
        recent-from-followed on the held-out test tail: per-head AUC and recall@50."""
        import time

        import torch
        from rich.console import Console

        from townsquare.bench.rec_serving import measure_serving
        from townsquare.config import load_settings
        from townsquare.errors import TownsquareError
        from townsquare.rec.pipeline import (
            AppTrainConfig,
            default_embedder,
            evaluate_on_test,
            prepare,
            train_model,
        )

        console = Console(stderr=True)
        settings = load_settings()
        tc = AppTrainConfig(epochs=epochs, max_minutes=max_minutes, threads=threads, seed=seed,
                            valid_frac=valid_frac, test_frac=test_frac)
        torch.set_num_threads(threads)
        try:
            t0 = time.monotonic()
            db = _open_db(settings)
            embed, dim = default_embedder(settings)
            log = prepare(settings, db, tc, embed=embed, dim=dim, progress=True, log_fn=lambda s: console.log(s))
            prep_s = time.monotonic() - t0
            trained = train_model(log, tc, log_fn=lambda s: console.log(s))
            rows = evaluate_on_test(trained.model, log, tc.max_len)
        except TownsquareError as exc:
            _fail(exc.message)
        w = log.data.window
        wide_console().print(results_table(rows, f"rec-app: {w.n_people} people, {w.n_events} events, "
                                            f"test tail from {w.test_start:%Y-%m-%d %H:%M}"))
        meta = {"window": w.to_dict(), "train_seconds": round(trained.seconds, 1), "prepare_seconds": round(prep_s, 1),
                "epochs": trained.fit.epochs, "best_epoch": trained.fit.best_epoch, "threads": threads,
                "seed": seed, "n_params": sum(p.numel() for p in trained.model.parameters())}
        if timing_people > 0:
            people = [s.person for s in log.sequences][:timing_people]
            timing = measure_serving(trained.model, log.space, settings, db, embed, people)
            meta["serving"] = timing
            console.print(f"Scorer on 1 thread, {timing['people']} people, {timing['candidates']} candidates: "
                          f"encode p50/p99 {timing['encode_ms_p50']:.1f}/{timing['encode_ms_p99']:.1f} ms, "
                          f"retrieve {timing['retrieve_ms_p50']:.1f}/{timing['retrieve_ms_p99']:.1f} ms, "
                          f"score {timing['score_ms_p50']:.1f}/{timing['score_ms_p99']:.1f} ms, "
                          f"total {timing['total_ms_p50']:.1f}/{timing['total_ms_p99']:.1f} ms")
        console.print(json.dumps(meta))
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(_json_safe([{**r, "config": meta} for r in rows]), indent=2))
