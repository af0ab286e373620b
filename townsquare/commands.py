"""Core commands: serve, migrate, seed, user."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the installed version."""
        from townsquare import __version__

        typer.echo(__version__)
