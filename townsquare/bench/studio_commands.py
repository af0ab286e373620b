"""``townsquare bench studio``: creator AIs on hand-written probes (see ``bench/studio.py``)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("studio")
    def bench_studio(
        split: str = typer.Option("dev", "--split", help="dev (tune on it), test (frozen), or regression."),
        systems: str = typer.Option("verified,legacy", "--systems", "--modes",
                                    help="Comma-separated: verified, model, legacy (the unchecked baseline)."),
        people: int = typer.Option(0, help="Seed a community of this size around the creators (0: none)."),
        seed: int = typer.Option(7, help="Seed of the community."),
        limit: int = typer.Option(None, help="Only the first N probes (a quick look)."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """Creator AIs: grounding with verbatim quotes, fabricated quotes, declines and leaks (docs/studio.md)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.bench import studio as studio_bench

        chosen = tuple(m.strip() for m in systems.split(",") if m.strip())
        unknown = set(chosen) - set(studio_bench.SYSTEMS)
        if unknown or not chosen:
            typer.echo(f"error: unknown system(s) {', '.join(sorted(unknown)) or '(none)'}; "
                       f"use {','.join(studio_bench.SYSTEMS)}", err=True)
            raise typer.Exit(2)
        if split not in studio_bench.SPLITS:
            typer.echo(f"error: unknown split {split!r}; use {', '.join(studio_bench.SPLITS)}", err=True)
            raise typer.Exit(2)
        try:
            studio_bench.load(split)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as progress:
            results = studio_bench.run(split=split, systems=chosen, people=people, seed=seed, progress=progress,
                                       limit=limit)
        _report(f"Creator AI ({split}): grounding, fabricated quotes, declines, leaks", [r.row() for r in results],
                json_path)
        for r in results:
            for failure in r.failures[:15]:
                typer.echo(f"  {r.name}: {failure}")
        checked = [r for r in results if r.name != "legacy"]
        if any(r.counts["leaks"] or r.counts["instruction_leaks"] or r.counts["fabricated_quotes"] for r in checked):
            typer.echo("HARD REQUIREMENT FAILED: a leak or a fabricated quote", err=True)
            raise typer.Exit(1)


def _report(title: str, rows: list[dict], json_path: Path | None) -> None:
    """The rows as a table with one line per metric (they are many), and as JSON like every bench."""
    import json

    from rich.console import Console
    from rich.table import Table

    from townsquare.bench.report import _fmt

    table = Table(title=title)
    table.add_column("metric")
    for row in rows:
        table.add_column(row["name"], justify="right")
    for metric in dict.fromkeys(k for row in rows for k in row["metrics"]):
        table.add_row(metric, *[_fmt(row["metrics"].get(metric, "")) for row in rows])
    Console().print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows, indent=2, default=str))
        typer.echo(f"wrote {json_path}")
