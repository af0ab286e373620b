"""``townsquare bench assistant`` (see ``townsquare/bench/assistant.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _csv(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("assistant")
    def bench_assistant(
        split: str = typer.Option("dev", help="dev (tune on it) or test (the frozen half: report only)."),
        suite: str = typer.Option("tasks", help="tasks (people-written) or regression (the old template set)."),
        systems: str = typer.Option("model,oracle", help="Comma-separated: model (the configured assistant "
                                    "model, or each --model), oracle (the expected calls through the tools: "
                                    "a harness check, must be 100%), oracle-agent (a scripted model in the "
                                    "app's agent loop: the most the loop allows)."),
        model: list[str] = typer.Option(None, "--model", help="A .gguf path (embedded) or a remote model name; "
                                        "repeat to compare models side by side."),
        people: int = typer.Option(150, help="Size of the seeded community."),
        seed: int = typer.Option(7, help="Seed of the community."),
        lang: str = typer.Option(None, help="Only these languages, comma-separated: en, es, bn."),
        kind: str = typer.Option(None, help="Only these kinds, comma-separated (read, action, multi, chain, "
                                 "none, privacy, injection)."),
        task: str = typer.Option(None, help="Only tasks whose id starts with one of these, comma-separated."),
        limit: int = typer.Option(None, help="Run only the first N tasks."),
        resume: Path = typer.Option(None, help="Keep each outcome in this JSON-lines file and skip the tasks "
                                    "already there: a stopped run picks up where it stopped."),
        failures: int = typer.Option(40, help="Print at most this many failed tasks per system (0: none)."),
        json_path: Path = typer.Option(None, "--json", help="Write the rows as JSON here."),
    ) -> None:
        """People-written tasks for the assistant: fully right by language, kind, style and tool;
        unconfirmed side effects, private leaks and injection actions must be 0 (docs/assistant.md)."""
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        from townsquare.bench import assistant as harness
        from townsquare.bench.assistant_report import (
            hard_failures,
            print_breakdowns,
            print_failures,
            print_summary,
        )
        from townsquare.bench.assistant_tasks import TaskFileError
        from townsquare.bench.assistant_world import WorldError
        from townsquare.commands import fail

        chosen = _csv(systems)
        if not chosen or set(chosen) - {"model", "embedded", "oracle", "oracle-agent"}:
            raise fail("--systems takes model, oracle and/or oracle-agent")
        if suite not in harness.SUITES:
            raise fail("--suite is tasks or regression")
        if split not in ("dev", "test"):
            raise fail("--split is dev or test")
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn()) as progress:
                results = harness.run(suite=suite, split=split, systems=chosen, models=tuple(model or ()),
                                      people=people, seed=seed, progress=progress, limit=limit,
                                      langs=_csv(lang), kinds=_csv(kind), ids=_csv(task), resume=resume)
        except (TaskFileError, WorldError, ValueError) as exc:
            raise fail(str(exc))
        rows = [r.row() for r in results]
        if suite == "tasks" and split == "test":
            # The frozen half is reported in aggregate only: which of its tasks failed, and how,
            # is never printed or written (nobody tunes on it, not even by reading its failures).
            for row in rows:
                row["failures"] = len(row["failures"])
            failures = 0
        title = f"Assistant: {suite}" + (f", {split} half" if suite == "tasks" else "") + f" ({people} people)"
        print_summary(title, rows)
        if json_path is not None:
            json_path.parent.mkdir(parents=True, exist_ok=True)
            json_path.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
            typer.echo(f"wrote {json_path}")
        print_breakdowns(rows)
        if failures:
            print_failures(rows, limit=failures)
        broken = hard_failures(rows)
        if broken:
            typer.echo(f"HARD REQUIREMENT FAILED ({', '.join(broken)}): side effects without confirmation, "
                       "leaks or injection actions above zero", err=True)
            raise typer.Exit(1)

    @bench.command("assistant-stream")
    def bench_assistant_stream(
        repeats: int = typer.Option(1, help="Ask each prompt this many times."),
        people: int = typer.Option(30, help="Size of the seeded community."),
        json_path: Path = typer.Option(None, "--json", help="Write the row as JSON here."),
    ) -> None:
        """Streaming through /v1: the first token at the client vs the model's own first token (goal:
        within 1 s). A real server in this process, the configured assistant model."""
        from rich.progress import Progress

        from townsquare.bench.assistant_stream import PROMPTS, run
        from townsquare.bench.report import report

        with Progress() as progress:
            bar = progress.add_task("streamed answers", total=len(PROMPTS) * repeats)
            row = run(repeats=repeats, people=people, progress=lambda: progress.advance(bar))
        for sample in row["samples"]:
            typer.echo(f"  {sample['prompt'][:40]!r}: model {sample['model_first_token_s']}, "
                       f"client {sample['client_first_token_s']}, gap {sample['gap_s']}")
        report("Assistant streaming through /v1 (seconds)", [row], json_path)

