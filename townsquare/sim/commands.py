"""``townsquare seed``: fill the database with the synthetic demo community."""

from __future__ import annotations

from datetime import datetime

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def seed(
        people: int = typer.Option(300, "--people", help="How many people."),
        posts: int = typer.Option(None, "--posts", help="How many posts (default: 10 per person)."),
        days: int = typer.Option(14, "--days", help="Days of simulated history."),
        seed: int = typer.Option(7, "--seed", help="Random seed: the same seed gives the same community."),
        anchor: str = typer.Option(None, "--anchor",
                                   help="End of the history, ISO-8601 UTC (default: now, to the hour)."),
        if_empty: bool = typer.Option(False, "--if-empty", help="Do nothing if the database has accounts."),
        reset: bool = typer.Option(False, "--reset", help="Delete everything in the database first."),
    ) -> None:
        """Seed a believable demo community: people, follows, posts with photos and videos, comments,
        messages, and days of simulated activity in the event log."""
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        from sqlalchemy.exc import SQLAlchemyError

        from townsquare.commands import _settings, fail
        from townsquare.db.engine import Database
        from townsquare.db.migrate import upgrade
        from townsquare.errors import InvalidInput
        from townsquare.sim.seed import (
            ADMIN_HANDLE,
            ADMIN_PASSWORD,
            DEMO_HANDLE,
            DEMO_PASSWORD,
            SeedOptions,
            seed_community,
        )

        try:
            when = datetime.fromisoformat(anchor) if anchor else None
        except ValueError:
            raise fail(f"--anchor {anchor!r} is not an ISO-8601 date", code=2)
        settings = _settings()
        console = Console()
        options = SeedOptions(people=people, posts=posts, days=days, seed=seed, anchor=when)
        db = None
        try:
            upgrade(settings.sqlalchemy_url)
            db = Database(settings.sqlalchemy_url)
            with Progress(TextColumn("{task.description:<36}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                          TimeElapsedColumn(), console=console) as progress:
                report = seed_community(settings, db, options, if_empty=if_empty, reset=reset, progress=progress)
        except InvalidInput as exc:
            raise fail(str(exc))
        except SQLAlchemyError as exc:
            raise fail(f"database error: {str(exc).splitlines()[0]}")
        finally:
            if db is not None:
                db.dispose()
        if report.skipped:
            console.print("The database already has accounts: nothing seeded (--if-empty).")
            return
        counts = ", ".join(f"{v} {k}" for k, v in report.counts.items())
        console.print(f"Seeded in {report.seconds:.1f}s: {counts}.")
        console.print(f"Sign in at http://{settings.host}:{settings.port}/ as [bold]{DEMO_HANDLE}[/bold] / "
                      f"[bold]{DEMO_PASSWORD}[/bold] (admin: {ADMIN_HANDLE} / {ADMIN_PASSWORD}). "
                      f"Every seeded person's password is {DEMO_PASSWORD}.")
