"""Ranker distillation: a big unified model (the teacher) teaches a small one (the student).

Read top to bottom:

1. ``KDConfig`` and ``check_student``: the knobs, and the rule that a student is smaller.
2. The two teaching signals, for any pair of models over the same entities:
   * ``retrieval_kd_loss``: KL divergence from the teacher's softened retrieval distribution to the
     student's, over the same candidates (the whole catalogue, or sampled negatives with their logQ
     correction applied to both models alike, after the softening), times T^2 (Hinton et al., 2015).
   * ``head_kd_loss``: binary cross-entropy of the student's action heads against the teacher's
     probabilities, at every (state, next entity) pair: the teacher labels pairs whose true outcome
     is unknown, too.
3. The public id files (``townsquare bench rec`` data): ``distill_id_loss`` = true next-item loss +
   retrieval KD. The teacher reads a longer history than the student: each training window is the
   student's, extended backwards to the teacher's length, and the states are aligned by position.
   (Id files have a single "interact" action, so their action heads have nothing to learn and no
   head term is used.)
4. The app's event log: ``distill_event_loss`` = the usual event loss (retrieval + heads on true
   events) + retrieval KD over the batch's entities and random ids + head KD.
5. ``train_ids``: one training loop for a teacher, a plain student and a distilled student on an id
   file, identical except for the loss; per-epoch checkpoints make it resumable.

Total loss = true loss + ``retrieval_weight`` * KD_retrieval + ``head_weight`` * KD_heads.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from townsquare.errors import InvalidInput
from townsquare.rec.model import EntityFeatures, RecConfig, UnifiedModel, history_from_ids
from townsquare.rec.train import EventBatch, FitResult, NegativeSampler, TrainConfig, event_batch_loss, fit

# A logit for "not a candidate" (a negative that is the row's own positive): finite, so that
# KL terms stay 0 * finite instead of 0 * inf.
MASKED = -1e4


# ---------------------------------------------------------------------------------------------
# 1. Configuration.

@dataclass
class KDConfig:
    # > 1 softens both distributions (the KL is scaled by T^2). Over thousands of items that moves the
    # KL's weight to the tail the top-10 never shows: T=2 made students worse than plain ones on
    # ML-1M-t2's validation set, T=1 better (docs/distillation.md).
    temperature: float = 1.0
    retrieval_weight: float = 1.0  # weight of the retrieval KL against the true loss
    head_weight: float = 1.0       # weight of the head matching (event log only)


def n_params(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def check_student(teacher: RecConfig, student: RecConfig, teacher_params: int, student_params: int) -> None:
    """A student must be smaller than its teacher (no wider, no deeper, no longer history, fewer
    parameters) and read the same entities (ids and content features). Raises InvalidInput."""
    for name in ("d_model", "n_layers", "max_len"):
        if getattr(student, name) > getattr(teacher, name):
            raise InvalidInput(f"the student is larger than its teacher: {name} {getattr(student, name)} > "
                               f"{getattr(teacher, name)}")
    if student_params >= teacher_params:
        raise InvalidInput(f"the student is not smaller than its teacher: {student_params:,} parameters vs "
                           f"{teacher_params:,}")
    for name in ("n_ids", "n_authors", "text_dim", "content_types", "heads", "context_dim"):
        if getattr(student, name) != getattr(teacher, name):
            raise InvalidInput(f"student and teacher read different entities: {name} "
                               f"{getattr(student, name)!r} vs {getattr(teacher, name)!r}")


# ---------------------------------------------------------------------------------------------
# 2. Teaching signals.

def retrieval_kd_loss(student_logits: Tensor, teacher_logits: Tensor, temperature: float,
                      logq: Tensor | None = None) -> Tensor:
    """KL(teacher || student) of the softened distributions over the same candidates [P, C], x T^2.

    ``logq`` [C]: the sampled candidates' log expected counts. It is subtracted *after* dividing by
    the temperature: exp(s / T - logQ) summed over a sample estimates the full catalogue's sum of
    exp(s / T); subtracting it before (exp((s - logQ) / T)) would correct by only logQ / T."""
    t = temperature
    s, te = student_logits / t, teacher_logits / t
    if logq is not None:
        s, te = s - logq, te - logq
    return F.kl_div(F.log_softmax(s, dim=-1), F.log_softmax(te, dim=-1), log_target=True,
                    reduction="batchmean") * t * t


def head_kd_loss(student_logits: Tensor, teacher_logits: Tensor) -> Tensor:
    """Cross-entropy of the student's head logits [P, H] against the teacher's probabilities."""
    return F.binary_cross_entropy_with_logits(student_logits, torch.sigmoid(teacher_logits))


def candidate_logits(model: UnifiedModel, states: Tensor, pos: EntityFeatures, pos_keys: Tensor,
                     neg: EntityFeatures, neg_keys: Tensor) -> Tensor:
    """Scores [P, 1 + K]: column 0 is each row's positive, then K shared negatives (a negative equal
    to the row's positive is masked). Minus the candidates' logQ (0 for the positive), these are the
    sampled softmax logits of ``sampled_softmax_loss``; teacher and student are compared over the
    same candidates."""
    q = model.query(states)
    pos_s = (q * model.entity_vectors(pos)).sum(-1, keepdim=True)
    neg_s = q @ model.entity_vectors(neg).T
    if model.cfg.similarity == "cosine":
        pos_s, neg_s = pos_s / model.log_temp.exp(), neg_s / model.log_temp.exp()
    pb, nb = model.entity_bias(pos), model.entity_bias(neg)
    if pb is not None:
        pos_s, neg_s = pos_s + pb[:, None], neg_s + nb[None, :]
    neg_s = neg_s.masked_fill(pos_keys[:, None] == neg_keys[None, :], MASKED)
    return torch.cat([pos_s, neg_s], dim=1)


# ---------------------------------------------------------------------------------------------
# 3. Id files.

def kd_windows(sequences: list[list[int]], student_len: int, teacher_len: int) -> list[list[int]]:
    """Training windows: the student's (cut from each sequence's end every ``student_len`` items, as
    ``training_windows(all_windows=True)``), each extended backwards to ``teacher_len + 1`` items
    so the teacher reads its longer history. The student uses the last ``student_len + 1``."""
    out = []
    for s in sequences:
        end = len(s)
        while end >= 2:
            out.append(s[max(0, end - max(teacher_len, student_len) - 1):end])
            end -= student_len
    return out


def _id_targets(inputs: list[list[int]], targets: list[list[int]], max_len: int):
    h = history_from_ids(inputs, max_len)
    tg = torch.zeros(h.entities.shape, dtype=torch.long)
    for i, t in enumerate(targets):
        tg[i, :len(t)] = torch.tensor(t, dtype=torch.long)
    return h, tg


def teacher_states(teacher: UnifiedModel, windows: list[list[int]], student_len: int) -> Tensor:
    """The teacher's states at the student's positions of each window, row after row: [P, d], in the
    order of ``distill_id_loss``'s positions (every position of a window predicts an item)."""
    lt = teacher.cfg.max_len
    with torch.no_grad():
        ht = history_from_ids([w[:-1][-lt:] for w in windows], lt)
        states = teacher.encode(ht)
        n_student = torch.tensor([len(w[:-1][-student_len:]) for w in windows])
        # Student position j of row i is teacher position j + (teacher length - student length).
        rows = torch.repeat_interleave(torch.arange(len(windows)), n_student)
        cols = torch.cat([torch.arange(k) for k in n_student.tolist()]) + (ht.lengths - n_student)[rows]
        return states[rows, cols]


def cache_teacher_states(teacher: UnifiedModel, windows: list[list[int]], student_len: int,
                         batch_size: int = 256, label: str = "teacher states") -> list[Tensor]:
    """``teacher_states`` of every window, computed once (the teacher is frozen and in eval mode, so
    its states do not change between epochs), kept in half precision: list of [n_i, d]."""
    from rich.progress import track

    teacher.eval()
    out: list[Tensor] = []
    for i in track(range(0, len(windows), batch_size), description=label, transient=True):
        part = windows[i:i + batch_size]
        st = teacher_states(teacher, part, student_len).half()
        out.extend(st.split([len(w[:-1][-student_len:]) for w in part]))
    return out


def distill_id_loss(student: UnifiedModel, windows: list[list[int]], negatives: int,
                    sampler: NegativeSampler | None = None, teacher: UnifiedModel | None = None,
                    kd: KDConfig | None = None, t_states: Tensor | None = None) -> tuple[Tensor, dict[str, float]]:
    """Next-item loss of ``student`` on ``kd_windows`` (+ retrieval KD from ``teacher`` when given;
    ``t_states``: its states at the student's positions when cached, else computed here).
    ``negatives == 0``: full softmax over the catalogue, else that many shared negatives."""
    ls = student.cfg.max_len
    s_in = [w[:-1][-ls:] for w in windows]
    h, tg = _id_targets(s_in, [w[1:][-ls:] for w in windows], ls)
    states = student.encode(h)
    valid = tg > 0
    rows, cols = valid.nonzero(as_tuple=True)
    s, targets = states[rows, cols], tg[rows, cols]
    if teacher is not None and t_states is None:
        t_states = teacher_states(teacher, windows, ls)
    if t_states is not None:
        if len(t_states) != len(s):
            raise ValueError("teacher states do not line up with the student's positions")
        t_states = t_states.float()
    if negatives <= 0:
        logits = student.retrieval_scores(s, *student.all_id_vectors())
        true = F.cross_entropy(logits, targets - 1)
        t_logits, cand_logq = None, None
        if t_states is not None:
            with torch.no_grad():  # the teacher is frozen: no graph through its [P, n_ids] logits
                t_logits = teacher.retrieval_scores(t_states, *teacher.all_id_vectors())
    else:
        if sampler is None:
            neg = torch.randint(1, student.cfg.n_ids + 1, (negatives,))
            logq = torch.full((negatives,), math.log(negatives / student.cfg.n_ids))
        else:
            neg, logq = sampler.sample(negatives)
        pos_f, neg_f = EntityFeatures(ids=targets), EntityFeatures(ids=neg)
        logits = candidate_logits(student, s, pos_f, targets, neg_f, neg)
        cand_logq = torch.cat([torch.zeros(1), logq])  # the positive is not sampled: no correction
        true = F.cross_entropy(logits - cand_logq, torch.zeros(len(logits), dtype=torch.long))
        t_logits = None
        if t_states is not None:
            with torch.no_grad():
                t_logits = candidate_logits(teacher, t_states, pos_f, targets, neg_f, neg)
    parts = {"true": true.item()}
    loss = true
    if t_logits is not None:
        kd = kd or KDConfig()
        k = retrieval_kd_loss(logits, t_logits, kd.temperature, cand_logq)
        loss = loss + kd.retrieval_weight * k
        parts["kd_retrieval"] = k.item()
    return loss, parts


# ---------------------------------------------------------------------------------------------
# 4. The event log.

def distill_event_loss(student: UnifiedModel, teacher: UnifiedModel, batch: EventBatch, negatives: int,
                       action_weight: float, kd: KDConfig) -> tuple[Tensor, dict[str, float]]:
    """The event loss on true events + retrieval KD + head KD, at every position whose next event
    exists. Both models read the same batch (the student's window)."""
    h = batch.history
    states = student.encode(h)
    loss, parts = event_batch_loss(student, batch, negatives=negatives, action_weight=action_weight, states=states)
    pair = h.mask[:, 1:]
    if not pair.any():
        return loss, parts
    with torch.no_grad():
        t_states = teacher.encode(h)[:, :-1][pair]
    s = states[:, :-1][pair]
    nxt = h.entities[:, 1:].map(lambda t: t[pair])
    keys = (batch.keys if batch.keys is not None else h.entities.ids)[:, 1:][pair]
    ctx = None if batch.context is None else batch.context[:, 1:][pair]
    # Candidates: the batch's distinct next entities (logQ = log of their count) + random ids.
    uniq, inverse, counts = torch.unique(keys, return_inverse=True, return_counts=True)
    first = torch.zeros(len(uniq), dtype=torch.long).scatter_(0, inverse, torch.arange(len(inverse)))
    cand = nxt[first]
    logq = torch.log(counts.float())
    if negatives and student.cfg.n_ids:
        rnd = torch.randint(1, student.cfg.n_ids + 1, (negatives,))
        cand = _cat_features(cand, EntityFeatures(ids=rnd))
        logq = torch.cat([logq, torch.full((negatives,), math.log(negatives / student.cfg.n_ids))])

    def logits(model: UnifiedModel, st: Tensor) -> Tensor:
        return model.retrieval_scores(st, model.entity_vectors(cand), model.entity_bias(cand))

    with torch.no_grad():
        t_ret = logits(teacher, t_states)
        t_heads = teacher.action_logits(t_states, teacher.entity_vectors(nxt), ctx)
    k_ret = retrieval_kd_loss(logits(student, s), t_ret, kd.temperature, logq)
    k_heads = head_kd_loss(student.action_logits(s, student.entity_vectors(nxt), ctx), t_heads)
    parts.update(kd_retrieval=k_ret.item(), kd_heads=k_heads.item())
    return loss + kd.retrieval_weight * k_ret + kd.head_weight * k_heads, parts


def _cat_features(a: EntityFeatures, b: EntityFeatures) -> EntityFeatures:
    """Concatenate entity features; ``b`` may carry ids only (its content fields become zeros)."""
    def cat(x: Tensor | None, y: Tensor | None, n: int) -> Tensor | None:
        if x is None:
            return None
        if y is None:
            y = torch.zeros((n, *x.shape[1:]), dtype=x.dtype)
        return torch.cat([x, y])
    n = b.shape[0]
    return EntityFeatures(ids=torch.cat([a.ids, b.ids]), content_type=cat(a.content_type, b.content_type, n),
                          author=cat(a.author, b.author, n), text=cat(a.text, b.text, n))


# ---------------------------------------------------------------------------------------------
# 5. Training on an id file.

@dataclass
class IdRun:
    """What one training run on an id file gives back."""

    model: UnifiedModel
    fit: FitResult
    cpu_seconds: float
    resumed_epochs: int = 0


class EpochCheckpoint:
    """A per-epoch checkpoint (weights, epochs done, best score) so an interrupted run resumes from
    its last finished epoch. The optimiser restarts (with its warm-up) on resume."""

    def __init__(self, path: Path | None, key: dict) -> None:
        self.path, self.key = path, key

    def load(self, model: torch.nn.Module) -> int:
        if self.path is None or not self.path.exists():
            return 0
        blob = torch.load(self.path, map_location="cpu", weights_only=False)
        if blob.get("key") != self.key:
            return 0  # another configuration: start over
        model.load_state_dict(blob["state_dict"])
        return int(blob["epochs"])

    def save(self, model: torch.nn.Module, epochs: int) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        torch.save({"key": self.key, "epochs": epochs, "state_dict": model.state_dict()}, tmp)
        tmp.replace(self.path)

    def clear(self) -> None:
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def id_scorer(model: UnifiedModel, trained: Tensor) -> Callable[[list[list[int]]], Tensor]:
    from townsquare.bench.rec import _ids_scorer

    return _ids_scorer(model, trained)


def train_ids(split, cfg: RecConfig, tc: TrainConfig, negatives: int, pop_negatives: float,
              validate_on: tuple[list[list[int]], list[int]], teacher: UnifiedModel | None = None,
              kd: KDConfig | None = None, label: str = "train", checkpoint: Path | None = None,
              log: Callable[[str], None] | None = None) -> IdRun:
    """Train one model on ``split`` (a LeaveOneOut); validation NDCG@10 on ``validate_on`` picks the
    epoch. With ``teacher``, the loss adds its retrieval KD and the windows carry the teacher's
    longer history; without it, the same loop and windows trains a plain model."""
    from townsquare.rec.evaluate import evaluate_histories

    torch.manual_seed(tc.seed)
    model = UnifiedModel(cfg)
    n = split.n_items
    counts = torch.bincount(torch.tensor([i for s in split.train for i in s]), minlength=n + 1)[1:]
    model.init_id_bias(counts)
    sampler = NegativeSampler(counts, pop_negatives)
    if negatives >= n:
        negatives = 0
    teacher_len = teacher.cfg.max_len if teacher is not None else cfg.max_len
    windows = kd_windows(split.train, cfg.max_len, teacher_len)
    if teacher is not None:
        teacher.eval()
        check_student(teacher.cfg, cfg, n_params(teacher), n_params(model))
    score = id_scorer(model, torch.cat([torch.zeros(1, dtype=torch.bool), counts > 0]))
    key = {"config": cfg.to_dict(), "train": asdict(tc), "negatives": negatives, "kd": asdict(kd) if kd else None,
           "teacher": teacher.cfg.to_dict() if teacher is not None else None}
    ckpt = EpochCheckpoint(checkpoint, key)
    done = ckpt.load(model)
    if done and log:
        log(f"{label}: resuming after epoch {done} from {checkpoint}")
    tc = TrainConfig(**{**asdict(tc), "epochs": max(1, tc.epochs - done)})
    rng = random.Random(tc.seed + done)
    epochs_seen = [done]

    cached = cache_teacher_states(teacher, windows, cfg.max_len) if teacher is not None else None

    def batches(_epoch: int):
        order = list(range(len(windows)))
        rng.shuffle(order)
        for i in range(0, len(order), tc.batch_size):
            yield order[i:i + tc.batch_size]

    def loss_fn(batch: list[int]) -> Tensor:
        t_states = None if cached is None else torch.cat([cached[j] for j in batch])
        return distill_id_loss(model, [windows[j] for j in batch], negatives, sampler, teacher, kd, t_states)[0]

    def validate() -> float:
        epochs_seen[0] += 1
        ckpt.save(model, epochs_seen[0])
        return evaluate_histories(score, *validate_on, n)["NDCG@10"]

    cpu0 = time.process_time()
    res = fit(model, batches, loss_fn, validate, tc, label=label, log=log)
    model.eval()
    return IdRun(model=model, fit=res, cpu_seconds=time.process_time() - cpu0, resumed_epochs=done)


def id_config(split, **overrides: Any) -> tuple[RecConfig, TrainConfig, dict]:
    """The bench's id-file configuration (``bench/rec.py: ours_config``) with ``overrides``."""
    from townsquare.bench.rec import ours_config

    return ours_config(split, **overrides)
