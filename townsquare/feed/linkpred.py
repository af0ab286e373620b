"""Link prediction on a friendship/follow graph: the model behind people-you-may-know.

One scorer serves the ego-Facebook benchmark (``townsquare bench pymk``) and the app's suggestions:

1. **Candidates**: the people two hops away, ranked by resource allocation (RA), top ``n_candidates``.
2. **Features** per (person, candidate): the classic neighbourhood scores (common neighbours,
   Adamic-Adar, RA, Jaccard, cosine), degrees, multi-hop scores (3-hop paths, 3-hop RA, a truncated
   personalised PageRank), spectral embeddings of the normalised adjacency (community structure),
   how tightly the common neighbours know each other (edges among them: same circle), and
   list-relative features (the score over the person's best candidate, and the reverse view: how
   the candidate ranks the person).
   With ``embedding`` set (the default), seven more from a learned node embedding (``embed.py``: a
   factorised softmax over all nodes, fitted on the same graph): its log-probabilities both ways,
   its raw scores, the score over the person's best candidate's, and the friends' view (mean over
   the person's friends of log p(candidate | friend), and the reverse).
3. **Ranker**: a small MLP trained listwise (softmax over each person's candidate list) on edges
   held out from the *training* graph itself (self-supervised), so it never sees test edges and
   can be refit on any graph (the app's follow graph included).

Everything works on a ``scipy.sparse`` adjacency; per-user blocks are dense only ``batch x n``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from townsquare.feed.embed import (
    EMBEDDING_FEATURES,
    EmbeddingView,
    embedding_features,
    train_embedding,
)

FEATURE_NAMES = (
    "cn", "aa", "ra", "jaccard", "cosine", "log_deg_u", "log_deg_v", "ra3", "paths3_norm", "log_paths3",
    "ppr", "spec1", "spec3", "ra_over_best", "log_rank", "cn_over_best", "cn_over_deg_u", "cn_over_deg_v",
    "ra_over_cand_best", "cn_edges", "cn_density", "tie_u", "tie_v", "tie_uv", "tie_uv_ra",
    "same_comm", "same_comm_fine", "u_nbrs_in_v_comm", "v_nbrs_in_u_comm",
)
# The node-embedding step: settings chosen on a validation split carved from ego-Facebook's training
# graph (recall@10 of the embedding alone on that split: wd 1e-5/100 steps 0.429, 3e-5/150 steps 0.472).
DEFAULT_EMBEDDING = {"dim": 64, "steps": 150, "lr": 0.05, "weight_decay": 3e-5}
# The full softmax costs O(n^2) a step (150 steps: ~25 s for 4k people, ~150 s for 10k, one core):
# above this many people the app serves the ranker without embedding features (``pymk._servable``).
EMBEDDING_MAX_NODES = 10000


def feature_names(embedding: dict | None) -> tuple[str, ...]:
    return FEATURE_NAMES + (EMBEDDING_FEATURES if embedding else ())


def adjacency(edges: np.ndarray, n: int) -> sp.csr_matrix:
    """Symmetric 0/1 adjacency of an undirected edge list (self-loops and duplicates dropped)."""
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    edges = edges[edges[:, 0] != edges[:, 1]]
    a = sp.coo_matrix((np.ones(len(edges), np.float32), (edges[:, 0], edges[:, 1])), shape=(n, n))
    a = (a + a.T).tocsr()
    a.data[:] = 1.0
    a.sum_duplicates()
    a.data[:] = 1.0
    return a


@dataclass
class GraphIndex:
    """Per-graph quantities every feature needs, computed once."""

    adj: sp.csr_matrix
    deg: np.ndarray = field(init=False)
    inv: np.ndarray = field(init=False)
    inv_log: np.ndarray = field(init=False)
    transition: sp.csr_matrix = field(init=False)
    spectral: np.ndarray = field(init=False)  # (n, k) eigenvectors
    eigvals: np.ndarray = field(init=False)
    best_ra: np.ndarray = field(init=False)  # each node's best RA score to a non-neighbour
    ties: sp.csr_matrix = field(init=False)  # tie strength: common neighbours of each edge's ends
    communities: np.ndarray = field(init=False)  # (2, n) Louvain labels at resolution 1 and 3
    emb_dim: int = 64
    _embeddings: dict = field(init=False, default_factory=dict, repr=False)
    _emb_lock: threading.Lock = field(init=False, default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        a = self.adj
        self.deg = np.asarray(a.sum(1)).ravel().astype(np.float32)
        self.inv = np.where(self.deg > 0, 1 / np.maximum(self.deg, 1), 0).astype(np.float32)
        self.inv_log = np.where(self.deg > 1, 1 / np.log(np.maximum(self.deg, 2)), 0).astype(np.float32)
        self.transition = (sp.diags(self.inv) @ a).tocsr()
        self.ties = a.multiply(a @ a).tocsr().astype(np.float32)
        self._spectral()
        self.best_ra = self._best_ra()
        self.communities = self._communities()

    @property
    def n(self) -> int:
        return self.adj.shape[0]

    def _spectral(self) -> None:
        n = self.n
        k = min(self.emb_dim, max(n - 2, 1))
        if n < 4 or self.adj.nnz == 0:
            self.spectral = np.zeros((n, 1), np.float32)
            self.eigvals = np.zeros(1, np.float32)
            return
        isq = np.where(self.deg > 0, 1 / np.sqrt(np.maximum(self.deg, 1)), 0)
        norm = (sp.diags(isq) @ self.adj @ sp.diags(isq)).astype(np.float64)
        if n <= 600:
            vals, vecs = np.linalg.eigh(norm.toarray())
            vals, vecs = vals[-k:], vecs[:, -k:]
        else:
            from scipy.sparse.linalg import eigsh

            vals, vecs = eigsh(norm, k=k, which="LA", v0=np.ones(n) / np.sqrt(n))
        self.spectral = vecs.astype(np.float32)
        self.eigvals = vals.astype(np.float32)

    def _communities(self) -> np.ndarray:
        """Louvain communities (circles of friends) at two resolutions; isolated nodes alone."""
        import networkx as nx

        labels = np.tile(np.arange(self.n), (2, 1))
        if self.adj.nnz == 0:
            return labels
        coo = sp.triu(self.adj, 1).tocoo()
        graph = nx.Graph()
        graph.add_nodes_from(range(self.n))
        graph.add_edges_from(zip(coo.row.tolist(), coo.col.tolist(), strict=True))
        for level, resolution in enumerate((1.0, 3.0)):
            for label, members in enumerate(nx.community.louvain_communities(graph, resolution=resolution, seed=0)):
                labels[level, list(members)] = self.n + label
        return labels

    def _best_ra(self, batch: int = 512) -> np.ndarray:
        out = np.zeros(self.n, np.float32)
        for start in range(0, self.n, batch):
            rows = np.arange(start, min(self.n, start + batch))
            ra = self.ra_rows(rows)
            au = self.adj[rows]
            ra[au.nonzero()] = 0
            ra[np.arange(len(rows)), rows] = 0
            out[rows] = ra.max(1) if ra.shape[1] else 0
        return out

    def has_embedding(self, config: dict) -> bool:
        return json.dumps(config, sort_keys=True) in self._embeddings

    def node_embedding(self, config: dict, progress=None) -> EmbeddingView:
        """The node embedding of this graph for ``config`` (trained once, then cached)."""
        key = json.dumps(config, sort_keys=True)
        with self._emb_lock:
            if key not in self._embeddings:
                self._embeddings[key] = EmbeddingView.of(train_embedding(self.adj, progress=progress, **config),
                                                         self.adj)
            return self._embeddings[key]

    def ra_rows(self, rows: np.ndarray) -> np.ndarray:
        au = self.adj[rows]
        return np.asarray((au @ sp.diags(self.inv) @ self.adj).todense(), dtype=np.float32)


@dataclass
class CandidateFeatures:
    users: np.ndarray  # (U,)
    cand: np.ndarray  # (U, C) candidate node ids (RA order)
    valid: np.ndarray  # (U, C) bool: a real two-hop non-neighbour
    x: np.ndarray  # (U, C, F)


def candidate_features(g: GraphIndex, users: np.ndarray, n_candidates: int = 150,
                       exclude: dict[int, set[int]] | None = None, batch: int = 256,
                       embedding: dict | None = None) -> CandidateFeatures:
    """Candidates (two-hop non-neighbours by RA) and their features for each user; with
    ``embedding`` (a ``train_embedding`` config) the node-embedding features are appended."""
    users = np.asarray(users, dtype=np.int64)
    n_candidates = max(1, min(n_candidates, g.n))
    emb = g.node_embedding(embedding) if embedding and users.size else None
    cands, valids, xs = [], [], []
    for start in range(0, len(users), batch):
        u = users[start:start + batch]
        c, v, x = _batch_features(g, u, n_candidates, exclude)
        if emb is not None:
            x = np.concatenate([x, embedding_features(emb, u, c, v)], -1)
        cands.append(c)
        valids.append(v)
        xs.append(x)
    if not users.size:
        return CandidateFeatures(users, np.zeros((0, n_candidates), np.int64), np.zeros((0, n_candidates), bool),
                                 np.zeros((0, n_candidates, len(feature_names(embedding))), np.float32))
    return CandidateFeatures(users, np.concatenate(cands), np.concatenate(valids), np.concatenate(xs))


def _batch_features(g: GraphIndex, users: np.ndarray, n_cand: int, exclude):
    a = g.adj
    au = a[users]
    au_dense = np.asarray(au.todense(), dtype=np.float32)
    cn = np.asarray((au @ a).todense(), dtype=np.float32)
    ra = np.asarray((au @ sp.diags(g.inv) @ a).todense(), dtype=np.float32)
    aa = np.asarray((au @ sp.diags(g.inv_log) @ a).todense(), dtype=np.float32)
    ra3 = np.asarray((a @ (ra * g.inv).T).T, np.float32)  # A D^-1 A D^-1 A (a is symmetric)
    p3 = np.asarray((a @ cn.T).T, np.float32)  # paths of length 3
    # truncated personalised PageRank (restart 0.3, 4 steps)
    cur = np.zeros((len(users), g.n), np.float32)
    cur[np.arange(len(users)), users] = 1
    ppr = np.zeros_like(cur)
    pt = g.transition.T.tocsr()
    for step in range(1, 5):
        cur = np.asarray((pt @ cur.T).T, np.float32)
        ppr += 0.3 * 0.7 ** step * cur

    rows = np.arange(len(users))
    score = ra.copy()
    score[au_dense > 0] = -np.inf
    score[rows, users] = -np.inf
    score[score <= 0] = -np.inf  # only people two hops away
    if exclude:
        for i, user in enumerate(users):
            ex = exclude.get(int(user))
            if ex:
                score[i, [e for e in ex if 0 <= e < g.n]] = -np.inf
    cand = np.argsort(-score, axis=1, kind="stable")[:, :n_cand]
    r = rows[:, None]
    valid = np.isfinite(score[r, cand])

    du = g.deg[users][:, None]
    dv = g.deg[cand]
    c = cn[r, cand]
    rac = ra[r, cand]
    p3c = p3[r, cand]
    vecs, vals = g.spectral, g.eigvals
    spec1 = np.einsum("uk,uck->uc", vecs[users] * vals, vecs[cand])
    spec3 = np.einsum("uk,uck->uc", vecs[users] * vals ** 3, vecs[cand])
    # edges among the common neighbours: are they one circle?
    cn_edges = np.zeros_like(c)
    for i in range(len(users)):
        nu = au[i].indices
        if len(nu) == 0:
            continue
        block = a[nu][:, nu]
        ci = a[cand[i]][:, nu]
        cn_edges[i] = np.asarray((ci @ block).multiply(ci).sum(1)).ravel() / 2
    # tie strength: how embedded the edges u-z and z-v are, over common neighbours z
    wu = g.ties[users]
    tie_u = np.asarray((wu @ a).todense(), np.float32)[r, cand]
    tie_v = np.asarray((au @ g.ties).todense(), np.float32)[r, cand]
    tie_uv = np.asarray((wu @ g.ties).todense(), np.float32)[r, cand]
    tie_uv_ra = np.asarray((wu @ sp.diags(g.inv) @ g.ties).todense(), np.float32)[r, cand]
    # community structure: same circle, and how much of each one's friends sit in the other's circle
    comm = g.communities
    same = (comm[0][users][:, None] == comm[0][cand]).astype(np.float32)
    same_fine = (comm[1][users][:, None] == comm[1][cand]).astype(np.float32)
    u_in_v = np.zeros_like(c)
    v_in_u = np.zeros_like(c)
    for i in range(len(users)):
        nu = au[i].indices
        if len(nu):
            u_in_v[i] = (comm[0][nu][None, :] == comm[0][cand[i]][:, None]).mean(1)
        nv_comm = comm[0][users[i]]
        rows_v = a[cand[i]]
        hits = np.asarray(rows_v.multiply((comm[0] == nv_comm)[None, :].astype(np.float32)).sum(1)).ravel()
        v_in_u[i] = hits / np.maximum(g.deg[cand[i]], 1)
    eps = 1e-9
    feats = [
        c, aa[r, cand], rac, c / (du + dv - c + eps), c / np.sqrt(du * dv + eps),
        np.broadcast_to(np.log1p(du), c.shape), np.log1p(dv), ra3[r, cand], p3c / (du * dv + eps),
        np.log1p(p3c), ppr[r, cand] * du, spec1, spec3,
        rac / (rac[:, :1] + eps), np.broadcast_to(np.log1p(np.arange(n_cand, dtype=np.float32)), c.shape),
        c / (c.max(1, keepdims=True) + eps), c / np.maximum(du, 1), c / np.maximum(dv, 1),
        rac / (g.best_ra[cand] + eps), cn_edges, cn_edges / (c * (c - 1) / 2 + 1),
        tie_u / (du * du + eps), tie_v / (dv * dv + eps), np.log1p(tie_uv), tie_uv_ra,
        same, same_fine, u_in_v, v_in_u,
    ]
    x = np.stack(feats, -1).astype(np.float32)
    x = np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)
    x[~valid] = 0
    return cand, valid, x


def signed_log(x: np.ndarray) -> np.ndarray:
    return np.sign(x) * np.log1p(np.abs(x))


def split_edges(edges: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(kept, held_out): a random ``fraction`` of the edges held out, reproducible by seed."""
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(edges))
    k = int(round(fraction * len(edges)))
    return edges[perm[k:]], edges[perm[:k]]


def held_out_by_user(held: np.ndarray) -> dict[int, set[int]]:
    out: dict[int, set[int]] = {}
    for a, b in np.asarray(held).reshape(-1, 2):
        out.setdefault(int(a), set()).add(int(b))
        out.setdefault(int(b), set()).add(int(a))
    return out


class LinkModel:
    """The learned PYMK ranker over ``candidate_features`` (see module docstring)."""

    def __init__(self, hidden: int = 64, n_candidates: int = 150, epochs: int = 30, lr: float = 3e-3,
                 splits: int = 2, holdout: float = 0.1, seed: int = 0,
                 embedding: dict | None = DEFAULT_EMBEDDING) -> None:
        self.hidden, self.n_candidates, self.epochs, self.lr = hidden, n_candidates, epochs, lr
        self.splits, self.holdout, self.seed = splits, holdout, seed
        self.embedding = dict(embedding) if embedding else None
        self.params: list[np.ndarray] | None = None
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None
        self.history: list[dict] = []

    # -- training -------------------------------------------------------------------------------
    def _labelled(self, edges: np.ndarray, n: int, seed: int, progress=None):
        # The split's graph lacks its held-out edges, and so does the embedding fitted on it: no label leaks.
        kept, held = split_edges(edges, self.holdout, seed)
        truth = held_out_by_user(held)
        g = GraphIndex(adjacency(kept, n))
        users = np.array(sorted(truth), dtype=np.int64)
        if self.embedding:
            g.node_embedding(self.embedding, progress=progress)
        f = candidate_features(g, users, self.n_candidates, embedding=self.embedding)
        y = np.array([[int(c) in truth[int(u)] for c in row] for u, row in zip(users, f.cand, strict=True)],
                     np.float32)
        return f, y, truth

    def fit(self, edges: np.ndarray, n: int, progress=None) -> LinkModel:
        """Train on edges held out from ``edges`` (the training graph); early-stop on a separate split."""
        import torch

        torch.manual_seed(self.seed)
        train = [self._labelled(edges, n, self.seed + 1 + s, progress) for s in range(self.splits)]
        if progress:
            progress("features")
        val_f, _, val_truth = self._labelled(edges, n, self.seed + 1000, progress)
        xs = np.concatenate([signed_log(f.x).reshape(-1, f.x.shape[-1]) for f, _, _ in train])
        self.mean, self.std = xs.mean(0), xs.std(0) + 1e-6
        d = len(feature_names(self.embedding))
        net = torch.nn.Sequential(torch.nn.Linear(d, self.hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(self.hidden, self.hidden), torch.nn.ReLU(),
                                  torch.nn.Linear(self.hidden, 1))
        opt = torch.optim.Adam(net.parameters(), lr=self.lr, weight_decay=1e-5)
        data = [(torch.tensor(self._norm(f.x)), torch.tensor(y), torch.tensor(f.valid)) for f, y, _ in train]
        best, best_params = -1.0, None
        for epoch in range(self.epochs):
            net.train()
            for x, y, valid in data:
                keep = y.sum(1) > 0
                x, y, valid = x[keep], y[keep], valid[keep]
                for idx in torch.randperm(len(x)).split(128):
                    s = net(x[idx]).squeeze(-1).masked_fill(~valid[idx], -1e9)
                    logp = torch.log_softmax(s, 1)
                    loss = -((logp * y[idx]).sum(1) / y[idx].sum(1)).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            self.params = [p.detach().numpy().copy() for p in net.parameters()]
            recs = self._top(val_f, 10)
            recall, ndcg = recall_ndcg_at_k(recs, val_f.users, val_truth, 10)
            self.history.append({"epoch": epoch + 1, "val_recall@10": recall, "val_ndcg@10": ndcg})
            if recall > best:
                best, best_params = recall, self.params
            if progress:
                progress(f"epoch {epoch + 1}: val recall@10 {recall:.4f}")
        self.params = best_params
        return self

    # -- inference (numpy only) -----------------------------------------------------------------
    def _norm(self, x: np.ndarray) -> np.ndarray:
        return ((signed_log(x) - self.mean) / self.std).astype(np.float32)

    def score(self, f: CandidateFeatures) -> np.ndarray:
        if self.params is None:
            raise RuntimeError("LinkModel is not trained")
        if f.x.shape[-1] != len(self.mean):
            raise ValueError(f"{f.x.shape[-1]} features, the model takes {len(self.mean)} "
                             f"(compute them with embedding={self.embedding})")
        h = self._norm(f.x)
        w1, b1, w2, b2, w3, b3 = self.params
        h = np.maximum(h @ w1.T + b1, 0)
        h = np.maximum(h @ w2.T + b2, 0)
        s = (h @ w3.T + b3)[..., 0]
        return np.where(f.valid, s, -np.inf)

    def _top(self, f: CandidateFeatures, k: int) -> np.ndarray:
        s = self.score(f)
        order = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(f.cand, order, 1)

    def recommend(self, g: GraphIndex, users: np.ndarray, k: int = 10,
                  exclude: dict[int, set[int]] | None = None) -> list[list[tuple[int, float]]]:
        f = candidate_features(g, users, self.n_candidates, exclude=exclude, embedding=self.embedding)
        s = self.score(f)
        out = []
        for row_c, row_s in zip(f.cand, s, strict=True):
            order = np.argsort(-row_s, kind="stable")[:k]
            out.append([(int(row_c[i]), float(row_s[i])) for i in order if np.isfinite(row_s[i])])
        return out

    def save(self, path) -> None:
        """Written beside and renamed into place: a serving process that reloads the file (see
        ``services.pymk_model``) never reads half of it."""
        import os
        from pathlib import Path

        path = Path(path)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, mean=self.mean, std=self.std, n_candidates=self.n_candidates,
                     embedding=np.array(json.dumps(self.embedding)),
                     **{f"p{i}": p for i, p in enumerate(self.params or [])})
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> LinkModel:
        data = np.load(path)
        # files written before the embedding step have no "embedding" entry: neighbourhood features only
        embedding = json.loads(str(data["embedding"])) if "embedding" in data.files else None
        model = cls(n_candidates=int(data["n_candidates"]), embedding=embedding)
        model.mean, model.std = data["mean"], data["std"]
        model.params = [data[f"p{i}"] for i in range(6)]
        return model


def recall_ndcg_at_k(recs, users, truth: dict[int, set[int]], k: int = 10) -> tuple[float, float]:
    """Mean over users of recall@k (hits / held-out friends) and NDCG@k (binary gains)."""
    from townsquare.feed.pymk_metrics import ndcg_at_k, recall_at_k

    rs = [recall_at_k(list(r), truth[int(u)], k) for u, r in zip(users, recs, strict=True)]
    ns = [ndcg_at_k(list(r), truth[int(u)], k) for u, r in zip(users, recs, strict=True)]
    return float(np.mean(rs)) if rs else 0.0, float(np.mean(ns)) if ns else 0.0
