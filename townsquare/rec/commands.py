"""CLI: ``townsquare bench rec`` (the public sequential-recommendation benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


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
    from townsquare.rec.app_commands import register_app_commands

    register_app_commands(app, bench)  # train, models, bench rec-app (the app's event log)

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

        from townsquare.errors import TownsquareError
        from townsquare.rec.bench import MODELS, run_bench
        from townsquare.rec.data import leave_one_out, read_interactions

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
        Console().print(table)
        if json_out:
            meta = {"data": str(data), "users": len(inter.users), "items": inter.n_items,
                    "interactions": inter.n_interactions, "seed": seed, "threads": threads}
            for r in rows:
                r["dataset"] = meta
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps(rows, indent=2))
