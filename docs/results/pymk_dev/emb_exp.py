import sys, time, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import adjacency, recall_ndcg_at_k, held_out_by_user
from townsquare.feed.embed import train_embedding
d = np.load("/work/scratch/pymk/split1000.npz")
n = 4039
adj = adjacency(d["kept"], n)
truth = held_out_by_user(d["held"]); users = d["users"]; cand = d["cand"]; valid = d["valid"]
ra = d["x"][..., 2]
def ev(s):
    s = np.where(valid, s, -np.inf)
    order = np.argsort(-s, 1, kind="stable")[:, :10]
    return recall_ndcg_at_k(np.take_along_axis(cand, order, 1), users, truth)
print("RA over cands", ev(ra))
for dim, steps, lr, wd in [tuple(float(v) if "." in v or "e" in v else int(v) for v in a.split(",")) for a in sys.argv[1:]]:
    t0 = time.time()
    emb = train_embedding(adj, dim=dim, steps=steps, lr=lr, weight_decay=wd)
    s = emb.pair_logits(users, cand)
    srev = np.einsum("ucd,ud->uc", emb.inp[cand], emb.out[users]) + emb.bias[users][:, None]
    # full ranking among non-friends
    full = emb.logits(users); full[adj[users].nonzero()] = -np.inf; full[np.arange(len(users)), users] = -np.inf
    rec_full = np.argsort(-full, 1)[:, :10]
    print(dim, steps, lr, wd, f"{time.time()-t0:.0f}s", "cand", ev(s), "sym", ev(s + srev), "full", recall_ndcg_at_k(rec_full, users, truth), flush=True)
