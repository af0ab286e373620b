"""``townsquare bench <name> --plot FILE.png``: a picture of what the benchmark wrote as JSON.

Every bench command that writes ``--json`` gets ``--plot`` (``add_plot_option``, applied to the
``bench`` group in ``cli.py``): after the command has run, its JSON is read back and each numeric
column is drawn as one panel of horizontal bars, one bar per row (system, variant, route...). With
``--plot`` and no ``--json``, the JSON goes to a temporary file first.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import typer

MAX_PANELS = 12
LABEL_KEYS = ("name", "system", "label", "variant", "route", "model", "config", "kind", "split", "mode", "backend",
              "workers", "scenario", "language", "category", "case", "id")


def _flatten(row: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def _rows(data: Any) -> list[dict]:
    """The table in a benchmark's JSON: a list of row objects, or the first such list inside an object."""
    if isinstance(data, list) and data and all(isinstance(r, dict) for r in data):
        return data
    if isinstance(data, dict):
        for key in ("rows", "results", "systems", "items"):
            if isinstance(data.get(key), list):
                return _rows(data[key])
        for value in data.values():
            found = _rows(value)
            if found:
                return found
        if data and all(isinstance(v, dict) for v in data.values()):  # {"system": {...metrics}}
            return [{"name": k, **v} for k, v in data.items()]
    return []


def _label(row: dict, flat: dict, index: int) -> str:
    parts = [str(row[k]) for k in LABEL_KEYS if k in row and isinstance(row[k], str | int) and not isinstance(row[k], bool)]
    return " / ".join(parts[:2]) if parts else f"row {index + 1}"


def numeric_table(data: Any) -> tuple[list[str], dict[str, list[float | None]]]:
    """(row labels, {column: values}) of the numeric columns (None where a row has no number)."""
    rows = _rows(data)
    flats = [_flatten(r) for r in rows]
    labels = [_label(r, f, i) for i, (r, f) in enumerate(zip(rows, flats, strict=True))]
    columns: dict[str, list[float | None]] = {}
    for key in dict.fromkeys(k for f in flats for k in f):
        values = [f.get(key) for f in flats]
        numbers = [float(v) if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) else None
                   for v in values]
        present = [v for v in numbers if v is not None]
        # Drawn: what tells the rows apart; a value every row shares (a seed, a size) is left out.
        if present and (len(rows) == 1 or len(set(present)) > 1 or len(present) < len(rows)):
            columns[key] = numbers
    return labels, columns


def plot_json(json_file: Path, png_file: Path, title: str) -> Path:
    """Draw ``json_file``'s table into ``png_file``; ValueError when it has nothing numeric to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels, columns = numeric_table(json.loads(Path(json_file).read_text()))
    if not columns:
        raise ValueError(f"{json_file} has no numeric columns to plot")
    names = list(columns)[:MAX_PANELS]
    cols = min(3, len(names))
    rows = math.ceil(len(names) / cols)
    height = max(1.6, 0.32 * len(labels) + 0.9)
    fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, height * rows), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        values = [v if v is not None else 0.0 for v in columns[name]]
        missing = [v is None for v in columns[name]]
        bars = ax.barh(range(len(labels)), values, color=["#c7c7d1" if m else "#4f46e5" for m in missing])
        ax.set_yticks(range(len(labels)), labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(name, fontsize=9)
        ax.tick_params(axis="x", labelsize=8)
        for bar, value, gap in zip(bars, values, missing, strict=True):
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, " –" if gap else f" {value:.4g}",
                    va="center", fontsize=7)
        ax.margins(x=0.18)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    png_file = Path(png_file)
    png_file.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(png_file, dpi=110)
    plt.close(fig)
    return png_file


def _json_parameter(callback) -> str | None:
    for name, param in inspect.signature(callback).parameters.items():
        default = param.default
        if isinstance(default, typer.models.OptionInfo) and "--json" in (default.param_decls or ()):
            return name
    return None


def add_plot_option(name: str, callback):
    """``callback`` with a ``--plot PNG`` option, when it has ``--json`` (else unchanged)."""
    json_param = _json_parameter(callback)
    if json_param is None:
        return callback
    signature = inspect.signature(callback)

    @functools.wraps(callback)
    def with_plot(*args, plot: Path | None = None, **kwargs):
        temp = None
        if plot is not None and kwargs.get(json_param) is None:
            temp = tempfile.TemporaryDirectory()
            kwargs[json_param] = Path(temp.name) / "rows.json"
        try:
            result = callback(*args, **kwargs)
            if plot is not None:
                try:
                    written = plot_json(Path(kwargs[json_param]), plot, f"townsquare bench {name}")
                except (ValueError, OSError) as exc:
                    typer.echo(f"error: no plot: {exc}", err=True)
                    raise typer.Exit(1)
                typer.echo(f"plot written to {written}")
            return result
        finally:
            if temp is not None:
                temp.cleanup()

    option = inspect.Parameter("plot", inspect.Parameter.KEYWORD_ONLY, annotation=Path,
                               default=typer.Option(None, "--plot", help="Also draw the results as a PNG here "
                                                                         "(matplotlib)."))
    with_plot.__signature__ = signature.replace(parameters=[*signature.parameters.values(), option])
    return with_plot
