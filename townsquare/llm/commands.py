"""CLI: ``townsquare chat`` and ``townsquare models pull`` (the LLM benchmarks are in townsquare/bench)."""

from __future__ import annotations

import typer

from townsquare.errors import TownsquareError


def _fail(exc: TownsquareError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(1)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def chat(
        message: str = typer.Option("", "--message", "-m", help="Send one message, print the reply, exit."),
        role: str = typer.Option("assistant", help="Model role: assistant, creator, guard."),
        system: str = typer.Option("", help="System prompt."),
        max_tokens: int = typer.Option(512, help="Longest reply, in tokens."),
        temperature: float = typer.Option(0.7, help="Sampling temperature (0 = greedy)."),
    ) -> None:
        """Talk to the configured model in the terminal (streaming). Type /exit or Ctrl-D to leave."""
        from townsquare.llm.runtime import get_llm

        try:
            llm = get_llm(role)
        except TownsquareError as exc:
            _fail(exc)
        history: list[dict] = [{"role": "system", "content": system}] if system else []
        interactive = not message
        if interactive:
            typer.echo(f"Chatting with {llm.name} ({llm.backend.backend}). /exit to leave, /reset to forget.")
        while True:
            if interactive:
                try:
                    text = input("> ").strip()
                except (EOFError, KeyboardInterrupt):
                    typer.echo()
                    break
                if text in ("/exit", "/quit"):
                    break
                if text == "/reset":
                    history = history[:1] if system else []
                    continue
                if not text:
                    continue
            else:
                text = message
            history.append({"role": "user", "content": text})
            reply = []
            try:
                for piece in llm.chat(history, max_tokens=max_tokens, temperature=temperature, stream=True):
                    reply.append(piece)
                    typer.echo(piece, nl=False)
            except TownsquareError as exc:
                history.pop()
                if not interactive:
                    typer.echo()
                    _fail(exc)
                typer.echo(f"\nerror: {exc.message}", err=True)
                continue
            except KeyboardInterrupt:
                typer.echo(" [stopped]")
            typer.echo()
            history.append({"role": "assistant", "content": "".join(reply)})
            if not interactive:
                break


def register_pull(models: typer.Typer) -> None:
    """``townsquare models pull``: added to the ``models`` group (see rec/commands.py)."""

    @models.command("pull")
    def models_pull(
        source: str = typer.Argument(..., help="A Hugging Face repository (owner/name) or a URL of a .gguf file."),
        filename: str = typer.Argument(None, help="The .gguf file in the repository."),
        sha256: str = typer.Option(None, "--sha256", help="Expected sha256 (else the one the hub announces)."),
        endpoint: str = typer.Option(None, "--endpoint", help="The hub's address (default https://huggingface.co, "
                                     "or $HF_ENDPOINT)."),
    ) -> None:
        """Download a bigger language model (GGUF) into the data folder: progress bar, resumable, checked.
        Then pick it per role, e.g. TOWNSQUARE_ASSISTANT_MODEL=<the printed path>."""
        import os

        from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

        from townsquare.commands import _settings
        from townsquare.llm.download import DEFAULT_ENDPOINT, llm_models_dir, pull, resolve

        settings = _settings()
        try:
            url, name = resolve(source, filename, endpoint or os.environ.get("HF_ENDPOINT") or DEFAULT_ENDPOINT)
            with Progress("{task.description}", BarColumn(), DownloadColumn(), TransferSpeedColumn()) as bar:
                task = bar.add_task(name, total=None)
                path = pull(url, name, llm_models_dir(settings), sha256=sha256, token=os.environ.get("HF_TOKEN"),
                            progress=lambda done, total: bar.update(task, completed=done, total=total))
        except TownsquareError as exc:
            _fail(exc)
        typer.echo(f"saved {path}")
        typer.echo(f"use it: TOWNSQUARE_ASSISTANT_MODEL={path} (or TOWNSQUARE_CREATOR_MODEL, TOWNSQUARE_LLM_MODEL_PATH)")
