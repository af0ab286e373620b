"""Learned node embeddings for link prediction: a factorised softmax over all nodes.

Every node u has an input vector e_u, every node v an output vector f_v and a bias b_v; the model
says p(v | u) = softmax over all nodes v of (e_u . f_v + b_v) and is trained to predict each of u's
friends (the many-negative softmax: every other node is a negative, every step). Full-batch Adam
with L2 weight decay, in numpy (no torch needed where the app serves it). The logits are computed in
row blocks, so memory is ``block x n``; the cost is O(steps * n^2 * dim): ~1 min for 4k people.

What it adds to the neighbourhood features: a low-rank view of the whole graph, which ranks people
by the circles they share beyond counting two-hop paths, and can score people three or more hops away.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass
class NodeEmbedding:
    inp: np.ndarray  # (n, dim) e_u
    out: np.ndarray  # (n, dim) f_v
    bias: np.ndarray  # (n,) b_v

    def logits(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), n) scores e_u . f_v + b_v."""
        return self.inp[rows] @ self.out.T + self.bias

    def pair_logits(self, users: np.ndarray, cand: np.ndarray) -> np.ndarray:
        """(U, C) scores of each user's candidates (candidate ids in ``cand``)."""
        return np.einsum("ud,ucd->uc", self.inp[users], self.out[cand]) + self.bias[cand]


def train_embedding(adj: sp.csr_matrix, dim: int = 64, steps: int = 150, lr: float = 0.05,
                    weight_decay: float = 1e-4, seed: int = 0, block: int = 2048, progress=None) -> NodeEmbedding:
    """Fit e, f, b to maximise sum over edges (u, v) of log p(v | u) (see module docstring)."""
    n = adj.shape[0]
    rng = np.random.default_rng(seed)
    params = [rng.normal(0, 0.1, (n, dim)).astype(np.float32), rng.normal(0, 0.1, (n, dim)).astype(np.float32),
              np.zeros(n, np.float32)]
    moments = [(np.zeros_like(p), np.zeros_like(p)) for p in params]
    adj = adj.tocsr().astype(np.float32)
    deg = np.asarray(adj.sum(1)).ravel().astype(np.float32)
    total = max(float(deg.sum()), 1.0)
    b1, b2, eps = 0.9, 0.999, 1e-8
    blocks = [(start, adj[start:start + block].tocoo()) for start in range(0, n, block)]
    for step in range(1, steps + 1):
        e, f, b = params
        ge, gf, gb = np.zeros_like(e), np.zeros_like(f), np.zeros_like(b)
        for start, nbrs in blocks:
            rows = slice(start, start + nbrs.shape[0])
            z = e[rows] @ f.T + b
            z -= z.max(1, keepdims=True)
            g = np.exp(z)
            # d(-sum log p(v|u)) / dz = deg_u * p - A_u  (averaged over all edges)
            g *= (deg[rows] / g.sum(1))[:, None]
            g[nbrs.row, nbrs.col] -= 1
            g /= total
            ge[rows] = g @ f
            gf += g.T @ e[rows]
            gb += g.sum(0)
        for p_, g_, (m, v) in zip(params, (ge, gf, gb), moments, strict=True):
            g_ += weight_decay * p_
            m *= b1
            m += (1 - b1) * g_
            v *= b2
            v += (1 - b2) * g_ * g_
            p_ -= lr * (m / (1 - b1 ** step)) / (np.sqrt(v / (1 - b2 ** step)) + eps)
        if progress and step % 25 == 0:
            progress(f"embedding step {step}/{steps}")
    return NodeEmbedding(*params)


EMBEDDING_FEATURES = ("emb_logp_uv", "emb_logp_vu", "emb_logit_uv", "emb_logit_vu", "emb_logp_uv_over_best",
                      "emb_friends_logp_uv", "emb_friends_logp_vu")


@dataclass
class EmbeddingView:
    """A fitted embedding with what its features need, computed once per graph."""

    emb: NodeEmbedding
    lse: np.ndarray  # (n,) log normaliser of each node's softmax
    friends_inp: np.ndarray  # (n, dim) mean input vector of each node's friends
    friends_lse: np.ndarray  # (n,) mean log normaliser of each node's friends

    @classmethod
    def of(cls, emb: NodeEmbedding, adj: sp.csr_matrix) -> EmbeddingView:
        lse = log_normalisers(emb)
        deg = np.asarray(adj.sum(1)).ravel()
        mean = sp.diags((1 / np.maximum(deg, 1)).astype(np.float32)) @ adj
        return cls(emb, lse, np.asarray(mean @ emb.inp, np.float32), np.asarray(mean @ lse, np.float32))


def log_normalisers(emb: NodeEmbedding, block: int = 2048) -> np.ndarray:
    """log sum_v exp(e_u . f_v + b_v) for every node u."""
    n = len(emb.inp)
    out = np.zeros(n, np.float32)
    for start in range(0, n, block):
        z = emb.logits(np.arange(start, min(n, start + block)))
        m = z.max(1)
        out[start:start + len(z)] = m + np.log(np.exp(z - m[:, None]).sum(1))
    return out


def embedding_features(view: EmbeddingView, users: np.ndarray, cand: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(U, C, 7) per person u and candidate v: log p(v | u), log p(u | v), both raw logits, log p(v | u)
    over u's best valid candidate's, and the mean over u's friends z of log p(v | z) (and over v's
    friends of log p(u | z)): the embedding's view of "my friends would know them"."""
    emb = view.emb
    uv = emb.pair_logits(users, cand)
    vu = np.einsum("ucd,ud->uc", emb.inp[cand], emb.out[users]) + emb.bias[users][:, None]
    logp_uv = uv - view.lse[users][:, None]
    best = np.where(valid, logp_uv, -np.inf).max(1, keepdims=True)
    over_best = np.where(np.isfinite(best), logp_uv - best, 0)
    friends_uv = (np.einsum("ud,ucd->uc", view.friends_inp[users], emb.out[cand]) + emb.bias[cand]
                  - view.friends_lse[users][:, None])
    friends_vu = (np.einsum("ucd,ud->uc", view.friends_inp[cand], emb.out[users]) + emb.bias[users][:, None]
                  - view.friends_lse[cand])
    x = np.stack([logp_uv, vu - view.lse[cand], uv, vu, over_best, friends_uv, friends_vu], -1)
    return np.where(valid[..., None], x, 0).astype(np.float32)
