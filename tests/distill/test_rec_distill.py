"""Ranker distillation on id files: the losses, the rule that a student is smaller, the three-row
benchmark (resumable) and ``distill rec --data`` (atomic output, clear errors)."""

from __future__ import annotations

import json
import random

import pytest
import torch
from typer.testing import CliRunner

from townsquare.bench.distill import page_timing, run_distill_bench, summary
from townsquare.cli import app
from townsquare.distill.rec import (
    KDConfig,
    cache_teacher_states,
    check_student,
    distill_id_loss,
    id_config,
    kd_windows,
    n_params,
    retrieval_kd_loss,
    teacher_states,
)
from townsquare.errors import InvalidInput
from townsquare.rec.interactions import leave_one_out, read_interactions
from townsquare.rec.model import RecConfig, UnifiedModel


def write_cycles(path, users: int = 60, items: int = 30, length: int = 14, seed: int = 0):
    """Users walk a cycle of items (item i is followed by i + 1): a learnable next-item file."""
    rng = random.Random(seed)
    lines = []
    for u in range(users):
        start = rng.randrange(items)
        lines += [f"u{u} i{(start + k) % items}" for k in range(length + rng.randrange(6))]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_kd_loss_is_zero_for_the_same_scores_and_pulls_the_student_towards_the_teacher():
    t = torch.randn(5, 12, generator=torch.Generator().manual_seed(0))
    assert retrieval_kd_loss(t, t, 2.0).item() == pytest.approx(0.0, abs=1e-6)
    s = torch.zeros(5, 12, requires_grad=True)
    loss = retrieval_kd_loss(s, t, 2.0)
    assert loss.item() > 0
    loss.backward()
    # From a uniform student, a gradient step on the KL orders each row's logits exactly as the
    # teacher's (the step is softmax(t / T) minus a constant: monotonic in t).
    step = -s.grad
    assert torch.equal(step.argsort(dim=1), t.argsort(dim=1))
    # ... and taking that step lowers the loss.
    with torch.no_grad():
        s -= 20 * s.grad
    assert retrieval_kd_loss(s, t, 2.0).item() < loss.item()


class EveryItemSampler:
    """Negatives that hold every item ``copies[i]`` times, with their exact logQ (log of the count)."""

    def __init__(self, copies: list[int]) -> None:
        self.copies = copies

    def sample(self, k: int):
        neg = torch.tensor([i + 1 for i, c in enumerate(self.copies) for _ in range(c)])
        logq = torch.log(torch.tensor([float(c) for c in self.copies for _ in range(c)]))
        return neg, logq


@pytest.mark.parametrize("temperature", [1.0, 2.0, 4.0])
def test_sampled_kd_with_exact_logq_equals_the_full_catalogue_kd(tmp_path, temperature):
    """A sample holding every item, each with its count's logQ, must give the full softmax's losses at
    every temperature: the correction is applied after the softening (exp(s/T - logQ)), not before."""
    split = leave_one_out(read_interactions(write_cycles(tmp_path / "c.txt")))
    n = split.n_items
    teacher = UnifiedModel(RecConfig(n_ids=n, d_model=16, n_layers=2, max_len=12, use_actions=False)).eval()
    student = UnifiedModel(RecConfig(n_ids=n, d_model=8, n_layers=1, max_len=5, use_actions=False)).eval()
    windows = kd_windows(split.train, 5, 12)[:10]
    kd = KDConfig(temperature=temperature)
    _, full = distill_id_loss(student, windows, 0, teacher=teacher, kd=kd)
    sampler = EveryItemSampler([1 + i % 4 for i in range(n)])
    _, sampled = distill_id_loss(student, windows, 1, sampler, teacher=teacher, kd=kd)
    assert sampled["true"] == pytest.approx(full["true"], rel=1e-4)
    assert sampled["kd_retrieval"] == pytest.approx(full["kd_retrieval"], rel=1e-3)


def test_a_student_must_be_smaller_and_read_the_same_entities():
    teacher = RecConfig(n_ids=50, d_model=32, n_layers=2, max_len=20)
    big = RecConfig(n_ids=50, d_model=64, n_layers=1, max_len=20)
    with pytest.raises(InvalidInput, match="larger than its teacher: d_model"):
        check_student(teacher, big, 100, 50)
    longer = RecConfig(n_ids=50, d_model=16, n_layers=1, max_len=40)
    with pytest.raises(InvalidInput, match="max_len"):
        check_student(teacher, longer, 100, 50)
    other = RecConfig(n_ids=49, d_model=16, n_layers=1, max_len=10)
    with pytest.raises(InvalidInput, match="n_ids"):
        check_student(teacher, other, 100, 50)
    same = RecConfig(n_ids=50, d_model=32, n_layers=2, max_len=20)
    with pytest.raises(InvalidInput, match="not smaller"):
        check_student(teacher, same, 100, 100)
    check_student(teacher, RecConfig(n_ids=50, d_model=16, n_layers=1, max_len=10), 100, 50)


@pytest.mark.parametrize("negatives", [0, 8])
def test_cached_teacher_states_line_up_with_the_students_positions(tmp_path, negatives):
    split = leave_one_out(read_interactions(write_cycles(tmp_path / "c.txt")))
    teacher = UnifiedModel(RecConfig(n_ids=split.n_items, d_model=16, n_layers=2, max_len=12, use_actions=False)).eval()
    student = UnifiedModel(RecConfig(n_ids=split.n_items, d_model=8, n_layers=1, max_len=5, use_actions=False))
    windows = kd_windows(split.train, 5, 12)
    assert all(len(w) <= 13 for w in windows) and any(len(w) > 6 for w in windows)
    cached = cache_teacher_states(teacher, windows, 5, batch_size=7)
    assert [len(c) for c in cached] == [len(w[:-1][-5:]) for w in windows]
    batch = list(range(10))
    torch.manual_seed(0)
    inline, parts = distill_id_loss(student, [windows[i] for i in batch], negatives, teacher=teacher, kd=KDConfig())
    torch.manual_seed(0)
    from_cache, _ = distill_id_loss(student, [windows[i] for i in batch], negatives, teacher=teacher, kd=KDConfig(),
                                    t_states=torch.cat([cached[i] for i in batch]))
    assert "kd_retrieval" in parts and parts["kd_retrieval"] > 0
    assert from_cache.item() == pytest.approx(inline.item(), rel=1e-2)
    # The teacher reads the longer history: its state at the student's last position is not the
    # state it would have from the student's short window.
    short = teacher_states(teacher, [w[-6:] for w in windows[:3]], 5)
    full = teacher_states(teacher, windows[:3], 5)
    assert short.shape == full.shape and not torch.allclose(short, full)


@pytest.mark.parametrize("negatives", [0, 8])
def test_the_frozen_teacher_gets_no_gradient(tmp_path, negatives):
    """Only the student learns: backward through the KD term must not build (and pay for) a graph
    through the teacher's logits over the catalogue or the sampled candidates."""
    split = leave_one_out(read_interactions(write_cycles(tmp_path / "c.txt")))
    teacher = UnifiedModel(RecConfig(n_ids=split.n_items, d_model=16, n_layers=2, max_len=12, use_actions=False)).eval()
    student = UnifiedModel(RecConfig(n_ids=split.n_items, d_model=8, n_layers=1, max_len=5, use_actions=False))
    windows = kd_windows(split.train, 5, 12)[:10]
    for t_states in (None, torch.cat(cache_teacher_states(teacher, windows, 5))):
        loss, parts = distill_id_loss(student, windows, negatives, teacher=teacher, kd=KDConfig(), t_states=t_states)
        loss.backward()
        assert parts["kd_retrieval"] > 0
        assert all(p.grad is None for p in teacher.parameters())
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in student.parameters())


def test_bench_gives_three_rows_resumes_and_the_cli_writes_a_card(tmp_path):
    data = write_cycles(tmp_path / "cycles.txt")
    split = leave_one_out(read_interactions(data))
    work = tmp_path / "work"
    teacher = {"d_model": 16, "n_layers": 2, "n_heads": 1}
    rows = run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, work_dir=work, timing_people=5)
    assert [r["name"] for r in rows] == ["teacher", "student", "distilled"]
    assert rows[0]["params"] > rows[1]["params"] == rows[2]["params"]
    assert rows[2]["kd"]["temperature"] == 1.0 and rows[2]["hyperparameters"]["max_len"] == rows[0]["hyperparameters"]["max_len"] // 2
    goals = summary(rows)
    assert set(goals) >= {"beats_plain_student", "keeps_97pct_of_teacher", "page_speedup_p50"}
    assert all((work / f"{r}.pt").exists() for r in ("teacher", "student", "distilled"))
    # A rerun loads the finished models: the same metrics, no training.
    again = run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, work_dir=work, timing_people=0)
    assert [r["metrics"] for r in again] == [r["metrics"] for r in rows]
    # ... but not a model trained with other settings.
    with pytest.raises(InvalidInput, match="other settings.*kd.temperature"):
        run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, work_dir=work, timing_people=0,
                          kd=KDConfig(temperature=2.0))
    with pytest.raises(InvalidInput, match="other settings.*d_model"):
        run_distill_bench(split, {**teacher, "d_model": 24}, {"d_model": 8}, {}, epochs=3, work_dir=work,
                          timing_people=0)
    # --only: the plain student alone into a work dir; the full run then loads it.
    work2 = tmp_path / "work2"
    alone = run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, work_dir=work2, timing_people=0,
                              only=("student",))
    assert [r["name"] for r in alone] == ["student"] and not (work2 / "teacher.pt").exists()
    assert summary(alone) == {}
    both = run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, work_dir=work2, timing_people=0)
    assert both[1]["metrics"] == alone[0]["metrics"]
    # Equal epochs for both students, whatever the teacher's.
    equal = run_distill_bench(split, teacher, {"d_model": 8}, {}, epochs=3, student_epochs=2, timing_people=0)
    assert [r["epochs"] for r in equal] == [3, 2, 2]

    # distill rec --data with the bench's teacher: a folder with weights, manifest and model card.
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["distill", "rec", "--data", str(data), "--teacher", str(work / "teacher.pt"),
                                      "--out", str(out), "--name", "small", "--student", "d_model=8",
                                      "--epochs", "2"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "small" / "manifest.json").read_text())
    assert manifest["distillation"]["teacher"] == str(work / "teacher.pt")
    assert set(manifest["distillation"]["metrics"]) == {"teacher", "student (distilled)"}
    card = (out / "small" / "MODEL_CARD.md").read_text()
    assert "teacher.pt" in card and "NDCG@10" in card
    assert sorted(p.name for p in out.iterdir()) == ["small"]  # no temporary file left


def test_distill_rec_bad_input_is_one_line_and_writes_nothing(tmp_path):
    data = write_cycles(tmp_path / "cycles.txt")
    out = tmp_path / "out"
    runner = CliRunner()
    # No teacher at all.
    result = runner.invoke(app, ["distill", "rec", "--data", str(data), "--out", str(out), "--epochs", "1"])
    assert result.exit_code == 1 and "no teacher" in result.output
    # A teacher file that is not a checkpoint.
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    result = runner.invoke(app, ["distill", "rec", "--data", str(data), "--teacher", str(junk), "--out", str(out)])
    assert result.exit_code == 1 and "checkpoint" in result.output
    # An empty event file.
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    result = runner.invoke(app, ["distill", "rec", "--data", str(empty), "--teacher", str(junk), "--out", str(out)])
    assert result.exit_code == 1 and "empty" in result.output
    # A student larger than its teacher: refused before any training.
    split = leave_one_out(read_interactions(data))
    from townsquare.rec.train import save_checkpoint

    cfg, _, _ = id_config(split, d_model=8, n_layers=1, max_len=10)
    save_checkpoint(tmp_path / "small-teacher.pt", UnifiedModel(cfg))
    result = runner.invoke(app, ["distill", "rec", "--data", str(data), "--teacher", str(tmp_path / "small-teacher.pt"),
                                 "--out", str(out), "--student", "d_model=32"])
    assert result.exit_code == 1 and "larger than its teacher" in result.output
    assert not out.exists() or list(out.iterdir()) == []


def test_page_timing_and_parameter_counts_follow_the_size():
    cfg_big = RecConfig(n_ids=500, d_model=64, n_layers=2, max_len=20, use_actions=False)
    cfg_small = RecConfig(n_ids=500, d_model=16, n_layers=1, max_len=10, use_actions=False)
    big, small = UnifiedModel(cfg_big).eval(), UnifiedModel(cfg_small).eval()
    assert n_params(big) > n_params(small)
    hist = [[random.Random(i).randrange(1, 501) for _ in range(15)] for i in range(20)]
    trained = torch.ones(501, dtype=torch.bool)
    t = page_timing(big, hist, trained, candidates=50, people=10)
    assert t["people"] == 10 and 0 < t["page_ms_p50"] <= t["page_ms_p99"]
