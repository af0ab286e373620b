"""MODEL_CARD.md, written next to every distilled checkpoint (in the spirit of Meta's model cards):
what the model is, what it learned from, how it was trained, and how it measures against its
teacher and against the model it started from."""

from __future__ import annotations

import json
from datetime import UTC, datetime


def _value(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    return str(v)


def metrics_table(columns: dict[str, dict]) -> str:
    """A markdown table: one row per metric, one column per model (``{"teacher": {...}, ...}``)."""
    names = [n for n in dict.fromkeys(k for m in columns.values() for k in m)
             if all(isinstance(m.get(n, 0.0), int | float) or m.get(n) is None for m in columns.values())]
    if not names:
        return "(no metrics)\n"
    lines = ["| metric | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for n in names:
        cells = ["-" if m.get(n) is None else _value(m[n]) for m in columns.values()]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def model_card(*, title: str, summary: str, model: dict, data: dict, training: dict, teacher: dict,
               metrics: dict[str, dict], notes: list[str] | None = None, usage: str = "") -> str:
    """The card's markdown. ``metrics``: per model (teacher, student before, student after...)."""
    def section(name: str, d: dict) -> str:
        return f"## {name}\n\n" + "".join(f"- **{k}**: {_value(v)}\n" for k, v in d.items()) + "\n"

    out = [f"# {title}\n\n", f"{summary}\n\n",
           f"Written {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `townsquare distill`.\n\n",
           section("Model", model), section("Training data", data), section("Training", training),
           section("Teacher", teacher), "## Metrics\n\n", metrics_table(metrics), "\n"]
    if usage:
        out.append(f"## How to use it\n\n{usage}\n\n")
    if notes:
        out.append("## Limitations and notes\n\n" + "".join(f"- {n}\n" for n in notes) + "\n")
    return "".join(out)
