"""Top-k metrics for people-you-may-know: recall@k and NDCG@k with binary relevance."""

from __future__ import annotations

import math
from collections.abc import Sequence


def recall_at_k(recommended: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """Share of the relevant people found in the first k recommendations."""
    if not relevant:
        return 0.0
    hits = sum(1 for x in list(recommended)[:k] if x in relevant)
    return hits / len(relevant)


def ndcg_at_k(recommended: Sequence[int], relevant: set[int], k: int = 10) -> float:
    """DCG of the first k (gain 1 per hit, discount 1/log2(rank+1)) over the best possible DCG."""
    if not relevant:
        return 0.0
    dcg = sum(1 / math.log2(i + 2) for i, x in enumerate(list(recommended)[:k]) if x in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(len(relevant), k)))
    return dcg / ideal
