"""``townsquare bench ... --plot``: every bench command with --json draws its rows as a PNG."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner


def test_numeric_table_reads_the_shapes_benchmarks_write(tmp_path):
    from townsquare.bench.plot import numeric_table, plot_json

    rows = [{"name": "ours", "metrics": {"auc": 0.71, "recall@50": 0.4}, "note": "x"},
            {"name": "popular", "metrics": {"auc": 0.62, "recall@50": None}, "note": "y"}]
    labels, columns = numeric_table(rows)
    assert labels == ["ours", "popular"] and columns == {"metrics.auc": [0.71, 0.62], "metrics.recall@50": [0.4, None]}
    assert numeric_table({"rows": rows}) == (labels, columns)
    assert numeric_table({"ours": {"p99": 12}, "theirs": {"p99": 30}})[1] == {"p99": [12.0, 30.0]}
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    from PIL import Image

    png = plot_json(path, tmp_path / "plot.png", "test")
    assert Image.open(png).format == "PNG"
    (tmp_path / "words.json").write_text(json.dumps([{"name": "a"}, {"name": "b"}]))
    try:
        plot_json(tmp_path / "words.json", tmp_path / "none.png", "test")
        raise AssertionError("a table with no numbers has nothing to draw")
    except ValueError as exc:
        assert "no numeric columns" in str(exc)


def test_a_real_bench_run_writes_its_plot(tmp_path):
    from PIL import Image

    from townsquare.cli import app

    rng = random.Random(1)
    edges = set()
    for c in range(3):
        nodes = list(range(c * 15, (c + 1) * 15))
        for a in nodes:
            for b in rng.sample(nodes, 4):
                if a != b:
                    edges.add((min(a, b), max(a, b)))
    data = tmp_path / "edges.txt"
    data.write_text("\n".join(f"{a} {b}" for a, b in sorted(edges)))
    png = tmp_path / "out" / "pymk.png"
    result = CliRunner().invoke(app, ["bench", "pymk", "--data", str(data), "--epochs", "1", "--splits", "1",
                                      "--threads", "1", "--no-embedding", "--plot", str(png)])
    assert result.exit_code == 0, result.output
    assert f"plot written to {png}" in result.output
    image = Image.open(png)
    assert image.format == "PNG" and image.width > 600
    # Commands without --json are left as they were (no --plot to offer).
    assert "--plot" in CliRunner().invoke(app, ["bench", "pymk", "--help"]).output
