"""CLI: ``townsquare chat``, ``townsquare bench tools``, ``townsquare bench llm``."""

from __future__ import annotations

import json
from pathlib import Path

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

    @bench.command("tools")
    def bench_tools(
        data: Path = typer.Option(Path("../shared/datasets/bfcl"), help="Folder with the BFCL v4 files."),
        limit: int = typer.Option(0, help="First N cases of each category (0 = all)."),
        every: int = typer.Option(1, help="Every N-th case of each category (a deterministic subset)."),
        offset: int = typer.Option(0, help="With --every: start at this case index."),
        systems: str = typer.Option("plain,naive,ours", help="Comma-separated: plain, naive, ours."),
        categories: str = typer.Option("simple_python,multiple,irrelevance", help="BFCL categories."),
        cache: Path = typer.Option(None, help="Per-case results (JSONL); a rerun resumes from it. "
                                            "Default: <data_dir>/bench/bfcl-cases.jsonl"),
        fresh: bool = typer.Option(False, help="Ignore cached per-case results."),
        json_out: Path = typer.Option(None, "--json", help="Write the result rows here."),
    ) -> None:
        """BFCL v4 tool calling: plain prompting vs naive constrained decoding vs our tool layer."""
        from rich.console import Console
        from rich.progress import Progress
        from rich.table import Table

        from townsquare.config import load_settings
        from townsquare.llm import bench_tools as bt
        from townsquare.llm.runtime import get_llm

        settings = load_settings()
        chosen = [s.strip() for s in systems.split(",") if s.strip()]
        cats = [c.strip() for c in categories.split(",") if c.strip()]
        bad = [s for s in chosen if s not in bt.SYSTEMS] + [c for c in cats if c not in bt.CATEGORIES]
        if bad:
            _fail(TownsquareError(f"unknown system or category: {', '.join(bad)}"))
        try:
            llm = get_llm("assistant", settings)
            if every < 1:
                raise TownsquareError("--every must be at least 1")
            cases = {c: bt.load_category(data, c, limit or None, every, offset) for c in cats}
        except TownsquareError as exc:
            _fail(exc)
        cache = cache or settings.data_dir / "bench" / "bfcl-cases.jsonl"
        cache.parent.mkdir(parents=True, exist_ok=True)
        key = f"{llm.name}|{settings.llm_tool_threshold}"
        done: dict[tuple, dict] = {}
        if cache.exists() and not fresh:
            for line in cache.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a stop
                if row.get("key") == key:
                    done[(row["system"], row["id"])] = row
        # System by system: each keeps its own prompt prefix in llama.cpp's cache.
        todo = [(s, c, case) for s in chosen for c in cats for case in cases[c]]
        results = []
        with Progress() as progress, cache.open("a") as out:
            task = progress.add_task("BFCL", total=len(todo))
            for system, category, case in todo:
                row = done.get((system, case["id"]))
                if row is None:
                    row = bt.run_case(llm, system, category, case) | {"key": key}
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                results.append(row)
                progress.advance(task)
        rows = bt.summarise(results, chosen, cats)
        table = Table(title=f"BFCL v4 tool calling, {llm.name}")
        table.add_column("system")
        for c in cats:
            table.add_column(f"{c} (n={len(cases[c])})", justify="right")
        table.add_column("median s/case", justify="right")
        for row in rows:
            m = row["metrics"]
            table.add_row(row["name"], *[f"{100 * m[f'{c}_acc']:.1f}%" for c in cats], f"{m['median_s_per_case']:.2f}")
        Console().print(table)
        if json_out:
            config = {"model": llm.name, "limit": limit or None, "every": every, "offset": offset, "threshold": settings.llm_tool_threshold,
                      "threads": getattr(llm.backend, "n_threads", None)}
            json_out.write_text(json.dumps([row | {"config": config} for row in rows], indent=2))

    @bench.command("tool-relevance")
    def bench_tool_relevance(json_out: Path = typer.Option(None, "--json", help="Write the result row here.")) -> None:
        """Calibrate the tool-relevance threshold on our own synthetic tool set (no benchmark data)."""
        from townsquare.llm.calibration import calibrate

        result = calibrate()
        for key, value in result.items():
            typer.echo(f"{key}: {value}")
        if json_out:
            json_out.write_text(json.dumps([{"name": "MiniLM tool relevance", "metrics": result}], indent=2))

    @bench.command("llm")
    def bench_llm(
        runs: int = typer.Option(8, help="Timed runs per system."),
        max_tokens: int = typer.Option(64, help="Tokens generated per run."),
        json_out: Path = typer.Option(None, "--json", help="Write the result rows here."),
    ) -> None:
        """Tokens/s and time to first token: our runtime vs llama-cpp-python called directly."""
        from rich.console import Console
        from rich.table import Table

        from townsquare.config import load_settings
        from townsquare.llm.bench_speed import run_speed_bench
        from townsquare.llm.runtime import get_llm

        settings = load_settings()
        try:
            llm = get_llm("assistant", settings)
            rows = run_speed_bench(llm, runs=runs, max_tokens=max_tokens)
        except TownsquareError as exc:
            _fail(exc)
        table = Table(title=f"LLM speed, {llm.name}, {runs} runs x {max_tokens} tokens (medians)")
        for column in ("system", "tokens/s", "TTFT ms", "total ms", "runtime prep ms"):
            table.add_column(column, justify="right" if column != "system" else "left")
        for row in rows:
            m = row["metrics"]
            table.add_row(row["name"], f"{m['tokens_per_s']:.1f}", f"{m['ttft_ms']:.1f}", f"{m['total_ms']:.0f}",
                          f"{m['prep_ms']:.2f}")
        Console().print(table)
        ours, direct = rows[1]["metrics"], rows[0]["metrics"]
        typer.echo(f"ratio tokens/s {ours['tokens_per_s'] / direct['tokens_per_s']:.3f}x, "
                   f"added TTFT {ours['ttft_ms'] - direct['ttft_ms']:+.1f} ms")
        if json_out:
            json_out.write_text(json.dumps(rows, indent=2))


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
