"""People you may know / accounts to follow.

Candidates: the learned link model over the follow graph (two-hop people, see ``linkpred.py``),
people who follow you, people who like the same posts, the unified model's account retrieval and,
for cold start, popular accounts. Ranking: p(follow) x p(two-way | follow) from the unified model
when one is trained, else the graph model's score (its softmax over the person's candidates) with
small bonuses for the other signals. Never yourself, anyone you follow or asked to follow, anyone
blocked either way or muted, or inactive accounts. Each suggestion carries its social proof, and the
proof never says more than the viewer could read elsewhere: friends in common are named only where
the follow is on a list the viewer may see (``nameable_mutuals``), and shared likes are never said.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from sqlalchemy import and_, desc, func, or_, select
from sqlalchemy.orm import Session

from townsquare.feed.linkpred import EMBEDDING_MAX_NODES, GraphIndex, LinkModel, adjacency, candidate_features
from townsquare.social.graph import can_list_connections
from townsquare.social.models import Account, Block, Follow, FollowRequest, Mute, Reaction
from townsquare.social.relations import blocked_either_way_ids, following_ids

log = logging.getLogger(__name__)

BUNDLED_MODEL = Path(__file__).parent / "data" / "pymk_linkmodel.npz"
# neighbourhood features only: served where a graph is too big for the node-embedding step
BUNDLED_PLAIN_MODEL = Path(__file__).parent / "data" / "pymk_linkmodel_plain.npz"
MODEL_FILE = "pymk_linkmodel.npz"
# Signals that rank but are never shown (reasons or sources): they would reveal what no API lists.
PRIVATE_SOURCES = frozenset({"same_posts"})


@dataclass
class Suggestion:
    account: Account
    score: float
    reasons: list[dict]
    mutual_count: int = 0
    mutual_handles: list[str] = field(default_factory=list)
    follows_you: bool = False
    sources: list[str] = field(default_factory=list)


@dataclass
class FollowGraph:
    """The follow graph as an undirected ``GraphIndex`` over dense node numbers."""

    index: GraphIndex
    node_of: dict[int, int]
    account_of: np.ndarray
    built: float = field(default_factory=time.monotonic)
    warming: bool = False  # a background thread fits its node embedding

    @classmethod
    def build(cls, session: Session) -> FollowGraph:
        rows = np.array(session.execute(select(Follow.follower_id, Follow.followee_id)).all(), dtype=np.int64)
        rows = rows.reshape(-1, 2)
        ids = np.unique(rows) if rows.size else np.zeros(0, np.int64)
        node_of = {int(a): i for i, a in enumerate(ids)}
        edges = np.searchsorted(ids, rows) if rows.size else rows
        return cls(GraphIndex(adjacency(edges, len(ids))), node_of, ids)


class _GraphCache:
    """The follow graph per database. The first request builds it (on 10k people it takes a minute on
    a loaded 2-core machine: Louvain + spectral); afterwards a stale graph keeps being served while a
    background thread rebuilds it, so no request waits for a rebuild."""

    def __init__(self, ttl_s: float = 900.0) -> None:
        self.ttl_s = ttl_s
        self._graphs: dict[str, FollowGraph] = {}
        self._building: set[str] = set()
        self._lock = threading.Lock()

    def get(self, session: Session, embedding: dict | None = None) -> FollowGraph:
        """The cached graph; ``embedding`` (the link model's config) is fitted with every rebuild."""
        bind = session.get_bind()
        key = str(bind.url)
        with self._lock:
            g = self._graphs.get(key)
            stale = g is not None and time.monotonic() - g.built > self.ttl_s
            if stale and key not in self._building:
                self._building.add(key)
                threading.Thread(target=self._rebuild, args=(key, bind, embedding), daemon=True).start()
        if g is not None:
            return g
        g = FollowGraph.build(session)
        if embedding:
            _warm_in_background(g, embedding)
        with self._lock:
            self._graphs[key] = g
        return g

    def _rebuild(self, key: str, bind, embedding: dict | None = None) -> None:
        try:
            with Session(bind=bind) as session:
                g = FollowGraph.build(session)
            _warm_embedding(g, embedding)
            with self._lock:
                self._graphs[key] = g
        except Exception:
            log.exception("rebuilding the follow graph failed; serving the previous one")
        finally:
            with self._lock:
                self._building.discard(key)

    def clear(self) -> None:
        with self._lock:
            self._graphs.clear()


GRAPHS = _GraphCache()


def _warm_embedding(graph: FollowGraph, embedding: dict | None) -> None:
    if embedding and 3 <= graph.index.n <= EMBEDDING_MAX_NODES:
        try:
            graph.index.node_embedding(embedding)
        except Exception:  # served by the fallback model instead (see _servable)
            log.exception("fitting the node embedding failed")


_fitting_lock = threading.Lock()


def _warm_in_background(graph: FollowGraph, embedding: dict) -> None:
    with _fitting_lock:
        if graph.warming:
            return
        graph.warming = True
    threading.Thread(target=_warm_embedding, args=(graph, embedding), daemon=True).start()


_PLAIN: list[LinkModel | None] = []


def _servable(model: LinkModel | None, graph: FollowGraph) -> LinkModel | None:
    """``model`` where it can run on this graph now. A model with the node-embedding step needs the
    graph's embedding (fitted in the background: ~25 s for 4k people, ~150 s for 10k on one core);
    until it is ready, on graphs above ``EMBEDDING_MAX_NODES`` or if fitting failed, the bundled
    neighbourhood-only model serves, so no request waits for a fit."""
    if model is None or not model.embedding:
        return model
    if graph.index.n <= EMBEDDING_MAX_NODES:
        if graph.index.has_embedding(model.embedding):
            return model
        _warm_in_background(graph, model.embedding)
    if not _PLAIN:
        _PLAIN.append(LinkModel.load(BUNDLED_PLAIN_MODEL) if BUNDLED_PLAIN_MODEL.exists() else None)
    return _PLAIN[0]


def load_link_model(settings=None, *, current: LinkModel | None = None) -> LinkModel | None:
    """The link model trained on this community (``townsquare feed train-pymk``), else the one
    bundled with the package (trained on ego-Facebook), else None (Adamic-Adar is used). When the
    community's file exists but does not load, ``current`` (the model serving now) is kept."""
    if settings is not None:
        path = Path(settings.models_dir) / MODEL_FILE
        if path.exists():
            try:
                return LinkModel.load(path)
            except Exception:
                log.exception("could not load link model %s", path)
                if current is not None:
                    return current
    if BUNDLED_MODEL.exists():
        try:
            return LinkModel.load(BUNDLED_MODEL)
        except Exception:
            log.exception("could not load link model %s", BUNDLED_MODEL)
    return None


def excluded_ids(session: Session, viewer_id: int) -> set[int]:
    """Everyone who must never be suggested to the viewer (the viewer included)."""
    out = {viewer_id}
    out.update(session.scalars(select(Follow.followee_id).where(Follow.follower_id == viewer_id)))
    out.update(session.scalars(select(FollowRequest.target_id).where(FollowRequest.requester_id == viewer_id)))
    out.update(session.scalars(select(Block.blocked_id).where(Block.blocker_id == viewer_id)))
    out.update(session.scalars(select(Block.blocker_id).where(Block.blocked_id == viewer_id)))
    out.update(session.scalars(select(Mute.muted_id).where(Mute.muter_id == viewer_id)))
    return out


def _graph_candidates(graph: FollowGraph, viewer_id: int, exclude: set[int], model: LinkModel | None,
                      n: int = 100) -> dict[int, float]:
    u = graph.node_of.get(viewer_id)
    if u is None or graph.index.n < 3:
        return {}
    ex_nodes = {graph.node_of[a] for a in exclude if a in graph.node_of}
    model = _servable(model, graph)
    if model is not None:
        f = candidate_features(graph.index, np.array([u]), model.n_candidates, exclude={u: ex_nodes},
                               embedding=model.embedding)
        s = model.score(f)[0]
        cand = f.cand[0]
    else:  # Adamic-Adar over two-hop people
        row = graph.index.adj[u]
        aa = np.asarray((row @ (graph.index.adj.multiply(graph.index.inv_log[:, None]))).todense()).ravel()
        aa[list(ex_nodes | {u})] = 0
        aa[row.indices] = 0
        cand = np.argsort(-aa, kind="stable")[: n * 2]
        s = np.where(aa[cand] > 0, aa[cand], -np.inf)
    ok = np.isfinite(s)
    if not ok.any():
        return {}
    z = s[ok] - s[ok].max()
    p = np.exp(z) / np.exp(z).sum()
    return {int(graph.account_of[c]): float(pi) for c, pi in zip(cand[ok], p, strict=True)
            if int(graph.account_of[c]) not in exclude}


def suggestions(session: Session, viewer: Account, limit: int = 10, *, scorer=None, model: LinkModel | None = None,
                graph: FollowGraph | None = None) -> list[Suggestion]:
    if not 1 <= limit <= 50:
        from townsquare.errors import InvalidInput

        raise InvalidInput("limit must be between 1 and 50")
    exclude = excluded_ids(session, viewer.id)
    graph = graph or GRAPHS.get(session, embedding=model.embedding if model is not None else None)
    scores: dict[int, float] = defaultdict(float)
    sources: dict[int, list[str]] = defaultdict(list)

    for acc, p in _graph_candidates(graph, viewer.id, exclude, model).items():
        scores[acc] += p
        sources[acc].append("graph")
    followers = set(session.scalars(select(Follow.follower_id).where(Follow.followee_id == viewer.id))) - exclude
    for acc in followers:
        scores[acc] += 0.3
        sources[acc].append("follows_you")
    liked = list(session.scalars(select(Reaction.post_id).where(Reaction.account_id == viewer.id)
                                 .order_by(desc(Reaction.created_at)).limit(100)))
    if liked:
        rows = session.execute(select(Reaction.account_id, func.count()).where(Reaction.post_id.in_(liked))
                               .group_by(Reaction.account_id).order_by(desc(func.count())).limit(200))
        for acc, cnt in rows:
            if acc not in exclude:
                scores[acc] += 0.05 * math.log1p(cnt)
                sources[acc].append("same_posts")
    state = None
    if scorer is not None:
        try:
            state = scorer.encode(viewer.id)
            for acc, _score in scorer.retrieve(state, 100, kind="account", exclude=exclude):
                if int(acc) not in exclude:
                    scores[int(acc)] += 0.0
                    sources[int(acc)].append("model")
        except Exception:
            log.exception("scorer account retrieval failed")
            state = None
    if len(scores) < limit:  # cold start: popular accounts
        for acc in session.scalars(select(Account.id).where(Account.status == "active")
                                   .order_by(desc(Account.follower_count), Account.id).limit(limit * 3 + len(exclude))):
            if acc not in exclude and acc not in scores:
                scores[acc] += 1e-4
                sources[acc].append("popular")
    ids = [a for a in scores if a not in exclude]
    if not ids:
        return []
    accounts = {a.id: a for a in session.scalars(select(Account).where(Account.id.in_(ids),
                                                                       Account.status == "active"))}
    ids = [a for a in ids if a in accounts]
    if scorer is not None and state is not None and ids:
        try:
            heads = scorer.score_accounts(state, ids)
            p = np.asarray(heads["follow"]) * np.asarray(heads["two_way"])
            final = {a: float(v) for a, v in zip(ids, p, strict=True)}
        except Exception:
            log.exception("scorer.score_accounts failed; using the graph model")
            final = {a: scores[a] for a in ids}
    else:
        final = {a: scores[a] for a in ids}
    top = sorted(ids, key=lambda a: (-final[a], a))[:limit]
    return [_with_proof(session, graph, viewer, accounts[a], final[a], sources[a], a in followers) for a in top]


def nameable_mutuals(session: Session, viewer: Account, candidate: Account, common: list[int]) -> list[Account]:
    """The people in ``common`` (graph neighbours of both) that a suggestion may name to ``viewer``.

    Naming @c as a friend in common with the candidate reveals the follow between c and the
    candidate, so it is allowed only where the viewer could list that follow anyway: on the
    candidate's followers/following lists or on c's (``graph.can_list_connections``: a private
    account's lists are for its followers). Both follows must exist now (the cached graph may be
    stale), c must be active and not blocked either way with the viewer."""
    if not common:
        return []
    people = {viewer.id, candidate.id}
    edges = session.execute(select(Follow.follower_id, Follow.followee_id).where(or_(
        and_(Follow.follower_id.in_(people), Follow.followee_id.in_(common)),
        and_(Follow.followee_id.in_(people), Follow.follower_id.in_(common))))).all()
    linked: dict[int, set[int]] = defaultdict(set)  # common account -> which of viewer/candidate it touches
    for a, b in edges:
        c, other = (b, a) if a in people else (a, b)
        linked[c].add(other)
    both = [c for c, ends in linked.items() if ends == people]
    if not both:
        return []
    candidate_lists_open = can_list_connections(session, viewer, candidate)
    hidden = blocked_either_way_ids(session, viewer.id)
    followed = following_ids(session, viewer.id)
    rows = session.scalars(select(Account).where(Account.id.in_(both), Account.status == "active")
                           .order_by(desc(Account.follower_count), Account.id))
    return [c for c in rows if c.id not in hidden
            and (candidate_lists_open or not c.is_private or c.id in followed)]


def _with_proof(session: Session, graph: FollowGraph, viewer: Account, account: Account, score: float,
                sources: list[str], follows_you: bool) -> Suggestion:
    common: list[int] = []
    u, v = graph.node_of.get(viewer.id), graph.node_of.get(account.id)
    if u is not None and v is not None:
        a = graph.index.adj
        common = [int(graph.account_of[c]) for c in np.intersect1d(a[u].indices, a[v].indices)]
    mutual = nameable_mutuals(session, viewer, account, common)
    handles = [m.handle for m in mutual[:3]]
    reasons = []
    if follows_you:
        reasons.append({"code": "follows_you", "text": "Follows you"})
    if mutual:
        n = len(mutual)
        names = ", ".join("@" + h for h in handles)
        reasons.append({"code": "mutual", "text": f"{n} friend{'s' if n != 1 else ''} in common ({names})"})
    # "same_posts" (they like the posts you like) helps the ranking but is never said, nor listed in
    # ``sources``: no API lists who reacted to a post, so saying it would reveal reactions.
    sources = [s for s in sources if s not in PRIVATE_SOURCES]
    if "model" in sources:
        reasons.append({"code": "model", "text": "Suggested by the Townsquare model"})
    if "popular" in sources and not reasons:
        reasons.append({"code": "popular", "text": "Popular in the community"})
    if not reasons:
        reasons.append({"code": "graph", "text": "In your extended network"})
    return Suggestion(account, score, reasons, len(mutual), ["@" + h for h in handles], follows_you, sources)
