"""End to end: a tiny model learns sequential patterns that popularity cannot see; the CLI."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from townsquare.bench.rec import run_bench
from townsquare.rec.interactions import leave_one_out, read_interactions


def synthetic_log(path, users: int = 400, items: int = 120, seed: int = 0) -> None:
    """Each person walks one fixed cycle through all items (a random successor map), with 10% random
    jumps: the next item is predictable from the last one, popularity is almost flat."""
    rng = random.Random(seed)
    order = list(range(items))
    rng.shuffle(order)
    successor = {order[k]: order[(k + 1) % items] for k in range(items)}
    lines = []
    for u in range(users):
        item = rng.randrange(items)
        for _ in range(rng.randint(4, 12)):
            lines.append(f"user{u} item{item}")
            item = rng.randrange(items) if rng.random() < 0.1 else successor[item]
    path.write_text("\n".join(lines) + "\n")


def test_tiny_model_beats_popularity(tmp_path):
    p = tmp_path / "log.txt"
    synthetic_log(p)
    split = leave_one_out(read_interactions(p))
    rows = run_bench(split, ["pop", "ours"], epochs=15, seed=0,
                     overrides=dict(d_model=32, negatives=0, max_len=12, batch_size=64, warmup_steps=10,
                                    lr=3e-3))
    pop, ours = rows
    assert pop["name"] == "Popularity" and ours["name"] == "Unified (ours)"
    assert ours["metrics"]["NDCG@10"] > pop["metrics"]["NDCG@10"] + 0.2
    assert ours["metrics"]["HR@10"] > 0.7
    assert 1 <= ours["best_epoch"] <= ours["epochs"] <= 15


def test_cli_bench_writes_json_and_rejects_bad_files(tmp_path):
    from townsquare.cli import app

    p = tmp_path / "log.txt"
    synthetic_log(p, users=60, items=20)
    out = tmp_path / "r.json"
    runner = CliRunner()
    res = runner.invoke(app, ["bench", "rec", "--data", str(p), "--json", str(out), "--epochs", "2",
                              "--models", "pop,sasrec,ours", "--set", "d_model=16", "--threads", "1"])
    assert res.exit_code == 0, res.output
    rows = json.loads(out.read_text())
    assert [r["name"] for r in rows] == ["Popularity", "SASRec+", "Unified (ours)"]
    for r in rows:
        assert set(r["metrics"]) == {"HR@10", "NDCG@10", "HR@50", "NDCG@50", "MRR"}
        assert {"train_seconds", "epochs", "best_epoch", "hyperparameters"} <= set(r)
    assert rows[2]["hyperparameters"]["d_model"] == 16
    assert all(r["train_cpu_seconds"] > 0 for r in rows[1:])   # the learned models' CPU time
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    res = runner.invoke(app, ["bench", "rec", "--data", str(empty)])
    assert res.exit_code == 1 and "empty" in res.output
    bad = tmp_path / "bad.txt"
    bad.write_text("u1 a x\n")
    res = runner.invoke(app, ["bench", "rec", "--data", str(bad)])
    assert res.exit_code == 1 and "expected 'user item'" in res.output
    res = runner.invoke(app, ["bench", "rec", "--data", str(p), "--models", "bert"])
    assert res.exit_code == 1 and "unknown model" in res.output
    res = runner.invoke(app, ["bench", "rec", "--data", str(p), "--max-minutes", "bert=3"])
    assert res.exit_code == 1 and "not among --models" in res.output


def test_budget_per_model():
    from townsquare.bench.rec_commands import parse_budget

    models = ["pop", "sasrec", "ours"]
    assert parse_budget(None, models) is None
    assert parse_budget("12", models) == 12.0
    assert parse_budget("sasrec=30,ours=10", models) == {"sasrec": 30.0, "ours": 10.0}
    for bad, msg in (("soon", "expects minutes"), ("ours=ten", "expects minutes"), ("bert=3", "not among")):
        try:
            parse_budget(bad, models)
        except ValueError as exc:
            assert msg in str(exc)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_items_never_trained_on_are_read_as_unknown_in_histories():
    import torch

    from townsquare.bench.rec import _ids_scorer
    from townsquare.rec.model import RecConfig, UnifiedModel

    torch.manual_seed(0)
    model = UnifiedModel(RecConfig(n_ids=6, max_len=8, d_model=8, emb_scale=True)).eval()
    trained = torch.tensor([False, True, True, True, True, False, True])   # item 5 never in training
    score = _ids_scorer(model, trained)
    unknown_last = score([[1, 2, 5]])
    assert torch.allclose(unknown_last, score([[1, 2, 0]]))          # read as "no learned id"
    assert not torch.allclose(unknown_last, score([[1, 2, 4]]))       # a trained item is read as itself
    assert not torch.allclose(unknown_last, score([[1, 2]]))          # the event still counts
