"""Feeds over the simulator's world, in memory: the chronological home feed that the seed's people
scroll (also the "chronological" baseline of feed benchmarks), and an oracle that ranks by the hidden
ground truth (an upper bound no real feed can reach). Both produce ``FeedFn``s for ``Simulator.session``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

import numpy as np

from townsquare.sim.behaviour import Action, FeedFn, PostInfo, Simulator

PAGE_SIZE = 10
WINDOW_S = 3 * 86400  # the chronological feed looks back three days
POPULAR_PER_DAY = 40
POPULAR_EVERY = 4  # every fourth slot is a popular post from outside the network


class ChronologicalFeed:
    """Followed accounts' and one's own posts from the last ``window_s``, newest first, with a popular
    public post from outside the network (most liked among the last two days' posts) in every
    ``popular_every``-th slot; authors hidden from the viewer (blocks either way, mutes) left out."""

    def __init__(self, sim: Simulator, *, hidden: dict[int, set[int]] | None = None, window_s: int = WINDOW_S,
                 page_size: int = PAGE_SIZE, popular_per_day: int = POPULAR_PER_DAY,
                 popular_every: int = POPULAR_EVERY) -> None:
        self.sim = sim
        self.hidden = hidden or {}  # viewer account id -> author account ids never shown
        self.window_s = window_s
        self.page_size = page_size
        self.popular_per_day = popular_per_day
        self.popular_every = popular_every
        self.likes: dict[int, int] = defaultdict(int)
        self.popular: list[int] = []
        self._by_author: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self._indexed = -1

    def _index(self) -> None:
        """Per author: post times (epoch seconds) and ids, ascending. Rebuilt when posts were added."""
        if self._indexed == len(self.sim.posts):
            return
        infos = list(self.sim.posts.values())
        authors = np.array([p.author_id for p in infos], dtype=np.int64)
        stamps = np.array([p.created_at.timestamp() for p in infos])
        pids = np.array([p.post_id for p in infos], dtype=np.int64)
        order = np.lexsort((pids, stamps, authors))
        authors, stamps, pids = authors[order], stamps[order], pids[order]
        self._by_author = {}
        if len(authors):
            starts = np.flatnonzero(np.r_[True, authors[1:] != authors[:-1]])
            ends = np.r_[starts[1:], len(authors)]
            for s, e in zip(starts, ends, strict=True):
                self._by_author[int(authors[s])] = (stamps[s:e], pids[s:e])
        self._indexed = len(self.sim.posts)

    def record(self, actions: Iterable[Action]) -> None:
        """Count likes (they make posts popular)."""
        for a in actions:
            if a.action == "like":
                self.likes[a.entity_id] += 1

    def start_day(self, day_start: datetime) -> None:
        """Pick the day's popular posts: most liked public posts created in the two days before."""
        lo, hi = day_start - timedelta(days=2), day_start
        posts = self.sim.posts
        cands = [pid for pid, c in self.likes.items() if c > 0 and pid in posts
                 and lo <= posts[pid].created_at < hi and posts[pid].visibility == "public"]
        cands.sort(key=lambda pid: (-self.likes[pid], pid))
        self.popular = cands[: self.popular_per_day]

    def items(self, account_id: int, at: datetime) -> list[int]:
        """The whole feed of ``account_id`` at ``at``, in order."""
        self._index()
        sim = self.sim
        i = sim.index_of[account_id]
        hidden = self.hidden.get(account_id, set())
        t_hi = at.timestamp()
        t_lo = t_hi - self.window_s
        times, ids = [], []
        for a in (*(sim.account_ids[j] for j in sim.following[i]), account_id):
            if a in hidden or a not in self._by_author:
                continue
            at_t, at_ids = self._by_author[a]
            lo, hi = np.searchsorted(at_t, (t_lo, t_hi), side="right")
            if hi > lo:
                times.append(at_t[lo:hi])
                ids.append(at_ids[lo:hi])
        if times:
            all_t, all_ids = np.concatenate(times), np.concatenate(ids)
            followed = all_ids[np.lexsort((-all_ids, -all_t))].tolist()  # newest first, ties by id
        else:
            followed = []
        in_feed = set(followed)
        popular = [pid for pid in self.popular if pid not in in_feed and sim.posts[pid].author_id not in hidden
                   and sim.posts[pid].created_at <= at]
        out: list[int] = []
        followed.reverse()  # pop() from the end is O(1)
        popular.reverse()
        while followed or popular:
            take_popular = popular and (len(out) % self.popular_every == self.popular_every - 1 or not followed)
            out.append(popular.pop() if take_popular else followed.pop())
        return out

    def feed_for(self, account_id: int, at: datetime) -> FeedFn:
        """A ``FeedFn`` for one session starting at ``at`` (the list is built on the first page)."""
        cache: list[int] | None = None

        def feed(_account_id: int, page: int) -> list[int]:
            nonlocal cache
            if cache is None:
                cache = self.items(account_id, at)
            return cache[page * self.page_size : (page + 1) * self.page_size]

        return feed


def oracle_feed(sim: Simulator, candidates: list[PostInfo] | None = None, page_size: int = PAGE_SIZE):
    """Returns ``feed_for(account_id, at)``: posts created before ``at`` ranked by the hidden
    ``true_affinity`` (unseen first). For calibrating benchmarks only: it reads the ground truth."""

    def feed_for(account_id: int, at: datetime) -> FeedFn:
        i = sim.index_of[account_id]
        pool = candidates if candidates is not None else list(sim.posts.values())
        visible = [p for p in pool if p.created_at <= at and p.author_id != account_id
                   and (p.visibility == "public" or sim.index_of.get(p.author_id, -1) in sim.following[i])]
        seen = sim.seen[i]
        ranked = sorted(visible, key=lambda p: (p.post_id in seen, -sim._affinity(i, p), p.post_id))
        ids = [p.post_id for p in ranked[: page_size * 20]]
        return lambda _a, page: ids[page * page_size : (page + 1) * page_size]

    return feed_for
