"""``townsquare bench tools`` (BFCL v4, see ``tools.py``), ``bench tool-relevance`` and ``bench llm``."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from townsquare.errors import TownsquareError


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _names(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def print_table(title: str, rows: list[dict], categories: list[str]) -> None:
    """Accuracy per category for each system and half, and our margin over naive constrained decoding."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in ("half", "system", *categories, "vs naive (points)", "median s/case", "errors"):
        table.add_column(column, justify="left" if column in ("half", "system") else "right")
    for row in rows:
        m = row["metrics"]
        accs = [f"{100 * m[f'{c}_acc']:.1f}% (n={m[f'{c}_n']})" if m[f"{c}_acc"] is not None else "-"
                for c in categories]
        margins = " / ".join(f"{m[f'{c}_vs_naive_points']:+.1f}" for c in categories if f"{c}_vs_naive_points" in m)
        table.add_row(row["half"], row["system"], *accs, margins or "-", f"{m['median_s_per_case'] or 0:.2f}",
                      str(m["errors"]))
    console = Console()
    if not console.is_terminal:
        console.width = max(console.width, 160)
    console.print(table)


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @bench.command("tools")
    def bench_tools(
        data: Path = typer.Option(None, help="Folder with the BFCL v4 files (BFCL_v4_*.json and possible_answer/)."),
        half: str = typer.Option("both", help="dev (tune on it), test (frozen) or both."),
        limit: int = typer.Option(0, help="First N cases of each category and half (0 = all)."),
        systems: str = typer.Option("plain,naive,ours", help="Comma-separated: plain, naive, ours."),
        grounders: str = typer.Option("all", help="Grounders our layer uses (comma-separated names, or all)."),
        ablate: str = typer.Option("", help="Also run our layer without each of these grounders (names or all)."),
        categories: str = typer.Option("simple_python,multiple,irrelevance", help="BFCL categories."),
        cache: Path = typer.Option(None, help="Per-case results (JSONL); a rerun resumes from it. "
                                            "Default: <data_dir>/bench/bfcl-cases.jsonl"),
        fresh: bool = typer.Option(False, help="Ignore cached per-case results."),
        list_grounders: bool = typer.Option(False, "--list-grounders", help="List the grounders and exit."),
        cached_only: bool = typer.Option(False, "--cached-only",
                                         help="Summarise the cached cases only, computing none (n shows how many)."),
        check: bool = typer.Option(True, "--check/--no-check",
                                   help="Check each test half against its frozen sha256 (--no-check: other data)."),
        json_out: Path = typer.Option(None, "--json", help="Write the result rows here."),
    ) -> None:
        """BFCL v4 tool calling per half: plain prompting vs naive constrained decoding vs our tool layer."""
        from rich.progress import Progress

        from townsquare.bench import tools as bt
        from townsquare.config import load_settings
        from townsquare.llm.grounders import GROUNDERS, parse_grounders
        from townsquare.llm.runtime import get_llm

        if list_grounders:
            for name, fn in GROUNDERS.items():
                typer.echo(f"{name:13} {' '.join((fn.__doc__ or '').split())}")
            return
        if data is None:
            _fail("--data is required: the folder with the BFCL v4 files")
        settings = load_settings()
        chosen, cats = _names(systems), _names(categories)
        bad = [s for s in chosen if s not in bt.RUNNERS] + [c for c in cats if c not in bt.CATEGORIES]
        if bad:
            _fail(f"unknown system or category: {', '.join(bad)}")
        if half not in ("dev", "test", "both"):
            _fail("--half is dev, test or both")
        halves = list(bt.HALVES) if half == "both" else [half]
        try:
            active = parse_grounders(grounders)
            ablated = list(GROUNDERS) if ablate.strip() == "all" else parse_grounders(ablate) if ablate.strip() else []
            cases = [case for c in cats for h in halves for case in bt.load_category(data, c, h, limit or None, check)]
            llm = get_llm("assistant", settings)
        except TownsquareError as exc:
            _fail(exc.message)
        names = bt.system_names(chosen, [name for name in ablated if name in active])
        keys = {s: bt.code_key(s, llm.name, settings.llm_tool_threshold, bt.grounders_for(s, active)) for s in names}
        cache = cache or settings.data_dir / "bench" / "bfcl-cases.jsonl"
        cache.parent.mkdir(parents=True, exist_ok=True)
        done: dict[tuple, dict] = {}
        if cache.exists() and not fresh:
            for line in cache.read_text().splitlines():
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut by a stop
                if row.get("key") == keys.get(row.get("system")):
                    done[(row["system"], row["id"])] = row
        # System by system (each keeps its own prompt prefix in llama.cpp's cache), the categories and
        # halves taken in turn, so a run stopped early has covered every cell alike.
        groups = [[case for case in cases if (case["id"].rsplit("_", 1)[0], case["half"]) == cell]
                  for cell in dict.fromkeys((case["id"].rsplit("_", 1)[0], case["half"]) for case in cases)]
        in_turn = [group[i] for i in range(max(map(len, groups), default=0)) for group in groups if i < len(group)]
        todo = [(s, case) for s in names for case in in_turn]
        if cached_only:
            todo = [(s, case) for s, case in todo if (s, case["id"]) in done]
        results = []
        with Progress() as progress, cache.open("a") as out:
            task = progress.add_task("BFCL", total=len(todo))
            for system, case in todo:
                row = done.get((system, case["id"]))
                if row is None:
                    row = bt.run_case(llm, system, case, bt.grounders_for(system, active)) | {"key": keys[system]}
                    out.write(json.dumps(row) + "\n")
                    out.flush()
                results.append(row | {"half": case["half"]})
                progress.advance(task)
        rows = bt.summarise(results, names, cats, halves)
        config = {"model": llm.name, "limit": limit or None, "cached_only": cached_only,
                  "threshold": settings.llm_tool_threshold,
                  "grounders": active, "threads": getattr(llm.backend, "n_threads", None),
                  "keys": keys, "test_half_sha256": {c: bt.TEST_HALF_SHA256[c] for c in cats} if check else None}
        print_table(f"BFCL v4 tool calling, {llm.name}", rows, cats)
        if json_out:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(json.dumps([row | {"config": config} for row in rows], indent=2))
            typer.echo(f"wrote {json_out}")

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

        from townsquare.bench.llm_speed import run_speed_bench
        from townsquare.config import load_settings
        from townsquare.llm.runtime import get_llm

        settings = load_settings()
        try:
            llm = get_llm("assistant", settings)
            rows = run_speed_bench(llm, runs=runs, max_tokens=max_tokens)
        except TownsquareError as exc:
            _fail(exc.message)
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
