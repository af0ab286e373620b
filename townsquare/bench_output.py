"""How every benchmark reports: a Rich table on the terminal and, on request, the same rows as JSON."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def report(title: str, rows: list[dict], json_path: Path | None = None, console: Console | None = None) -> None:
    """``rows``: ``[{"name": ..., "metrics": {...}, ...}]`` — one per system compared."""
    console = console or Console()
    metrics = list(dict.fromkeys(k for row in rows for k in row.get("metrics", {})))
    table = Table(title=title)
    table.add_column("system")
    for name in metrics:
        table.add_column(name, justify="right")
    for row in rows:
        table.add_row(row["name"], *[_fmt(row["metrics"].get(m, "")) for m in metrics])
    console.print(table)
    if json_path is not None:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps(rows, indent=2, default=str))
        console.print(f"wrote {json_path}")
