"""Extra embedding-derived features from cached embeddings: embf_b = embf_a + [rel-to-best, nbr-mean uv, nbr-mean vu]."""
import sys, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import adjacency
from townsquare.feed.embed import NodeEmbedding, log_normalisers
D = "/work/scratch/pymk/"
for name in sys.argv[1:]:
    d = np.load(D + name + ".npz"); e = np.load(D + f"emb_a_{name}.npz")
    emb = NodeEmbedding(e["inp"], e["out"], e["bias"]); lse = log_normalisers(emb)
    base = np.load(D + f"embf_a_{name}.npy")
    adj = adjacency(d["kept"], 4039); deg = np.asarray(adj.sum(1)).ravel()
    users, cand, valid = d["users"], d["cand"], d["valid"]
    lp = base[..., 0]
    rel = lp - np.where(valid, lp, -np.inf).max(1, keepdims=True)
    # mean over u's friends z of log p(v | z): (A_u / deg_u) @ (logits - lse) restricted to candidates
    import scipy.sparse as sp
    P = (adj.multiply(1 / np.maximum(deg, 1)[:, None])).tocsr()
    nb_in = P[users] @ emb.inp  # mean input vec of u's friends
    nb_lse = P[users] @ lse
    nbr_uv = np.einsum("ud,ucd->uc", nb_in, emb.out[cand]) + emb.bias[cand] - nb_lse[:, None]
    # mean over v's friends z of log p(u | z)
    nbv_in = P @ emb.inp; nbv_lse = P @ lse
    nbr_vu = np.einsum("ucd,ud->uc", nbv_in[cand], emb.out[users]) + emb.bias[users][:, None] - nbv_lse[cand]
    x = np.concatenate([base, np.stack([rel, nbr_uv, nbr_vu], -1)], -1).astype(np.float32)
    np.save(D + f"embf_b_{name}.npy", np.where(valid[..., None], x, 0))
    print(name, flush=True)
