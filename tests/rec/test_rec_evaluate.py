"""Ranking metrics against hand-computed examples: ranks, ties, exclusion, HR/NDCG/MRR."""

from __future__ import annotations

import math

import torch

from townsquare.rec.evaluate import evaluate_histories, metrics_from_ranks, target_ranks


def test_ranks_with_ties_stable_and_pessimistic():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1]] * 3)
    targets = torch.tensor([2, 0, 3])
    # Target 2 (0.5): item 1 is higher, item 0 ties and comes first in catalog order -> rank 3.
    # Target 0 (0.5): item 1 higher; item 2 ties but comes later -> rank 2 (stable), 3 (pessimistic).
    assert target_ranks(scores, targets).tolist() == [3.0, 2.0, 4.0]
    assert target_ranks(scores, targets, ties="pessimistic").tolist() == [3.0, 3.0, 4.0]


def test_excluded_items_do_not_count_and_excluded_target_is_a_miss():
    scores = torch.tensor([[0.5, 0.9, 0.5, 0.1], [0.5, 0.9, 0.5, 0.1]])
    exclude = torch.tensor([[False, True, False, False], [False, False, True, False]])
    ranks = target_ranks(scores, torch.tensor([2, 2]), exclude)
    assert ranks[0].item() == 2.0            # item 1 excluded, item 0 still ties before
    assert math.isinf(ranks[1].item())       # the target itself is in the history


def test_metrics_by_hand():
    m = metrics_from_ranks(torch.tensor([1.0, 3.0, math.inf, 20.0]), ks=(10, 50))
    assert m["HR@10"] == 0.5
    assert abs(m["NDCG@10"] - (1.0 + 1.0 / math.log2(4)) / 4) < 1e-12
    assert m["HR@50"] == 0.75
    assert abs(m["NDCG@50"] - (1.0 + 0.5 + 1.0 / math.log2(21)) / 4) < 1e-12
    assert abs(m["MRR"] - (1.0 + 1 / 3 + 0.0 + 1 / 20) / 4) < 1e-12


def test_evaluate_histories_excludes_history_items():
    # Fixed scores: item k (1-based) scores -k, so item 1 is always first.
    def score(hs):
        return -torch.arange(1, 6).float().expand(len(hs), -1)

    histories = [[1, 2], [3], [1, 4]]
    targets = [3, 1, 4]
    m = evaluate_histories(score, histories, targets, n_items=5, batch_size=2, ks=(1, 2))
    # user 0: items 1, 2 excluded -> item 3 ranks 1. user 1: item 1 ranks 1. user 2: target in history -> miss.
    assert m["HR@1"] == 2 / 3
    assert abs(m["MRR"] - 2 / 3) < 1e-12
