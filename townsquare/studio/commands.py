"""Studio commands: ``townsquare studio autoreply`` and ``townsquare bench studio``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    studio = typer.Typer(help="Creator AI studio.", no_args_is_help=True)
    app.add_typer(studio, name="studio")

    @studio.command("autoreply")
    def autoreply_command(
        once: bool = typer.Option(False, "--once", help="Answer what is pending once, then stop."),
        every: float = typer.Option(30.0, "--every", help="Seconds between passes when running continuously."),
    ) -> None:
        """Let creator AIs answer the comments and messages their creators opted in to."""
        import time

        from townsquare.config import load_settings
        from townsquare.services import Services
        from townsquare.studio.autoreply import process_pending

        settings = load_settings()
        services = Services(settings)
        llm, shield = services.llm("creator"), services.shield()
        try:
            while True:
                with services.session() as session:
                    done = process_pending(session, llm=llm, shield=shield, settings=settings)
                typer.echo(f"answered {done}")
                if once:
                    return
                time.sleep(every)
        finally:
            services.close()

    @bench.command("studio")
    def bench_studio(
        people: int = typer.Option(120, help="Size of the seeded community around the creator."),
        seed: int = typer.Option(7, help="Seed of the community."),
        modes: str = typer.Option("extractive,model", help="Comma-separated: extractive, model."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """Grounding accuracy, refusals on avoided topics and leaks of a creator AI (see docs/studio.md)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.benchkit import report
        from townsquare.studio import bench as studio_bench

        chosen = tuple(m.strip() for m in modes.split(",") if m.strip())
        unknown = set(chosen) - {"extractive", "model"}
        if unknown or not chosen:
            typer.echo(f"error: unknown mode(s) {', '.join(sorted(unknown)) or '(none)'}; use extractive,model",
                       err=True)
            raise typer.Exit(2)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as progress:
            results = studio_bench.run(people=people, seed=seed, modes=chosen, progress=progress)
        report("Creator AI: grounding, refusals, leaks", [r.row() for r in results], json_path)
        for r in results:
            for failure in r.failures[:10]:
                typer.echo(f"  {r.name}: {failure}")
        if any(r.leaks for r in results):
            typer.echo("LEAKS FOUND: a hard requirement failed", err=True)
            raise typer.Exit(1)
