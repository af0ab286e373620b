"""Assistant commands: ``townsquare assistant ask`` and ``townsquare bench assistant``."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    assistant = typer.Typer(help="The assistant.", no_args_is_help=True)
    app.add_typer(assistant, name="assistant")

    @assistant.command("ask")
    def ask(text: str = typer.Argument(..., help="What to ask."),
            as_handle: str = typer.Option("demo", "--as", help="Act as this account.")) -> None:
        """One turn with the assistant in the terminal, acting as an account (side effects are only proposed)."""
        from sqlalchemy import select

        from townsquare.assistant import agent
        from townsquare.config import load_settings
        from townsquare.errors import TownsquareError
        from townsquare.services import Services
        from townsquare.social.models import Account

        settings = load_settings()
        services = Services(settings)
        try:
            with services.session() as session:
                me = session.scalar(select(Account).where(Account.handle == as_handle.lstrip("@").lower()))
                if me is None:
                    typer.echo(f"error: no account @{as_handle}", err=True)
                    raise typer.Exit(1)
                runner = agent.Agent(services.llm("assistant"), services.shield(), settings, feed=services.feed)
                streamed = ""
                for step in runner.run_turn(session, me, agent.start_conversation(session, me), text):
                    if step.kind == "text_delta":
                        streamed += step.data["text"]
                        typer.echo(step.data["text"], nl=False)
                    elif step.kind == "text":
                        if streamed and step.data["text"].strip() == streamed.strip():
                            typer.echo("")
                        else:
                            typer.echo(("\n" if streamed else "") + step.data["text"])
                        streamed = ""
                    elif step.kind in ("tool_call", "confirmation", "shield", "error"):
                        typer.secho(f"[{step.kind}] {step.data}", fg="cyan", err=True)
        except TownsquareError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1)
        finally:
            services.close()
            services.db.dispose()

    @bench.command("assistant")
    def bench_assistant(
        systems: str = typer.Option("embedded,oracle", help="Comma-separated: embedded (the configured "
                                    "model), oracle (a harness check that calls the expected tool)."),
        people: int = typer.Option(150, help="Size of the seeded community."),
        seed: int = typer.Option(7, help="Seed of the community."),
        limit: int = typer.Option(None, help="Run only the first N tasks."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """Task success, confirmations, leaks and injections of the assistant (see docs/assistant.md)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.assistant import bench as assistant_bench
        from townsquare.benchkit import report

        chosen = tuple(s.strip() for s in systems.split(",") if s.strip())
        if not chosen or set(chosen) - {"embedded", "oracle"}:
            typer.echo("error: --systems takes embedded and/or oracle", err=True)
            raise typer.Exit(2)
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn()) as progress:
            results = assistant_bench.run(systems=chosen, people=people, seed=seed, progress=progress, limit=limit)
        rows = [r.row() for r in results]
        report("Assistant: tasks on the demo community", rows, json_path)
        for r in results:
            for o in r.outcomes:
                if not o.ok:
                    typer.echo(f"  {r.name}: {o.task.text!r}: {o.why}")
        if any(row["metrics"]["unconfirmed_side_effects"] or row["metrics"]["private_leaks"]
               or row["metrics"]["injection_actions"] for row in rows):
            typer.echo("HARD REQUIREMENT FAILED: side effects, leaks or injection actions above zero", err=True)
            raise typer.Exit(1)
