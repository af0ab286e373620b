"""The public sequential benchmark: popularity, SASRec+ and the unified model side by side.

Protocol (BRIEF.md): leave-one-out split, full ranking over all items, history items excluded,
checkpoint chosen on validation only (best validation NDCG@10 epoch), then the test set is scored
once. Ties: stable, catalog (file) order; see ``evaluate.py``.

Every model is selected on a fixed random subset of at most ``VALID_USERS`` validation users
(for speed, the same subset for all models); the validation metrics reported at the end are on
all users.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

import torch

from townsquare.rec.baselines import Popularity, SASRec, SASRecConfig
from townsquare.rec.evaluate import evaluate_histories
from townsquare.rec.interactions import LeaveOneOut, batches_by_length, shuffled_batches, training_windows
from townsquare.rec.model import RecConfig, UnifiedModel, history_from_ids
from townsquare.rec.train import FitResult, NegativeSampler, TrainConfig, fit, id_batch_loss

VALID_USERS = 10_000
MODELS = ("pop", "sasrec", "ours")
# How an epoch's training windows are batched: similar lengths together (less padding), or drawn
# uniformly at random (mixed lengths, as the reference SASRec+).
BATCHING = {"by_length": batches_by_length, "uniform": shuffled_batches}


def ours_config(split: LeaveOneOut, **overrides: Any) -> tuple[RecConfig, TrainConfig, dict]:
    """Default hyper-parameters of the unified model for an id-only file (one rule for every file).

    Scale rules (the same for every file): the history window is 50 events, or 200 when the median
    training history is longer than 50; the retrieval loss is a full softmax when the catalog has
    at most ``negatives`` items, else a sampled softmax with ``negatives`` shared negatives drawn
    half by popularity, half uniformly (logQ corrected). Batches are drawn uniformly (mixed
    lengths); one history event in ten is blanked while training (``token_dropout``); at the end
    the mean weights of the 3 best epochs replace the best epoch when validation prefers them.
    Chosen on Beauty's validation set only (the runs are in the git history of docs/benchmarks.md)."""
    lengths = sorted(len(s) for s in split.train)
    median = lengths[len(lengths) // 2]
    max_len = 200 if median > 50 else 50
    rc = dict(n_ids=split.n_items, max_len=max_len, d_model=64, n_layers=2, n_heads=1, dropout=0.2,
              emb_dropout=0.2, attention="softmax", similarity="dot", temperature=0.05, use_actions=False,
              head_hidden=16, emb_scale=True, token_dropout=0.1)
    tc = dict(epochs=200, patience=5, batch_size=64, lr=2e-3, weight_decay=0.0, warmup_steps=100, average_top=3,
              plateau_decay=0.3)
    extra = dict(negatives=4096, pop_negatives=0.5, all_windows=True, batches="uniform")
    rec_fields = {f.name for f in fields(RecConfig)}
    for k, v in overrides.items():
        if k in rc or k in rec_fields:
            rc[k] = v
        elif k in tc:
            tc[k] = v
        elif k in extra:
            extra[k] = v
        else:
            raise ValueError(f"unknown hyper-parameter {k!r}")
    if extra["batches"] not in BATCHING:
        raise ValueError(f"batches must be one of {', '.join(BATCHING)}, not {extra['batches']!r}")
    if extra["negatives"] >= split.n_items:
        extra["negatives"] = 0
    return RecConfig(**rc), TrainConfig(**tc), extra


def sasrec_config(split: LeaveOneOut) -> tuple[SASRecConfig, TrainConfig]:
    lengths = sorted(len(s) for s in split.train)
    max_len = 200 if lengths[len(lengths) // 2] > 50 else 50
    return (SASRecConfig(n_items=split.n_items, max_len=max_len),
            TrainConfig(epochs=200, patience=10, batch_size=128, lr=1e-3, warmup_steps=1, grad_clip=0.0))


def _ids_scorer(model: UnifiedModel, trained: torch.Tensor) -> Callable[[list[list[int]]], torch.Tensor]:
    """Scores over all items for id histories. An item that never occurs in the training data has no
    learned vector (only its initial noise), so in a history it is read as id 0, an entity without a
    learned id, as the app reads a post newer than the model (``trained``: bool [n_ids + 1])."""
    def score(hs: list[list[int]]) -> torch.Tensor:
        h = history_from_ids(hs, model.cfg.max_len)
        ids = h.entities.ids
        h.entities.ids = torch.where(trained[ids], ids, 0)
        return model.retrieval_scores(model.last_state(h), *model.all_id_vectors())
    return score


def run_bench(split: LeaveOneOut, models: list[str], epochs: int | None = None,
              max_minutes: float | dict[str, float] | None = None, seed: int = 0,
              overrides: dict[str, Any] | None = None, log: Callable[[str], None] | None = None) -> list[dict]:
    """Train and evaluate each model; returns JSON-able rows. ``max_minutes``: one wall-clock budget
    for every learned model, or a budget per model name (a model without one has no budget)."""
    rng = random.Random(seed)
    v_hist, v_tgt = split.valid_case()
    t_hist, t_tgt = split.test_case()
    if not v_tgt:
        from townsquare.errors import InvalidInput
        raise InvalidInput("no user has 3 or more interactions: nothing to validate or test on")
    sub = sorted(rng.sample(range(len(v_tgt)), min(VALID_USERS, len(v_tgt))))
    sv_hist, sv_tgt = [v_hist[i] for i in sub], [v_tgt[i] for i in sub]
    n = split.n_items
    rows = []
    for name in models:
        if name not in MODELS:
            raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}")
        torch.manual_seed(seed)
        t0 = time.monotonic()
        if name == "pop":
            # Popularity over what the evaluated histories may use: training items for validation,
            # training + validation items for test.
            pop = Popularity(n).fit(split.train)
            valid = evaluate_histories(pop.scores, v_hist, v_tgt, n)
            pop_t = Popularity(n).fit([s + ([v] if v else [])
                                       for s, v in zip(split.train, split.valid_target, strict=True)])
            test = evaluate_histories(pop_t.scores, t_hist, t_tgt, n)
            rows.append(_row("Popularity", test, valid, time.monotonic() - t0, 0, 0, {}))
            continue
        budget = max_minutes.get(name) if isinstance(max_minutes, dict) else max_minutes
        cpu0 = time.process_time()
        label, score, res, hp = train_one(name, split, sv_hist, sv_tgt, epochs, budget, seed,
                                          overrides or {}, log)
        # CPU seconds of this process (all its threads): on a shared machine, wall time measures the
        # neighbours too; at one thread this is about what the run takes on a quiet core.
        cpu = time.process_time() - cpu0
        valid = evaluate_histories(score, v_hist, v_tgt, n)
        test = evaluate_histories(score, t_hist, t_tgt, n)
        rows.append(_row(label, test, valid, res.seconds, res.epochs, res.best_epoch, hp, res.stopped, cpu))
        if res.average_score is not None:
            rows[-1].update(averaged_epochs=res.averaged, average_valid_subset=round(res.average_score, 4))
        if log:
            log(f"{label}: test {test} valid {valid}")
    return rows


def train_one(name: str, split: LeaveOneOut, sv_hist: list[list[int]], sv_tgt: list[int], epochs: int | None,
              max_minutes: float | None, seed: int, overrides: dict[str, Any],
              log: Callable[[str], None] | None) -> tuple[str, Callable, FitResult, dict]:
    """Train SASRec+ or ours with validation-based checkpoint selection; returns the best model's
    scorer (history lists -> scores over all items)."""
    n = split.n_items
    brng = random.Random(seed)
    if name == "sasrec":
        scfg, tc = sasrec_config(split)
        sasrec = SASRec(scfg)
        model: torch.nn.Module = sasrec
        windows = training_windows(split.train, scfg.max_len, all_windows=False)
        score: Callable[[list[list[int]]], torch.Tensor] = sasrec.scores
        loss_fn: Callable[[list[list[int]]], torch.Tensor] = sasrec.loss
        hp = {**scfg.to_dict(), "loss": "full cross-entropy", "batches": "uniform"}
        label = "SASRec+"
        make_batches = shuffled_batches
    else:
        cfg, tc, extra = ours_config(split, **overrides)
        ours = UnifiedModel(cfg)
        counts = torch.bincount(torch.tensor([i for s in split.train for i in s]), minlength=n + 1)[1:]
        ours.init_id_bias(counts)
        sampler = NegativeSampler(counts, extra["pop_negatives"])
        model = ours
        windows = training_windows(split.train, cfg.max_len, all_windows=extra["all_windows"])
        score = _ids_scorer(ours, torch.cat([torch.zeros(1, dtype=torch.bool), counts > 0]))

        def loss_fn(b: list[list[int]]) -> torch.Tensor:
            return id_batch_loss(ours, b, extra["negatives"], sampler)
        hp = {**cfg.to_dict(), **extra}
        hp.pop("heads", None)
        label = "Unified (ours)"
        make_batches = BATCHING[extra["batches"]]
    if epochs:
        tc.epochs = epochs
    tc.max_minutes, tc.seed = max_minutes, seed
    res = fit(model, lambda e: make_batches(windows, tc.batch_size, brng), loss_fn,
              lambda: evaluate_histories(score, sv_hist, sv_tgt, n)["NDCG@10"], tc, label=label, log=log)
    model.eval()
    hp.update({f"train.{k}": v for k, v in asdict(tc).items()})
    return label, score, res, hp


def _row(name: str, test: dict, valid: dict, seconds: float, epochs: int, best: int, hp: dict,
         stopped: str = "", cpu_seconds: float | None = None) -> dict:
    row = {"name": name, "metrics": test, "valid_metrics": valid, "train_seconds": round(seconds, 1),
           "epochs": epochs, "best_epoch": best, "stopped": stopped, "hyperparameters": hp}
    if cpu_seconds is not None:  # learned models only
        row["train_cpu_seconds"] = round(cpu_seconds, 3)
    return row
