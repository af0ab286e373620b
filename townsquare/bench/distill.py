"""``townsquare bench distill``: teacher, plain student and distilled student side by side on an id file.

Protocol: the leave-one-out split and full-ranking metrics of ``bench rec`` (history items excluded,
stable ties). Three models from one run, each trained by ``distill/rec.py: train_ids`` (one loop;
only the loss differs) with its best epoch chosen on the same validation subset:

1. teacher: wider, deeper, longer history;
2. student: the small architecture trained on the true next items only;
3. distilled: the same small architecture trained on the true next items + the teacher's softened
   retrieval scores.

Scoring speed: ``page_timing`` times what the feed does for one page, per person, on one thread:
encode the history, retrieve the top ``candidates`` of the whole catalogue (seen items excluded;
one product over the catalogue table and a top-k, as ``rec/serve.py: Scorer.retrieve``), and score
those candidates with every action head (``Scorer.score``). Catalogue vectors are computed once
beforehand, as the Scorer caches them.

The three models are timed in alternating rounds (``interleaved_timing``): on a shared machine a
neighbour's load falls on each alike. Finished models are kept under ``--work-dir`` (and the running one checkpoints every epoch), so a
stopped run resumes where it stopped.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from townsquare.distill.rec import KDConfig, check_student, id_config, id_scorer, n_params, train_ids
from townsquare.rec.evaluate import evaluate_histories
from townsquare.rec.model import UnifiedModel, history_from_ids
from townsquare.rec.train import load_checkpoint, save_checkpoint

ROLES = ("teacher", "student", "distilled")
# Default architectures (one rule for every file): the teacher is 4x wider and twice as deep as the
# student, and reads twice its history (the teacher's window is bench rec's file rule: 50 events, 200
# when the median history is longer than 50). Any field of RecConfig/TrainConfig can be overridden.
TEACHER = dict(d_model=128, n_layers=2, n_heads=2)
STUDENT = dict(d_model=32, n_layers=1, n_heads=1)


def student_overrides(teacher_cfg, overrides: dict) -> dict:
    """The student's overrides, with half the teacher's history window unless set."""
    return {"max_len": max(1, teacher_cfg.max_len // 2), **overrides}


def page_timing(model: UnifiedModel, histories: list[list[int]], trained: torch.Tensor, candidates: int = 500,
                people: int = 200, seed: int = 0, threads: int = 1) -> dict[str, float]:
    """Milliseconds to serve one feed page per person (p50/p99) on ``threads`` threads."""
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    rng = random.Random(seed)
    sample = rng.sample(histories, min(people, len(histories)))
    times = []
    try:
        with torch.no_grad():
            vectors, bias = model.all_id_vectors()
            n = vectors.shape[0]
            for hist in [sample[0]] + sample:  # the first is a warm-up, not timed
                t0 = time.perf_counter()
                h = history_from_ids([hist], model.cfg.max_len)
                ids = h.entities.ids
                h.entities.ids = torch.where(trained[ids], ids, 0)
                state = model.last_state(h)[0]
                # As the Scorer: one product over the whole table, seen items masked, top-k.
                scores = model.retrieval_scores(state[None], vectors, bias)[0]
                scores[torch.tensor(hist) - 1] = float("-inf")
                idx = torch.topk(scores, min(candidates, n)).indices
                model.score_actions(state, vectors[idx])
                times.append(time.perf_counter() - t0)
    finally:
        torch.set_num_threads(old)
    ms = np.asarray(times[1:]) * 1000
    return {"page_ms_p50": float(np.percentile(ms, 50)), "page_ms_p99": float(np.percentile(ms, 99)),
            "people": len(sample), "candidates": candidates, "threads": threads}


def run_distill_bench(split, teacher_overrides: dict, student_set: dict, budgets: dict[str, float | None],
                      epochs: int | None = None, student_epochs: int | None = None, seed: int = 0,
                      kd: KDConfig | None = None,
                      valid_users: int = 5000, work_dir: Path | None = None, timing_people: int = 200,
                      only: tuple[str, ...] | None = None,
                      log: Callable[[str], None] | None = None) -> list[dict]:
    """Train (or load from ``work_dir``) the three models and evaluate them; JSON-able rows.
    ``epochs``: the most epochs of every model; ``student_epochs``: of both students (overrides
    ``epochs`` for them), so that the two can be compared at equal epochs: a distilled epoch costs
    more time than a plain one, and equal minutes would give it fewer. ``only``: train (or load) and
    report just these roles (the teacher too when the distilled student needs it), e.g. the plain
    student in one process while another trains the teacher into the same ``work_dir``."""
    kd = kd or KDConfig()
    rng = random.Random(seed)
    v_hist, v_tgt = split.valid_case()
    t_hist, t_tgt = split.test_case()
    if not v_tgt:
        from townsquare.errors import InvalidInput
        raise InvalidInput("no user has 3 or more interactions: nothing to validate or test on")
    sub = sorted(rng.sample(range(len(v_tgt)), min(valid_users, len(v_tgt))))
    validate_on = ([v_hist[i] for i in sub], [v_tgt[i] for i in sub])
    n = split.n_items
    counts = torch.bincount(torch.tensor([i for s in split.train for i in s]), minlength=n + 1)[1:]
    trained = torch.cat([torch.zeros(1, dtype=torch.bool), counts > 0])
    configs = {"teacher": id_config(split, **teacher_overrides)}
    configs["student"] = id_config(split, **student_overrides(configs["teacher"][0], student_set))
    configs["distilled"] = configs["student"]
    t_cfg, s_cfg = configs["teacher"][0], configs["student"][0]
    # Fail before any training when the student is not smaller.
    check_student(t_cfg, s_cfg, n_params(UnifiedModel(t_cfg)), n_params(UnifiedModel(s_cfg)))
    wanted = tuple(r for r in ROLES if only is None or r in only)
    if "distilled" in wanted and "teacher" not in wanted:
        wanted = ("teacher", *wanted)
    rows, models = [], {}
    for role in wanted:
        cfg, tc, extra = configs[role]
        if epochs:
            tc.epochs = epochs
        if student_epochs and role != "teacher":
            tc.epochs = student_epochs
        tc.max_minutes, tc.seed = budgets.get(role), seed
        done = None if work_dir is None else work_dir / f"{role}.pt"
        hyper = {**{k: v for k, v in cfg.to_dict().items() if k != "heads"}, **extra,
                 **{f"train.{k}": v for k, v in asdict(tc).items()}}
        if done is not None and done.exists():
            model, info = load_checkpoint(done)
            _check_reuse(done, info, hyper, asdict(kd) if role == "distilled" else None)
            if log:
                log(f"{role}: loaded the finished model from {done}")
        else:
            run = train_ids(split, cfg, tc, extra["negatives"], extra["pop_negatives"], validate_on,
                            teacher=models["teacher"] if role == "distilled" else None,
                            kd=kd if role == "distilled" else None, label=role,
                            checkpoint=None if work_dir is None else work_dir / f"{role}.epoch.pt", log=log)
            model = run.model
            info = {"train_seconds": round(run.fit.seconds, 1), "train_cpu_seconds": round(run.cpu_seconds, 1),
                    "epochs": run.fit.epochs + run.resumed_epochs, "best_epoch": run.fit.best_epoch + run.resumed_epochs,
                    "stopped": run.fit.stopped, "resumed_epochs": run.resumed_epochs,
                    "hyperparameters": hyper}
            if role == "distilled":
                info["kd"] = asdict(kd)
            if done is not None:
                save_checkpoint(done, model, extra=info)
                (work_dir / f"{role}.epoch.pt").unlink(missing_ok=True)
        models[role] = model
        score = id_scorer(model, trained)
        row = {"name": role, **info, "params": n_params(model),
               "metrics": evaluate_histories(score, t_hist, t_tgt, n),
               "valid_metrics": evaluate_histories(score, v_hist, v_tgt, n)}
        rows.append(row)
        if log:
            log(f"{role}: test NDCG@10 {row['metrics']['NDCG@10']:.4f} valid {row['valid_metrics']['NDCG@10']:.4f}")
    if timing_people:
        for row, timing in zip(rows, interleaved_timing([models[r] for r in wanted], t_hist, trained,
                                                        timing_people, seed), strict=True):
            row["serving"] = timing
    return rows


def _check_reuse(path: Path, info: dict, hyper: dict, kd: dict | None) -> None:
    """A finished model in the work dir is reused only when it was trained with these settings (a
    KD setting added since it was saved counts at its default)."""
    from townsquare.errors import InvalidInput

    saved = info.get("hyperparameters") or {}
    diff = sorted(k for k in set(saved) | set(hyper) if saved.get(k) != hyper.get(k))
    if kd is not None:
        saved_kd = {**asdict(KDConfig()), **(info.get("kd") or {})}
        diff += sorted(f"kd.{k}" for k in kd if saved_kd.get(k) != kd[k])
    if diff:
        raise InvalidInput(f"{path} was trained with other settings ({', '.join(diff)}): use another --work-dir, "
                           "or remove it to train it again")


def interleaved_timing(models: list[UnifiedModel], histories: list[list[int]], trained: torch.Tensor,
                       people: int, seed: int = 0, rounds: int = 4) -> list[dict]:
    """``page_timing`` of each model, in alternating rounds over different people, so that a
    neighbour's load on a shared machine falls on every model alike."""
    per_round = max(2, people // rounds)
    times: list[list[dict]] = [[] for _ in models]
    for r in range(rounds):
        for i, model in enumerate(models):
            times[i].append(page_timing(model, histories, trained, people=per_round, seed=seed + r))
    out = []
    for parts in times:
        p50 = float(np.median([t["page_ms_p50"] for t in parts]))
        p99 = float(np.max([t["page_ms_p99"] for t in parts]))
        out.append({"page_ms_p50": p50, "page_ms_p99": p99, "people": per_round * rounds,
                    "candidates": parts[0]["candidates"], "threads": parts[0]["threads"], "rounds": rounds})
    return out


def summary(rows: list[dict]) -> dict:
    """The goals: distilled > student on NDCG@10, distilled >= 97% of the teacher, >= 3x faster pages
    (empty when a row is missing)."""
    by = {r["name"]: r for r in rows}
    if set(by) != set(ROLES):
        return {}
    t, s, d = (by[k]["metrics"]["NDCG@10"] for k in ROLES)
    out = {"distilled_over_student": d / s if s else None, "distilled_share_of_teacher": d / t if t else None,
           "beats_plain_student": d > s, "keeps_97pct_of_teacher": d >= 0.97 * t}
    if "serving" in by["teacher"] and "serving" in by["distilled"]:
        speed = by["teacher"]["serving"]["page_ms_p50"] / by["distilled"]["serving"]["page_ms_p50"]
        out.update(page_speedup_p50=speed, three_x_faster=speed >= 3.0)
    return out
