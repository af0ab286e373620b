"""Draw the plots of docs/benchmarks.md from the JSON in docs/results.

    python docs/plots.py            # writes docs/img/*.png

Needs matplotlib (`pip install -e '.[docs]'`). Each plot reads only the result files the page
quotes; when a benchmark is rerun, point the constants below at the new files and run it again.
"""

from __future__ import annotations

import json
from pathlib import Path

from matplotlib.figure import Figure

DOCS = Path(__file__).resolve().parent
RESULTS = DOCS / "results"
IMG = DOCS / "img"

# Simulated days (`townsquare bench simulate`): one JSON line per system and day, totals so far.
SIM_DAYS = ["sim-seed7-s5-baselines.days.jsonl", "sim-seed7-s5-model.days.jsonl"]
SIM_TITLE = "Simulated days, seed 7: 250 people, totals so far at the end of each day"

# Feed latency (`townsquare bench feed`): the previous code and the current one, run in pairs.
FEED_RUNS = {
    "previous code (f00c59f)": [f"feed-latency-s5-session-start-run{n}.json" for n in (10, 11, 12)],
    "current code": [f"feed-latency-s5-main-run{n}.json" for n in (10, 11, 12)],
}
FEED_GOAL_MS = 50.0

SYSTEMS = {  # name in the results -> (label, colour)
    "chronological": ("chronological", "#7f7f7f"),
    "heuristic": ("heuristic", "#1f77b4"),
    "model": ("unified model", "#d62728"),
}
SIM_PANELS = [  # metric, title, scale, unit
    ("engagement_per_session", "engagement / session", 1.0, ""),
    ("hides_per_session", "hides / session (lower is better)", 1.0, ""),
    ("new_follows", "new follows", 1.0, ""),
    ("two_way_share", "two-way share of new follows", 100.0, "%"),
    ("still_active", "still active", 100.0, "%"),
    ("discovery_share", "discovery share of items shown", 100.0, "%"),
]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def simulated_days(out: Path) -> None:
    rows = [row for name in SIM_DAYS for row in read_jsonl(RESULTS / name)]
    fig = Figure(figsize=(12, 6.5), layout="constrained")
    axes = fig.subplots(2, 3).ravel()
    for ax, (metric, title, scale, unit) in zip(axes, SIM_PANELS, strict=True):
        for system, (label, colour) in SYSTEMS.items():
            if system == "chronological" and metric == "two_way_share":
                continue  # chronological forms no follows: no share to draw
            days = sorted((r["day"], r["metrics"][metric] * scale) for r in rows if r["name"] == system)
            ax.plot([d for d, _ in days], [v for _, v in days], color=colour, label=label, linewidth=2)
        ax.set_title(title)
        ax.set_xlabel("day")
        if unit:
            ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:g}%")
        ax.grid(alpha=0.3)
    axes[0].legend(loc="upper right")
    fig.suptitle(SIM_TITLE)
    fig.savefig(out, dpi=100)


def feed_latency(out: Path) -> None:
    fig = Figure(figsize=(10, 4.5), layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    colours = ["#7f7f7f", "#d62728"]
    width = 0.38
    for ax, metric, title in zip(axes, ["cpu_p50_ms", "cpu_p99_ms"], ["p50", "p99"], strict=True):
        for k, (label, files) in enumerate(FEED_RUNS.items()):
            values = []
            for name in files:
                rows = json.loads((RESULTS / name).read_text())
                first = next(r for r in rows if r["name"] == "feed_first_page")
                values.append(first["metrics"][metric])
            xs = [i + (k - 0.5) * width for i in range(len(values))]
            bars = ax.bar(xs, values, width, color=colours[k], label=label)
            ax.bar_label(bars, fmt="%.1f", label_type="center", color="white", fontsize=10, fontweight="bold")
        ax.set_xticks(range(3), [f"run {i + 1}" for i in range(3)])
        ax.set_title(f"first page, CPU {title} (1,000 viewers)")
        ax.grid(axis="y", alpha=0.3)
    axes[1].axhline(FEED_GOAL_MS, color="black", linestyle="--", linewidth=1, label="goal: p99 < 50 ms")
    axes[0].set_ylabel("ms of CPU per page")
    fig.legend(*axes[1].get_legend_handles_labels(), loc="outside lower center", ncol=3)
    fig.suptitle("Feed latency, 10,000 people / 200,000 posts, ranked by the unified model")
    fig.savefig(out, dpi=100)


def main() -> None:
    IMG.mkdir(exist_ok=True)
    for name, draw in [("sim-seed7.png", simulated_days), ("feed-latency.png", feed_latency)]:
        draw(IMG / name)
        print(IMG / name)


if __name__ == "__main__":
    main()
