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
        # Where to sign in is printed by `townsquare serve`, which knows its address.
        console.print(f"Demo sign-in: [bold]{DEMO_HANDLE}[/bold] / [bold]{DEMO_PASSWORD}[/bold] (admin: "
                      f"{ADMIN_HANDLE} / {ADMIN_PASSWORD}). Every seeded person's password is {DEMO_PASSWORD}.")


def demo_sign_ins(db) -> list[tuple[str, str]]:
    """The seeded demo and admin accounts whose seeded password still works, as (handle, password):
    what `townsquare serve` prints on every start, and nothing once the passwords were changed."""
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError
    from sqlalchemy import select

    from townsquare.sim.seed import ADMIN_HANDLE, ADMIN_PASSWORD, DEMO_HANDLE, DEMO_PASSWORD
    from townsquare.social.models import Account

    found = []
    with db.session() as session:
        hashes = dict(session.execute(select(Account.handle, Account.password_hash).where(
            Account.handle.in_([DEMO_HANDLE, ADMIN_HANDLE]), Account.status == "active")).all())
    for handle, password in ((DEMO_HANDLE, DEMO_PASSWORD), (ADMIN_HANDLE, ADMIN_PASSWORD)):
        try:
            if hashes.get(handle) and PasswordHasher().verify(hashes[handle], password):
                found.append((handle, password))
        except (VerificationError, InvalidHashError):
            pass
    return found
