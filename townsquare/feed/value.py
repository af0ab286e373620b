"""The value model: one number per candidate post from the predicted actions.

    value = sum over heads h of  weight[h] * p[h]

with the weights of ``config.DEFAULT_VALUE_WEIGHTS`` (configurable under ``[feed.value_weights]``).
Short-term heads (open, dwell, like, comment, share) and long-term heads (follow_author, two_way)
add value; hide and report subtract heavily. ``contributions`` says which predicted actions made
an item's value, which the explanations quote.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from townsquare.feed.config import DEFAULT_VALUE_WEIGHTS


class ValueModel:
    def __init__(self, weights: Mapping[str, float] | None = None) -> None:
        self.weights = dict(DEFAULT_VALUE_WEIGHTS if weights is None else weights)

    def contributions(self, heads: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """weight * probability for every head the model predicted (missing heads count 0)."""
        return {h: w * np.asarray(heads[h], dtype=np.float64) for h, w in self.weights.items() if h in heads}

    def value(self, heads: Mapping[str, np.ndarray]) -> np.ndarray:
        parts = self.contributions(heads)
        if not parts:
            return np.zeros(0)
        return np.sum(np.stack(list(parts.values())), axis=0)

    def top_actions_all(self, heads: Mapping[str, np.ndarray], indices, n: int = 2) -> list[list[dict]]:
        """``top_actions`` for many items at once (contributions computed once)."""
        parts = self.contributions(heads)
        names = list(parts)
        if not names:
            return [[] for _ in indices]
        idx = np.asarray(list(indices), dtype=np.int64)
        contrib = np.stack([parts[h] for h in names])[:, idx]  # [heads, items]
        probs = np.stack([np.asarray(heads[h], dtype=np.float64) for h in names])[:, idx]
        order = np.argsort(-contrib, axis=0, kind="stable")[:n].T.tolist()  # [items, n]
        contrib, probs = contrib.T.tolist(), probs.T.tolist()
        return [[{"action": names[k], "p": round(p[k], 4), "contribution": round(c[k], 4)} for k in ks if c[k] > 0]
                for ks, c, p in zip(order, contrib, probs, strict=True)]

    def top_actions(self, heads: Mapping[str, np.ndarray], index: int, n: int = 2) -> list[dict]:
        """The n predicted actions that add the most value to item ``index`` (positive ones only)."""
        parts = self.contributions(heads)
        ranked = sorted(((float(v[index]), h) for h, v in parts.items() if v[index] > 0), reverse=True)
        return [{"action": h, "p": round(float(heads[h][index]), 4), "contribution": round(c, 4)}
                for c, h in ranked[:n]]
