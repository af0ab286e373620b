"""Studio commands: ``townsquare studio autoreply`` (``bench studio`` is in ``townsquare/bench``)."""

from __future__ import annotations

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
