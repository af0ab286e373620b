"""Training: losses per batch, the training loop, checkpoints.

* ``EventBatch`` + ``event_batch_loss``: the app's path. Histories of (entity, action, time) events
  with per-event retrieval targets and action-head labels; position t predicts event t + 1.
* ``id_batch_loss``: the public benchmarks' path (id-only sequences).
* ``fit``: epochs of shuffled batches, AdamW with linear warm-up, validation after every epoch,
  keeps the best weights, learning-rate decay after an epoch without a better validation score
  (``plateau_decay``), early stopping (patience) and a wall-clock budget, Rich progress bar.
* ``save_checkpoint`` / ``load_checkpoint``: weights + config dict (+ any extra JSON-able dict),
  written atomically so that an interrupted save never leaves a broken file.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from townsquare.rec.model import (
    EntityFeatures,
    History,
    RecConfig,
    UnifiedModel,
    action_loss,
    full_softmax_loss,
    history_from_ids,
    sampled_softmax_loss,
)

# ---------------------------------------------------------------------------------------------
# Losses.

@dataclass
class EventBatch:
    """Right-padded events for the app. ``target_mask[b, t]``: event t is a positive retrieval
    target (e.g. open/like/follow, not a bare impression or a hide). ``labels[b, t, h]``: outcome
    of head h for event t (1/0, -1 = unknown). ``keys[b, t]``: a stable entity key (defaults to
    the learned id) used to avoid counting an entity as its own negative."""

    history: History
    target_mask: Tensor | None = None     # bool [B, L]
    labels: Tensor | None = None          # float [B, L, n_heads]
    keys: Tensor | None = None            # long [B, L]
    context: Tensor | None = None         # float [B, L, context_dim]: action-head context of event t


def event_batch_loss(model: UnifiedModel, batch: EventBatch, negatives: int = 0,
                     action_weight: float = 1.0, states: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
    """Retrieval loss (sampled softmax over in-batch targets + ``negatives`` random learned ids,
    logQ corrected) + action-head loss, over every position t whose next event exists.
    ``states``: ``model.encode(batch.history)`` when the caller already has it (distillation)."""
    h = batch.history
    states = model.encode(h) if states is None else states
    mask = h.mask
    pair = mask[:, 1:]                                  # event t + 1 exists
    src = states[:, :-1]
    nxt = h.entities[:, 1:]
    keys = (batch.keys if batch.keys is not None else h.entities.ids)[:, 1:]
    parts: dict[str, float] = {}
    loss = states.sum() * 0.0
    ret = pair if batch.target_mask is None else pair & batch.target_mask[:, 1:]
    if ret.any():
        s = src[ret]
        tgt = nxt.map(lambda t: t[ret])
        pos_vec, pos_bias = model.entity_vectors(tgt), model.entity_bias(tgt)
        pos_keys = keys[ret]
        # In-batch negatives: every distinct target; logQ = log of its count among the targets.
        uniq, inverse, counts = torch.unique(pos_keys, return_inverse=True, return_counts=True)
        first = torch.zeros(len(uniq), dtype=torch.long).scatter_(0, inverse, torch.arange(len(inverse)))
        neg_vec, neg_keys = pos_vec[first], uniq
        neg_bias = None if pos_bias is None else pos_bias[first]
        neg_logq = torch.log(counts.float())
        if negatives and model.cfg.n_ids:
            rnd = torch.randint(1, model.cfg.n_ids + 1, (negatives,))
            # Random learned ids without their content: pure id negatives for the id embeddings.
            rnd_f = EntityFeatures(ids=rnd)
            neg_vec = torch.cat([neg_vec, model.entity_vectors(rnd_f)])
            if neg_bias is not None:
                neg_bias = torch.cat([neg_bias, model.entity_bias(rnd_f)])
            neg_keys = torch.cat([neg_keys, rnd])
            neg_logq = torch.cat([neg_logq, torch.full((negatives,), math.log(negatives / model.cfg.n_ids))])
        r = sampled_softmax_loss(model, s, pos_vec, pos_keys, neg_vec, neg_keys, neg_logq, pos_bias, neg_bias)
        loss = loss + r
        parts["retrieval"] = r.item()
    if batch.labels is not None:
        lab = batch.labels[:, 1:][pair]
        if (lab >= 0).any():
            cand = model.entity_vectors(nxt.map(lambda t: t[pair]))
            ctx = None if batch.context is None else batch.context[:, 1:][pair]
            a = action_loss(model, src[pair], cand, lab, ctx)
            loss = loss + action_weight * a
            parts["actions"] = a.item()
    return loss, parts


class BatchLoss(torch.nn.Module):
    """``event_batch_loss`` as a module's forward pass (what DDP wraps: it averages the gradients of
    what its forward computes)."""

    def __init__(self, model: UnifiedModel, negatives: int = 0, action_weight: float = 1.0) -> None:
        super().__init__()
        self.model = model
        self.negatives = negatives
        self.action_weight = action_weight

    def forward(self, batch: EventBatch) -> Tensor:
        return event_batch_loss(self.model, batch, negatives=self.negatives, action_weight=self.action_weight)[0]


class NegativeSampler:
    """Draws shared negatives among ids 1..n from a mix of the popularity distribution and the
    uniform one; returns their logQ (log of the expected count in the sample) for the correction.
    Popular items are the hard negatives that compete for the top of a ranking."""

    def __init__(self, counts: Tensor, pop_share: float = 0.5) -> None:
        c = counts.double().clamp(min=0)
        p = pop_share * c / c.sum().clamp(min=1) + (1 - pop_share) / len(c)
        self.probs = p.float()
        self.log_probs = torch.log(p).float()

    def sample(self, k: int) -> tuple[Tensor, Tensor]:
        idx = torch.multinomial(self.probs, k, replacement=True)
        return idx + 1, self.log_probs[idx] + math.log(k)


def id_batch_loss(model: UnifiedModel, windows: list[list[int]], negatives: int,
                  sampler: NegativeSampler | None = None) -> Tensor:
    """Next-item loss on id-only windows (inputs w[:-1], targets w[1:]), every position.
    ``negatives == 0``: full softmax over all ids; else ``negatives`` shared negatives drawn by
    ``sampler`` (default: uniform), logQ corrected."""
    h = history_from_ids([w[:-1] for w in windows], model.cfg.max_len)
    L = h.entities.shape[1]
    tg = torch.zeros(len(windows), L, dtype=torch.long)
    for i, w in enumerate(windows):
        tg[i, :len(w) - 1] = torch.tensor(w[1:], dtype=torch.long)
    states = model.encode(h)
    valid = tg > 0
    s, t = states[valid], tg[valid]
    if negatives <= 0:
        return full_softmax_loss(model, s, t - 1, *model.all_id_vectors())
    if sampler is None:
        neg = torch.randint(1, model.cfg.n_ids + 1, (negatives,))
        # Uniform sampling: each id is expected K / n_ids times in the sample.
        logq = torch.full((negatives,), math.log(negatives / model.cfg.n_ids))
    else:
        neg, logq = sampler.sample(negatives)
    f = EntityFeatures(ids=torch.cat([t, neg]))
    vec, bias = model.entity_vectors(f), model.entity_bias(f)
    pb, nb = (None, None) if bias is None else (bias[:len(t)], bias[len(t):])
    return sampled_softmax_loss(model, s, vec[:len(t)], t, vec[len(t):], neg, logq, pb, nb)


# ---------------------------------------------------------------------------------------------
# The loop.

@dataclass
class TrainConfig:
    epochs: int = 100
    max_minutes: float | None = None   # wall-clock budget for this fit (training + validation)
    patience: int = 5                  # epochs without a better validation score before stopping
    batch_size: int = 128
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup_steps: int = 100
    grad_clip: float = 1.0
    plateau_decay: float = 1.0         # multiply the learning rate by this after an epoch without a better validation score
    average_top: int = 0               # at the end, also try the mean weights of the k best epochs; kept if validation prefers it
    seed: int = 0


@dataclass
class FitResult:
    best_epoch: int = 0
    best_score: float = -math.inf
    epochs: int = 0
    seconds: float = 0.0
    stopped: str = ""
    averaged: list[int] = field(default_factory=list)   # epochs whose mean weights were kept (average_top)
    average_score: float | None = None                   # validation score of that mean, kept or not
    history: list[dict[str, float]] = field(default_factory=list)


def fit(model: torch.nn.Module, batches: Callable[[int], Iterable[Any]], loss_fn: Callable[[Any], Tensor],
        validate: Callable[[], float], tc: TrainConfig, label: str = "train",
        log: Callable[[str], None] | None = None, agree: Callable[[bool], bool] | None = None,
        quiet: bool = False, holdout: bool = True) -> FitResult:
    """Train ``model``; ``batches(epoch)`` yields batches, ``loss_fn(batch)`` returns a scalar loss,
    ``validate()`` returns the validation score (higher is better). On return the model holds the
    weights of the best validation epoch.

    Several processes training together (``rec/distributed.py``) pass ``agree`` (True everywhere when
    any process says True), so that they stop at the same step when the time budget runs out, and
    ``quiet`` on all but one (no progress bar, no log lines). Without a ``holdout`` (a refit on the
    whole log) ``validate`` only orders the epochs, so the last is kept, and no score is printed."""
    agree = agree or (lambda flag: flag)
    log = None if quiet else log
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    torch.manual_seed(tc.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / max(1, tc.warmup_steps)))
    res = FitResult()
    best_state = copy.deepcopy(model.state_dict())
    top: list[tuple[float, int, dict]] = []     # (score, epoch, weights) of the best epochs, for average_top
    start = time.monotonic()
    deadline = start + tc.max_minutes * 60 if tc.max_minutes else math.inf
    bad = 0
    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                  TimeElapsedColumn(), transient=False, disable=quiet) as progress:
        task = progress.add_task(label, total=tc.epochs, info="")
        for epoch in range(1, tc.epochs + 1):
            model.train()
            total, n = 0.0, 0
            last_log = time.monotonic()
            for batch in batches(epoch):
                loss = loss_fn(batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if tc.grad_clip:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
                opt.step()
                sched.step()
                total += loss.item()
                n += 1
                if log and time.monotonic() - last_log > 60:
                    last_log = time.monotonic()
                    log(f"{label}: epoch {epoch} batch {n} loss {total / n:.4f} [{last_log - start:.0f}s]")
                if agree(time.monotonic() > deadline):
                    break
            model.eval()
            score = validate()
            res.epochs = epoch
            res.history.append({"epoch": epoch, "loss": total / max(1, n), "valid": score,
                                "lr": opt.param_groups[0]["lr"], "seconds": time.monotonic() - start})
            if tc.average_top > 1:
                top = sorted(top + [(score, epoch, copy.deepcopy(model.state_dict()))], key=lambda t: -t[0])[:tc.average_top]
            if score > res.best_score:
                res.best_score, res.best_epoch, bad = score, epoch, 0
                best_state = copy.deepcopy(model.state_dict())
            else:
                bad += 1
                sched.base_lrs = [lr * tc.plateau_decay for lr in sched.base_lrs]
            info = (f"epoch {epoch} loss {total / max(1, n):.4f} valid {score:.4f} (best {res.best_score:.4f} @ "
                    f"{res.best_epoch})" if holdout else
                    f"epoch {epoch} loss {total / max(1, n):.4f} (no holdout: the last epoch is kept)")
            progress.update(task, advance=1, info=info)
            if log:
                log(f"{label}: {info} [{time.monotonic() - start:.0f}s]")
            if bad >= tc.patience:
                res.stopped = "patience"
                break
            if agree(time.monotonic() > deadline):
                res.stopped = "time budget"
                break
        else:
            res.stopped = "epochs"
    model.load_state_dict(best_state)
    if len(top) > 1:
        _try_average(model, top, validate, res, log, label)
    res.seconds = time.monotonic() - start
    return res


def _try_average(model: torch.nn.Module, top: list[tuple[float, int, dict]], validate: Callable[[], float],
                 res: FitResult, log: Callable[[str], None] | None, label: str) -> None:
    """Checkpoint averaging: load the mean weights of the ``top`` epochs and keep them only if the
    validation score prefers them to the best single epoch (the choice stays on validation)."""
    best = copy.deepcopy(model.state_dict())
    mean = {k: (sum(state[k].float() for _, _, state in top) / len(top)).to(v.dtype) if v.is_floating_point() else v
            for k, v in best.items()}
    model.load_state_dict(mean)
    model.eval()
    score = validate()
    epochs = sorted(e for _, e, _ in top)
    res.average_score = score
    if score > res.best_score:
        res.best_score, res.averaged = score, epochs
    else:
        model.load_state_dict(best)
    if log:
        log(f"{label}: mean of epochs {epochs}: valid {score:.4f} ({'kept' if res.averaged else 'not kept'})")


# ---------------------------------------------------------------------------------------------
# Checkpoints.

def save_checkpoint(path: str | Path, model: UnifiedModel, extra: dict | None = None) -> Path:
    """Write weights + config (+ ``extra``, e.g. id maps, metrics) atomically to ``path``."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save({"format": "townsquare.rec/1", "config": model.cfg.to_dict(),
                "state_dict": model.state_dict(), "extra": extra or {}}, tmp)
    os.replace(tmp, p)
    return p


def load_checkpoint(path: str | Path, map_location: str = "cpu") -> tuple[UnifiedModel, dict]:
    """Load a checkpoint written by ``save_checkpoint``: (model in eval mode, extra)."""
    try:
        blob = torch.load(Path(path), map_location=map_location, weights_only=False)
    except (OSError, RuntimeError, EOFError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read checkpoint ({exc.__class__.__name__})")
    except Exception as exc:  # unpickling garbage raises many kinds of errors
        raise ValueError(f"{path}: not a checkpoint ({exc.__class__.__name__})")
    if not isinstance(blob, dict) or blob.get("format") != "townsquare.rec/1":
        raise ValueError(f"{path}: not a townsquare.rec checkpoint")
    model = UnifiedModel(RecConfig.from_dict(blob["config"]))
    model.load_state_dict(blob["state_dict"])
    model.eval()
    return model, blob.get("extra", {})


def config_summary(cfg: RecConfig, tc: TrainConfig) -> dict:
    return {**cfg.to_dict(), **{f"train.{k}": v for k, v in asdict(tc).items()}}
