"""Assistant commands: ``townsquare assistant ask`` (``bench assistant`` lives in ``townsquare/bench/``)."""

from __future__ import annotations

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
                    elif describe_step(step.kind, step.data):
                        typer.secho(describe_step(step.kind, step.data), fg="cyan", err=True)
        except TownsquareError as exc:
            typer.echo(f"error: {exc.message}", err=True)
            raise typer.Exit(1)
        finally:
            services.close()
            services.db.dispose()


def describe_step(kind: str, data: dict) -> str | None:
    """One readable line for a step of the turn that is not the answer itself (None: nothing to say)."""
    if kind == "tool_call":
        arguments = ", ".join(f"{k}={v!r}" for k, v in (data.get("arguments") or {}).items())
        return f"-> {data.get('tool')}({arguments})"
    if kind == "tool_result" and not data.get("ok", True):
        return f"   {data.get('tool')} failed: {data.get('error')}"
    if kind == "confirmation":
        return f"?  waiting for your confirmation: {data.get('summary') or data.get('tool')} (confirm it in the app)"
    if kind == "shield" and not data.get("safe", True):
        categories = ", ".join(data.get("categories") or []) or "unsafe"
        return f"!  the safety shield stopped the {data.get('stage')}: {categories}"
    if kind == "error":
        return f"!  {data.get('message')}"
    return None
