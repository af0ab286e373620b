"""The PYMK benchmark on ego-Facebook (BRIEF.md protocol).

Hold out 10% of the edges with a fixed seed; for every person with a held-out edge recommend 10
people who are not friends in the training graph; recall@10 and NDCG@10 of common neighbours,
Adamic-Adar, resource allocation and our learned ``LinkModel``, all computed in the same run.
Our model trains only on edges held out from the training graph (never on the test edges); its node
embedding for each split is fitted on that split's graph, and the one used on the test people on the
training graph.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from townsquare.feed.linkpred import (
    GraphIndex,
    LinkModel,
    adjacency,
    held_out_by_user,
    recall_ndcg_at_k,
    split_edges,
)


def load_edges(path: str | Path) -> tuple[np.ndarray, int]:
    """Undirected edges (each once, self-loops dropped) and the node count."""
    rows = []
    with open(path) as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and not line.startswith("#"):
                rows.append((int(parts[0]), int(parts[1])))
    e = np.array(rows, dtype=np.int64).reshape(-1, 2)
    e = np.sort(e, axis=1)
    e = np.unique(e[e[:, 0] != e[:, 1]], axis=0)
    return e, int(e.max()) + 1 if len(e) else 0


def heuristic_scores(a: sp.csr_matrix, users: np.ndarray, kind: str) -> np.ndarray:
    """Dense (len(users), n) scores of one classic heuristic."""
    deg = np.asarray(a.sum(1)).ravel()
    if kind == "common_neighbours":
        w = np.ones_like(deg)
    elif kind == "adamic_adar":
        w = np.where(deg > 1, 1 / np.log(np.maximum(deg, 2)), 0)
    elif kind == "resource_allocation":
        w = np.where(deg > 0, 1 / np.maximum(deg, 1), 0)
    else:
        raise ValueError(kind)
    return np.asarray((a[users] @ sp.diags(w.astype(np.float32)) @ a).todense(), np.float32)


def top_k_non_friends(scores: np.ndarray, a: sp.csr_matrix, users: np.ndarray, k: int = 10) -> np.ndarray:
    """Top k by score among non-friends other than the person; ties go to the lower id."""
    s = scores.copy()
    s[a[users].nonzero()] = -np.inf
    s[np.arange(len(users)), users] = -np.inf
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def run(path: str | Path, seed: int = 0, holdout: float = 0.1, k: int = 10, progress=None,
        model_kwargs: dict | None = None, save_model: str | Path | None = None) -> list[dict]:
    edges, n = load_edges(path)
    train, test = split_edges(edges, holdout, seed)
    truth = held_out_by_user(test)
    users = np.array(sorted(truth), dtype=np.int64)
    a = adjacency(train, n)
    rows = []
    config = {"nodes": n, "edges": len(edges), "test_edges": len(test), "test_people": len(users), "seed": seed, "k": k}
    for name in ("common_neighbours", "adamic_adar", "resource_allocation"):
        t0 = time.perf_counter()
        recs = np.concatenate([top_k_non_friends(heuristic_scores(a, users[i:i + 512], name), a, users[i:i + 512], k)
                               for i in range(0, len(users), 512)])
        recall, ndcg = recall_ndcg_at_k(recs, users, truth, k)
        rows.append({"name": name, "metrics": {f"recall@{k}": recall, f"ndcg@{k}": ndcg,
                                               "seconds": time.perf_counter() - t0}, "config": config})
        if progress:
            progress(f"{name}: recall@{k} {recall:.4f}")
    t0 = time.perf_counter()
    model = LinkModel(seed=seed, **(model_kwargs or {})).fit(train, n, progress=progress)
    fit_s = time.perf_counter() - t0
    if save_model:
        model.save(save_model)
    g = GraphIndex(a)
    recs = [[c for c, _ in row] for row in model.recommend(g, users, k)]
    recs = [r + [-1] * (k - len(r)) for r in recs]
    recall, ndcg = recall_ndcg_at_k(recs, users, truth, k)
    rows.append({"name": "townsquare_linkmodel", "metrics": {f"recall@{k}": recall, f"ndcg@{k}": ndcg,
                                                             "seconds": time.perf_counter() - t0,
                                                             "fit_seconds": fit_s},
                 "config": {**config, "model": {"hidden": model.hidden, "n_candidates": model.n_candidates,
                                                "splits": model.splits, "epochs": model.epochs,
                                                "embedding": model.embedding},
                            "val_history": model.history}})
    aa = rows[1]["metrics"][f"recall@{k}"]
    for row in rows:
        row["metrics"][f"recall@{k}_vs_adamic_adar"] = row["metrics"][f"recall@{k}"] / aa if aa else 0.0
    return rows
