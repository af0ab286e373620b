"""What the command line prints is meant for people: assistant steps as sentences, result tables whole
when the output is a file or a pipe, and no validation score where nothing is held out."""

from __future__ import annotations


def test_assistant_steps_read_as_text():
    from townsquare.assistant.commands import describe_step

    call = describe_step("tool_call", {"id": "1", "tool": "search_posts", "arguments": {"query": "cats", "limit": 5}})
    assert call == "-> search_posts(query='cats', limit=5)"
    ask = describe_step("confirmation", {"action_id": "9", "tool": "follow", "arguments": {"handle": "bob"},
                                         "summary": "follow @bob"})
    assert "follow @bob" in ask and "{" not in ask
    shield = describe_step("shield", {"stage": "input", "safe": False, "categories": ["S1"], "source": "x", "reason": ""})
    assert shield == "!  the safety shield stopped the input: S1"
    assert describe_step("shield", {"stage": "input", "safe": True}) is None
    assert describe_step("error", {"message": "no such post"}) == "!  no such post"
    assert describe_step("tool_result", {"tool": "search_posts", "ok": True, "text": "..."}) is None


def test_results_table_is_not_cut_when_not_a_terminal(capsys):
    from townsquare.rec.commands import HEAD_COLUMNS, results_table, wide_console

    metrics = {f"auc_{h}": 0.7123 for h in HEAD_COLUMNS} | {"auc_mean": 0.7123, "recall@50": 0.4567}
    rows = [{"name": "unified model (a long system name)", "metrics": metrics},
            {"name": "popularity baseline", "metrics": metrics}]
    wide_console().print(results_table(rows, "Unified model vs baselines on the held-out tail (test split)"))
    out = capsys.readouterr().out
    assert "…" not in out
    assert "unified model (a long system name)" in out and "R@50" in out and "0.46" in out
    assert out.count("0.71") == 2 * (len(HEAD_COLUMNS) + 1)


def test_a_fit_without_holdout_prints_no_validation_score():
    import torch

    from townsquare.rec.train import TrainConfig, fit

    model = torch.nn.Linear(3, 1)
    data = [torch.randn(8, 3) for _ in range(2)]
    lines: list[str] = []
    epochs = iter(range(1, 100))
    fit(model, lambda _epoch: data, lambda batch: model(batch).pow(2).mean(), lambda: next(epochs) * 1e-9,
        TrainConfig(epochs=3, patience=10**9, warmup_steps=1), label="refit", log=lines.append, holdout=False)
    assert len(lines) == 3
    assert all("no holdout" in line and "valid" not in line and "best" not in line for line in lines)
    held: list[str] = []
    fit(model, lambda _epoch: data, lambda batch: model(batch).pow(2).mean(), lambda: 0.5,
        TrainConfig(epochs=1, warmup_steps=1), label="train", log=held.append)
    assert "valid 0.5000 (best 0.5000 @ 1)" in held[0]
