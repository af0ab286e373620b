"""What benchmarks share: a scratch database with the configured models, and the report (a Rich
table on the terminal and, on request, the same rows as JSON)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table


@contextmanager
def scratch_database(prefix: str, base=None) -> Iterator[tuple]:
    """``(settings, db)`` for a migrated, empty SQLite database in a temporary folder, with the model
    settings of ``base`` (the configured ones by default). Everything is removed afterwards."""
    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.db.migrate import upgrade

    base = base or load_settings()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        # Everything as configured (models, runtime limits, tool mode), but a database of its own.
        settings = dataclasses.replace(base, data_dir=Path(tmp), database_url="", secret_key="bench")
        settings.ensure_dirs()
        upgrade(settings.sqlalchemy_url)
        db = Database(settings.sqlalchemy_url)
        try:
            yield settings, db
        finally:
            db.dispose()


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 10 else f"{value:.1f}"
    return str(value)


def report(title: str, rows: list[dict], json_path: Path | None = None, console: Console | None = None) -> None:
    """``rows``: ``[{"name": ..., "metrics": {...}, ...}]`` — one per system compared."""
    console = console or Console()
    if not console.is_terminal:  # a log or a pipe: never cut the table to 80 columns
        console.width = max(console.width, 200)
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
