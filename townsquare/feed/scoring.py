"""What the feed needs from a ranking model, and the heuristic ranker used when none is trained.

The unified model (``townsquare.rec.serve.Scorer``) implements ``Scorer``; ``load_scorer`` returns
it when a trained checkpoint is active, else ``None`` and the feed falls back to ``HeuristicRanker``
(and says so in every response).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

import numpy as np

from townsquare.feed.types import Candidate, ViewerContext
from townsquare.rec.heads import POST_HEADS


@runtime_checkable
class Scorer(Protocol):
    """The in-process interface of the unified model (see docs/rec.md)."""

    def encode(self, account_id: int, **known: Any) -> Any:
        """``known``: what the caller already read this request (``events``, newest first;
        ``following``, ``followers``, ``hidden``), so the scorer need not read it again."""
        ...

    def retrieve(self, state: Any, k: int, kind: str = "post",
                 exclude: set[int] | None = None) -> list[tuple[int, float]]: ...

    def score(self, state: Any, post_ids: Sequence[int], now: datetime | None = None) -> dict[str, np.ndarray]: ...

    def score_accounts(self, state: Any, account_ids: Sequence[int]) -> dict[str, np.ndarray]: ...


def load_scorer(settings, db=None) -> Scorer | None:
    """The active unified-model scorer, or None when the rec package or a trained model is missing."""
    try:
        from townsquare.rec.serve import Scorer as RecScorer  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        return RecScorer.load_active(settings, db)
    except FileNotFoundError:
        return None


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


class HeuristicRanker:
    """Hand-set logistic estimates of every head from engagement, affinity, topics and age.

    Not learned: it makes the feed sensible before the unified model is trained.
    """

    name = "heuristic"

    def score(self, ctx: ViewerContext, cands: Sequence[Candidate], now: datetime) -> dict[str, np.ndarray]:
        if not cands:
            return {h: np.zeros(0) for h in POST_HEADS}
        pop = np.array([math.log1p(c.likes + 2 * c.comments + 3 * c.reposts) for c in cands])
        age = np.array([c.age_hours(now) for c in cands])
        aff = np.array([math.log1p(ctx.author_affinity.get(c.author_id, 0.0)) for c in cands])
        follows = np.array([c.author_id in ctx.following for c in cands], float)
        topic = np.array([math.log1p(sum(ctx.topic_affinity.get(t, 0.0) for t in c.hashtags)) for c in cands])
        friends = np.array([math.log1p(len(c.sources.get("friends_engaged", ()))) for c in cands])
        less_a = np.array([c.author_id in ctx.show_less_authors for c in cands], float)
        less_t = np.array([bool(ctx.show_less_topics.intersection(c.hashtags)) for c in cands], float)
        recency = -0.02 * np.minimum(age, 96)
        base = 0.9 * aff + 0.7 * follows + 0.6 * topic + 0.5 * friends + 0.35 * pop + recency - 1.5 * less_a - 0.8 * less_t
        heads = {
            "open": _sigmoid(-1.2 + base),
            "dwell": _sigmoid(-1.5 + base),
            "like": _sigmoid(-2.8 + base),
            "comment": _sigmoid(-4.5 + base),
            "share": _sigmoid(-5.0 + base),
            "follow_author": (1 - follows) * _sigmoid(-4.5 + 0.6 * topic + 0.5 * friends + 0.3 * pop - 2 * less_a),
            "two_way": (1 - follows) * _sigmoid(-6.0 + 0.6 * friends + 0.4 * topic),
            "hide": _sigmoid(-4.0 + 2.5 * less_a + 1.2 * less_t - 0.8 * aff - 0.5 * follows),
            "report": _sigmoid(-7.0 + 1.5 * less_a),
        }
        return heads
