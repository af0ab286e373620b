"""The blender: turns valued candidates into an ordered feed.

Rules, applied greedily slot by slot (docs/feed.md):
- never the same post twice (the first occurrence wins);
- nothing from hidden authors (blocked either way or muted) - also filtered at collection;
- freshness: value decays with a half-life of ``freshness_half_life_h`` hours;
- in-network vs discovery: each slot goes to the in-network queue while the in-network share so
  far is under the target share (set by the friends-first <-> discovery slider), else discovery;
- author diversity: an author never re-appears within ``author_gap`` slots nor more than
  ``max_per_author`` times per 30 slots;
- content-type mix: at most ``max_kind_run`` items of one content type in a row;
- discovery earns its slot: with ``discovery_value_ratio`` r > 0 (model ranking only), a discovery
  slot goes to in-network when the best discovery item is valued below r x the best in-network one,
  so the discovery share falls when discovery has little worth showing;
- items worth showing first: with ``hold_back_negative``, an item whose value is <= 0 (more harm
  than good expected) comes only after every positive one, whichever queue it is in.
When no candidate satisfies every rule, the rules are relaxed one at a time (content-type mix,
then the per-window cap, then the author gap): a short feed is worse than a repeated author.

Before blending, ``relevant_discovery`` filters discovery candidates the model finds unrelated to
what the viewer engages with (model ranking only).
"""

from __future__ import annotations

import logging
import math
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from townsquare.feed.config import BlendConfig
from townsquare.feed.types import Candidate

log = logging.getLogger(__name__)

WINDOW = 30
SCAN = 60  # how deep into a queue the rules look before relaxing


@dataclass(frozen=True)
class BlendInput:
    candidates: Sequence[Candidate]
    values: np.ndarray  # value-model output, already adjusted by the person's controls
    in_network_share: float
    hidden_authors: frozenset[int] = frozenset()
    # > 0: a discovery slot goes to the best in-network item instead when the best discovery item is
    # valued below this share of it (values comparable across both queues: a learned ranker's).
    discovery_value_ratio: float = 0.0


def freshness(cands: Sequence[Candidate], now: datetime, half_life_h: float) -> np.ndarray:
    ages = np.array([c.age_hours(now) for c in cands], dtype=np.float64)
    return np.power(0.5, ages / max(half_life_h, 1e-6))


def blended_value(values: np.ndarray, cands: Sequence[Candidate], now: datetime, cfg: BlendConfig) -> np.ndarray:
    """Freshness-adjusted value. Negative values shrink toward 0 with age too, so sign is kept."""
    f = freshness(cands, now, cfg.freshness_half_life_h)
    return np.where(values >= 0, values * f, values * (2 - f))


def blend(inp: BlendInput, cfg: BlendConfig, limit: int | None = None) -> list[int]:
    """Indices into ``inp.candidates`` in feed order."""
    limit = cfg.ranked_list_size if limit is None else limit
    values = np.asarray(inp.values, dtype=np.float64)
    order = np.argsort(-values, kind="stable").tolist()
    value = values.tolist()
    # Plain lists of what the rules read: the loops below touch them thousands of times a feed.
    authors = [c.author_id for c in inp.candidates]
    kinds = [c.kind for c in inp.candidates]
    seen_posts: set[int] = set()
    # Two tiers: items worth showing (value > 0) first; the in-network/discovery share never forces
    # in an item the value model expects to do more harm than good while a positive one waits.
    tiers = [{True: [], False: []}, {True: [], False: []}]
    for i in order:
        c = inp.candidates[i]
        if c.post_id in seen_posts or c.author_id in inp.hidden_authors:
            continue
        seen_posts.add(c.post_id)
        tier = 1 if cfg.hold_back_negative and value[i] <= 0 else 0
        tiers[tier][c.in_network].append(i)
    out: list[int] = []
    recent_authors: deque[int] = deque(maxlen=max(cfg.author_gap - 1, 0))
    window: deque[int] = deque(maxlen=WINDOW)  # authors of the last 30 slots
    in_window: Counter[int] = Counter()
    kind_run: tuple[str | None, int] = (None, 0)
    n_in = 0
    share = min(max(inp.in_network_share, 0.0), 1.0)
    for queues in tiers:
        while len(out) < limit and (queues[True] or queues[False]):
            want_in = ((n_in < math.floor(share * (len(out) + 1) + 0.5)) if queues[True] and queues[False]
                       else bool(queues[True]))
            if (not want_in and queues[True] and inp.discovery_value_ratio > 0 and value[queues[True][0]] > 0
                    and value[queues[False][0]] < inp.discovery_value_ratio * value[queues[True][0]]):
                want_in = True  # the best discovery item is not worth its slot: less discovery this time
            queue, pick = queues[want_in], 0
            # Relax the rules one at a time: content-type mix first, then the per-window cap, then the gap.
            for level in range(4):
                found = False
                for q in (queues[want_in], queues[not want_in]):
                    for pos in range(min(len(q), SCAN)):
                        idx = q[pos]
                        author = authors[idx]
                        if level < 3 and author in recent_authors:
                            continue
                        if level < 2 and in_window[author] >= cfg.max_per_author:
                            continue
                        if level < 1 and kind_run[0] == kinds[idx] and kind_run[1] >= cfg.max_kind_run:
                            continue
                        queue, pick, found = q, pos, True
                        break
                    if found:
                        break
                if found:
                    break
            idx = queue.pop(pick)
            c = inp.candidates[idx]
            out.append(idx)
            n_in += c.in_network
            if recent_authors.maxlen:
                recent_authors.append(c.author_id)
            if len(window) == WINDOW:
                in_window[window[0]] -= 1
            window.append(c.author_id)
            in_window[c.author_id] += 1
            kind_run = (c.kind, kind_run[1] + 1) if kind_run[0] == c.kind else (c.kind, 1)
    return out


def relevant_discovery(scorer, state, cands: list[Candidate], cfg,
                       followers: set[int] | None = None) -> np.ndarray | None:
    """The discovery relevance floor (model ranking only; ``BlendConfig.discovery_min_similarity``):
    a mask of the candidates to keep, or None to keep all. A discovery candidate is dropped when its
    content similarity with the posts the viewer engaged with lately (``scorer.content_similarity``,
    the model's ``content_knn`` feature) is below the floor; for an author who follows the viewer
    (``followers``: who follows the viewer) the floor is ``discovery_min_similarity_followers``. In-network
    candidates always stay; a viewer with no engaged posts gets no floor (cold start); and when fewer
    than ``discovery_floor_min_items`` candidates would be left, the closest of the dropped ones come
    back, so a person who follows few accounts still gets a feed."""
    floor = float(cfg.discovery_min_similarity)
    if (floor <= 0 or not cands or getattr(state, "engaged_text", None) is None
            or not hasattr(scorer, "content_similarity")):
        return None
    disc = np.array([k for k, c in enumerate(cands) if not c.in_network], dtype=np.int64)
    if not len(disc):
        return None
    try:
        sims = np.asarray(scorer.content_similarity(state, [cands[k].post_id for k in disc]), dtype=np.float64)
    except Exception:  # a broken model must not break the feed
        log.exception("scorer.content_similarity failed; no discovery floor")
        return None
    floors = np.full(len(disc), floor)
    if followers is not None and cfg.discovery_min_similarity_followers != floor:
        floors[[cands[k].author_id in followers for k in disc]] = float(cfg.discovery_min_similarity_followers)
    below = sims < floors
    if not below.any():
        return None
    keep = np.ones(len(cands), dtype=bool)
    keep[disc[below]] = False
    short = int(cfg.discovery_floor_min_items) - int(keep.sum())
    if short > 0:  # too few left: the closest of the dropped ones come back
        back = np.nonzero(below)[0]
        back = back[np.argsort(-sims[back], kind="stable")[:short]]
        keep[disc[back]] = True
    return keep
