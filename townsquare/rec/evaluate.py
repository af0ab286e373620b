"""Ranking metrics for next-item prediction: HR@K, NDCG@K, MRR over a full ranking.

How a target's rank is computed (exactly):

* Every catalog item is scored. Items in the person's history (the whole history, not only the
  model's window) are excluded: they cannot be recommended. If the target itself is in the
  history it is excluded too, so it counts as a miss (rank = infinity).
* ``ties="stable"`` (the default; "ties in order kept as in the file"): the ranking is a stable
  sort by descending score, so among equal scores the item that comes first in catalog order
  (order of first appearance in the file) ranks higher. Rank = 1 + (#items with a strictly higher
  score) + (#items with an equal score and a lower catalog index).
* ``ties="pessimistic"``: every other item with an equal score ranks above the target.
  Rank = 1 + #items with a score >= the target's, the target excluded.

HR@K = share of targets with rank <= K; NDCG@K = mean of 1/log2(rank + 1) for rank <= K (one
relevant item, so the ideal DCG is 1); MRR = mean of 1/rank over the full ranking (no cut-off).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

KS = (10, 50)


def target_ranks(scores: torch.Tensor, targets: torch.Tensor, exclude: torch.Tensor | None = None,
                 ties: str = "stable") -> torch.Tensor:
    """1-based ranks (float; inf when the target is excluded) of ``targets`` [B] (column indices)
    in ``scores`` [B, N]; ``exclude`` [B, N] bool marks items that cannot be recommended."""
    if ties not in ("stable", "pessimistic"):
        raise ValueError("ties must be 'stable' or 'pessimistic'")
    B, N = scores.shape
    rows = torch.arange(B)
    t_score = scores[rows, targets][:, None]
    higher = scores > t_score
    equal = scores == t_score
    if ties == "stable":
        equal = equal & (torch.arange(N)[None, :] < targets[:, None])
    else:
        equal[rows, targets] = False
    above = higher | equal
    if exclude is not None:
        above = above & ~exclude
    ranks = 1.0 + above.sum(1).double()
    if exclude is not None:
        ranks[exclude[rows, targets]] = math.inf
    return ranks


def metrics_from_ranks(ranks: torch.Tensor, ks: Sequence[int] = KS) -> dict[str, float]:
    ranks = ranks.double()
    out: dict[str, float] = {}
    for k in ks:
        hit = ranks <= k
        out[f"HR@{k}"] = hit.double().mean().item()
        out[f"NDCG@{k}"] = torch.where(hit, 1.0 / torch.log2(ranks.clamp(max=1e9) + 1.0),
                                       torch.zeros_like(ranks)).mean().item()
    out["MRR"] = (1.0 / ranks).mean().item()
    return out


def evaluate_histories(score_fn: Callable[[list[list[int]]], torch.Tensor], histories: list[list[int]],
                       targets: list[int], n_items: int, batch_size: int = 512, ties: str = "stable",
                       ks: Sequence[int] = KS) -> dict[str, float]:
    """Full-ranking metrics. ``score_fn(histories)`` returns scores [B, n_items] where column j is
    item j + 1; histories and targets use item indices 1..n_items."""
    ranks = []
    with torch.no_grad():
        for start in range(0, len(histories), batch_size):
            hs = histories[start:start + batch_size]
            scores = score_fn(hs).float()
            exclude = torch.zeros(len(hs), n_items, dtype=torch.bool)
            for i, h in enumerate(hs):
                exclude[i, torch.tensor(h, dtype=torch.long) - 1] = True
            tg = torch.tensor(targets[start:start + batch_size], dtype=torch.long) - 1
            ranks.append(target_ranks(scores, tg, exclude, ties))
    return metrics_from_ranks(torch.cat(ranks), ks)
