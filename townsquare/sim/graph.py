"""The social graph at the start of the simulated history: who follows whom, pending requests to
private accounts, blocks and mutes. People are indexes into the ``Population``.

Model: each person's out-degree is heavy tailed (sociability, chance); most followees are picked by
homophily (shared topics) times popularity (a latent, power-law-ish fame), a share comes from
friends-of-friends (triadic closure), and followed people follow back by their sociability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from townsquare.sim.people import Population

DEMO_FOLLOWS = 40


@dataclass
class Graph:
    follows: set[tuple[int, int]] = field(default_factory=set)  # (follower, followee)
    follow_requests: set[tuple[int, int]] = field(default_factory=set)  # (requester, private target)
    blocks: set[tuple[int, int]] = field(default_factory=set)  # (blocker, blocked)
    mutes: set[tuple[int, int]] = field(default_factory=set)  # (muter, muted)

    def following(self, n: int) -> list[set[int]]:
        out: list[set[int]] = [set() for _ in range(n)]
        for a, b in self.follows:
            out[a].add(b)
        return out


def similarity_matrix_rows(pop: Population, rows: np.ndarray) -> np.ndarray:
    """Cosine similarity of topic affinities between ``rows`` and everyone."""
    unit = pop.topics / np.linalg.norm(pop.topics, axis=1, keepdims=True)
    return unit[rows] @ unit.T


def topic_similarity(pop: Population, a: int, b: int) -> float:
    ta, tb = pop.topics[a], pop.topics[b]
    return float(ta @ tb / (np.linalg.norm(ta) * np.linalg.norm(tb)))


def generate_graph(pop: Population, seed: int) -> Graph:
    n = len(pop)
    rng = np.random.default_rng([seed, 2])
    base = min(22.0, (n - 1) * 0.25)
    degree = np.clip(np.rint(base * rng.lognormal(-0.15, 0.6, n) * (0.5 + pop.sociability)), 1, n - 1).astype(int)
    homophily_k = np.maximum(1, np.rint(degree * 0.7)).astype(int)
    log_fame = np.log(pop.fame)
    follows: set[tuple[int, int]] = set()
    chunk = 512
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        scores = 5.0 * similarity_matrix_rows(pop, rows) + 0.9 * log_fame[None, :]
        scores += rng.gumbel(size=scores.shape)  # Gumbel top-k = sampling without replacement
        scores[np.arange(len(rows)), rows] = -np.inf
        for r, i in enumerate(rows):
            k = homophily_k[i]
            top = np.argpartition(-scores[r], k - 1)[:k] if k < n - 1 else np.flatnonzero(np.isfinite(scores[r]))
            follows.update((int(i), int(j)) for j in top)
    # Triadic closure: follow some of the people your followees follow.
    following: list[set[int]] = [set() for _ in range(n)]
    for a, b in follows:
        following[a].add(b)
    for i in range(n):
        want = int(degree[i] - len(following[i]))
        if want <= 0:
            continue
        counts: dict[int, int] = {}
        for f in following[i]:
            for g in following[f]:
                if g != i and g not in following[i]:
                    counts[g] = counts.get(g, 0) + 1
        if not counts:
            continue
        cands = np.fromiter(counts.keys(), dtype=np.int64)
        weight = np.log1p(np.fromiter(counts.values(), dtype=float)) + rng.gumbel(size=len(cands))
        for j in cands[np.argsort(-weight)[:want]]:
            following[i].add(int(j))
            follows.add((i, int(j)))
    # Follow-backs, by the followed person's sociability and how much they share.
    unit = pop.topics / np.linalg.norm(pop.topics, axis=1, keepdims=True)
    for a, b in sorted(follows):
        if (b, a) not in follows and b != 0:
            sim = float(unit[a] @ unit[b])
            if rng.random() < 0.6 * pop.sociability[b] * (0.3 + 0.7 * sim):
                follows.add((b, a))
    graph = Graph()
    # Private accounts approve most requests; a few are still pending.
    for a, b in sorted(follows):
        if pop.is_private[b]:
            u = rng.random()
            if u < 0.75:
                graph.follows.add((a, b))
            elif u < 0.9:
                graph.follow_requests.add((a, b))
        else:
            graph.follows.add((a, b))
    _demo_edges(pop, graph, rng)
    # Blocks and mutes, mostly between people with little in common.
    for kind, count in (("blocks", max(1, n // 50)), ("mutes", max(1, n // 25))):
        target = getattr(graph, kind)
        tries = 0
        while len(target) < count and tries < count * 50:
            tries += 1
            a, b = (int(x) for x in rng.integers(1, n, 2))
            if a == b or (a, b) in graph.blocks or (a, b) in graph.mutes or (b, a) in graph.blocks:
                continue
            if float(unit[a] @ unit[b]) > 0.5:
                continue
            target.add((a, b))
    for a, b in graph.blocks:  # a block removes follows and requests both ways
        for pair in ((a, b), (b, a)):
            graph.follows.discard(pair)
            graph.follow_requests.discard(pair)
    return graph


def _demo_edges(pop: Population, graph: Graph, rng: np.random.Generator) -> None:
    """The demo account follows lively, varied people, and some people follow it."""
    n = len(pop)
    demo_out = {b for a, b in graph.follows if a == 0}
    score = np.log(pop.creator) + 0.5 * np.log(pop.fame) + rng.gumbel(size=n)
    score[0] = -np.inf
    score[pop.is_private] = -np.inf
    want = min(DEMO_FOLLOWS, n - 1)
    for j in np.argsort(-score):
        if len(demo_out) >= want or not np.isfinite(score[j]):
            break
        demo_out.add(int(j))
    graph.follows.update((0, j) for j in demo_out)
    for j in range(1, n):
        if (j, 0) not in graph.follows and rng.random() < (0.35 if j in demo_out else 0.03):
            graph.follows.add((j, 0))
