"""Evaluation on the held-out tail of the event log: per-head AUC and retrieval recall@50.

Protocol (exactly):

* Head AUC: every token of the split with a known label (>= 0) for that head, scored from the state
  after the previous token of the same person (context: up to ``max_len`` earlier tokens of any
  split before it; never a later one). AUC is the Mann-Whitney statistic, ties counted half; a head
  needs both classes in the split, else it is reported as missing.
* Retrieval recall@50: for each person with at least one token before the split and at least one
  positive post target in it, the state after their last token before the split ranks the catalog
  (every post created in the ``RETRIEVAL_WINDOW`` (3 days) before the split ends, minus their own
  posts and every post already in their history; older targets count as misses for every system). Targets: the posts they engaged with positively during the split and had not met
  before. recall@50 = (targets in the top 50) / (number of targets), averaged over people.
* Baselines, same cases: ``popularity`` (positive engagements before the split starts; newer first
  on ties) and ``recent from followed`` (posts of accounts they follow when the split starts,
  newest first, then everything else newest first). For the head AUCs the popularity score of a
  post token is its engagement count before the split (an account's: its follower count), and the
  followed baseline scores 1 when the person already follows the author.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import timedelta

import numpy as np
import torch

from townsquare.rec.features import EncodedLog, entity_key, make_batch, windows
from townsquare.rec.heads import POST_HEADS

SPLIT_NO = {"train": 0, "valid": 1, "test": 2}
RECALL_K = 50
# The retrieval inventory: posts created within this window before the split ends (a feed's
# inventory is recent posts; the Scorer uses the same window).
RETRIEVAL_WINDOW = timedelta(days=3)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (ties count half); NaN without both classes."""
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels) > 0.5
    n_pos, n_neg = int(labels.sum()), int((~labels).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    order = np.argsort(scores, kind="mergesort")
    s = scores[order]
    ranks = np.empty(len(s), dtype=np.float64)
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and s[j + 1] == s[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2.0 + 1.0
        i = j + 1
    r = np.empty_like(ranks)
    r[order] = ranks
    return float((r[labels].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


class SplitCases:
    """Everything a split's evaluation needs, computed once (the baselines read the same cases)."""

    def __init__(self, log: EncodedLog, split: str, max_len: int,
                 retrieval_window: timedelta = RETRIEVAL_WINDOW) -> None:
        self.log, self.split, self.max_len = log, split, max_len
        no = SPLIT_NO[split]
        w = log.data.window
        self.start, self.end = w.split_start(split), w.label_end(split)
        # Head cases: (sequence, window a, b) batches and the positions to read.
        self.windows: list[tuple[int, int, int]] = []
        for si, seq in enumerate(log.sequences):
            s0, s1 = seq.split_range(no)
            if s1 > s0:
                g = log.space.graph_tokens
                self.windows += [(si, a, b) for a, b in windows(s1, max_len - g, start=max(s0, 1),
                                                                 predict_first=g > 0)]
        # Retrieval cases.
        table, posts = log.table, log.data.posts
        catalog = [p for p in posts.values() if self.end - retrieval_window <= p.created_at < self.end]
        self.catalog_ids = np.asarray([p.id for p in catalog], dtype=np.int64)
        self.catalog_rows = np.asarray([table.row[entity_key("post", p.id)] for p in catalog], dtype=np.int64)
        col = {p.id: i for i, p in enumerate(catalog)}
        self.catalog_author = np.asarray([p.author_id for p in catalog], dtype=np.int64)
        self.catalog_created = np.asarray([p.created_at.timestamp() for p in catalog], dtype=np.float64)
        self.retrieval: list[tuple[int, int, np.ndarray, set[int]]] = []  # (seq, prefix end, exclude cols, targets)
        for si, seq in enumerate(log.sequences):
            s0, s1 = seq.split_range(no)
            if s0 == 0 or s1 == s0:
                continue
            toks = log.data.sequences[seq.person]
            toks = [t for t in toks if (entity_key(t.kind, t.entity_id) in table.row)]
            seen = {t.entity_id for t in toks[:s0] if t.kind == "post"}
            targets = {col[t.entity_id] for t in toks[s0:s1]
                       if t.kind == "post" and t.target and t.entity_id not in seen and t.entity_id in col}
            if not targets:
                continue
            excl = [col[p] for p in seen if p in col]
            excl += list(np.nonzero(self.catalog_author == seq.person)[0])
            targets -= set(excl)
            if targets:
                self.retrieval.append((si, s0, np.asarray(sorted(set(excl)), dtype=np.int64), targets))
        # Popularity before the split, and who follows whom when it starts.
        self.pop = defaultdict(int)
        for toks in log.data.sequences.values():
            for t in toks:
                if t.ts >= self.start:
                    break
                if t.kind == "post" and t.target:
                    self.pop[t.entity_id] += 1
        self.followers = log.data.timeline.followers_before(self.start)
        self.following: dict[int, set[int]] = defaultdict(set)
        for (a, b), times in log.data.timeline.follow_times.items():
            if times and times[0] < self.start:
                self.following[a].add(b)


def _head_predictions(model, cases: SplitCases, batch_size: int = 128) -> tuple[np.ndarray, np.ndarray, list]:
    """(probabilities [N, H], labels [N, H], (sequence, position) per row) of the split's tokens."""
    log, no = cases.log, SPLIT_NO[cases.split]
    probs, labels, where = [], [], []
    for i in range(0, len(cases.windows), batch_size):
        items = cases.windows[i:i + batch_size]
        offsets: list[int] = []
        batch = make_batch(log, items, offsets)
        with torch.no_grad():
            states = model.encode(batch.history)
        sel_b, sel_t = [], []
        for bi, (si, a, b) in enumerate(items):
            split = log.sequences[si].split
            # With a graph prefix the window's first token is predicted too (from the prefix).
            first = a if offsets[bi] else max(a + 1, 1)
            for p in range(first, b):
                if split[p] == no:
                    sel_b.append(bi)
                    sel_t.append(p - a + offsets[bi])
                    where.append((si, p))
        if not sel_b:
            continue
        bi, ti = torch.tensor(sel_b), torch.tensor(sel_t)
        with torch.no_grad():
            cand = model.entity_vectors(batch.history.entities[bi, ti])
            ctx = None if batch.context is None else batch.context[bi, ti]
            logits = model.action_logits(states[bi, ti - 1], cand, ctx)
        probs.append(torch.sigmoid(logits).numpy())
        labels.append(batch.labels[bi, ti].numpy())
    if not probs:
        H = len(POST_HEADS)
        return np.zeros((0, H)), np.zeros((0, H)), []
    return np.concatenate(probs), np.concatenate(labels), where


def _retrieval_states(model, cases: SplitCases, batch_size: int = 128) -> np.ndarray:
    log = cases.log
    out = []
    for i in range(0, len(cases.retrieval), batch_size):
        room = cases.max_len - cases.log.space.graph_tokens
        items = [(si, max(0, s0 - room), s0) for si, s0, _, _ in cases.retrieval[i:i + batch_size]]
        batch = make_batch(log, items)
        with torch.no_grad():
            out.append(model.last_state(batch.history))
    return torch.cat(out) if out else torch.zeros(0, model.cfg.d_model)


def _recall(score_rows, cases: SplitCases, k: int = RECALL_K) -> float:
    vals = []
    for (_si, _s0, excl, targets), scores in zip(cases.retrieval, score_rows, strict=True):
        scores = np.array(scores, dtype=np.float64, copy=True)
        scores[excl] = -np.inf
        kk = min(k, len(scores))
        top = np.argpartition(-scores, kk - 1)[:kk]
        vals.append(len(targets & set(top.tolist())) / len(targets))
    return float(np.mean(vals)) if vals else math.nan


def _metrics(head_scores: np.ndarray, labels: np.ndarray, recall: float) -> dict[str, float]:
    m: dict[str, float] = {}
    aucs = []
    for h, name in enumerate(POST_HEADS):
        known = labels[:, h] >= 0
        a = auc(head_scores[known, h], labels[known, h]) if known.any() else math.nan
        m[f"auc_{name}"] = a
        if not math.isnan(a):
            aucs.append(a)
    m["auc_mean"] = float(np.mean(aucs)) if aucs else math.nan
    m[f"recall@{RECALL_K}"] = recall
    return m


def evaluate_model(model, cases: SplitCases) -> dict[str, float]:
    model.eval()
    probs, labels, _ = _head_predictions(model, cases)
    states = _retrieval_states(model, cases)
    recall = math.nan
    if len(cases.retrieval):
        with torch.no_grad():
            vecs = model.entity_vectors(cases.log.table.features(cases.catalog_rows))
            scores = model.retrieval_scores(states, vecs).numpy()
        recall = _recall(scores, cases)
    m = _metrics(probs, labels, recall)
    m["n_tokens"] = int(len(labels))
    m["n_people_retrieval"] = len(cases.retrieval)
    return m


def evaluate_baselines(cases: SplitCases) -> list[dict]:
    """Rows for the popularity and recent-from-followed baselines on the same cases."""
    log = cases.log
    data = log.data
    # Head scores per token.
    where = []
    no = SPLIT_NO[cases.split]
    g = log.space.graph_tokens
    for si, a, b in cases.windows:
        seq = log.sequences[si]
        # The same positions as the model's: a window's first token counts when a graph prefix precedes it.
        first = a if len(seq.graph_prefix(seq.times[a], g)[0]) else max(a + 1, 1)
        where += [(si, p) for p in range(first, b) if seq.split[p] == no]
    H = len(POST_HEADS)
    labels = np.zeros((len(where), H), dtype=np.float32)
    pop = np.zeros(len(where))
    fol = np.zeros(len(where))
    for i, (si, p) in enumerate(where):
        seq = log.sequences[si]
        tok = data.sequences[seq.person][p] if len(data.sequences[seq.person]) == len(seq.rows) else None
        labels[i] = seq.labels[p]
        if tok is None:
            continue
        author = data.author_of(tok)
        pop[i] = cases.pop.get(tok.entity_id, 0) if tok.kind == "post" else cases.followers.get(tok.entity_id, 0)
        fol[i] = float(author is not None and data.timeline.following_at(seq.person, author, tok.ts))
    # Retrieval.
    created = cases.catalog_created
    recency = (created - created.min()) / max(1.0, float(np.ptp(created))) if len(created) else created
    pop_scores = np.asarray([cases.pop.get(int(p), 0) for p in cases.catalog_ids], dtype=np.float64) + 0.5 * recency
    pop_rows, fol_rows = [], []
    for si, _s0, _excl, _t in cases.retrieval:
        person = log.sequences[si].person
        followed = np.isin(cases.catalog_author, list(cases.following.get(person, ())))
        pop_rows.append(pop_scores)
        fol_rows.append(followed * 2.0 + recency)
    return [
        {"name": "popularity", "metrics": {**_metrics(np.repeat(pop[:, None], H, 1), labels,
                                                      _recall(pop_rows, cases)), "n_tokens": len(where)}},
        {"name": "recent from followed", "metrics": {**_metrics(np.repeat(fol[:, None] + 0.0, H, 1), labels,
                                                                _recall(fol_rows, cases)), "n_tokens": len(where)}},
    ]


def validation_score(m: dict[str, float]) -> float:
    """One number to pick the best epoch: mean head AUC and recall@50, averaged (missing -> skipped)."""
    parts = [v for v in (m.get("auc_mean"), m.get(f"recall@{RECALL_K}")) if v is not None and not math.isnan(v)]
    return float(np.mean(parts)) if parts else 0.0
