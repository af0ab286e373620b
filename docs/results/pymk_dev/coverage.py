import sys, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import adjacency, held_out_by_user
from townsquare.feed.embed import NodeEmbedding
D = "/work/scratch/pymk/"
d = np.load(D + "split1000.npz"); e = np.load(D + "emb_a_split1000.npz")
emb = NodeEmbedding(e["inp"], e["out"], e["bias"])
adj = adjacency(d["kept"], 4039); truth = held_out_by_user(d["held"]); users = d["users"]
two = (adj[users] @ adj).toarray() > 0
tot = sum(len(truth[int(u)]) for u in users)
inc = sum(len(truth[int(u)] & set(map(int, c[v]))) for u, c, v in zip(users, d["cand"], d["valid"]))
print("in RA150", inc / tot)
s = emb.logits(users); s[adj[users].nonzero()] = -np.inf; s[np.arange(len(users)), users] = -np.inf; s[two] = -np.inf
for k in (5, 10, 20, 50):
    top = np.argsort(-s, 1)[:, :k]
    extra = sum(len(truth[int(u)] & set(map(int, t))) for u, t in zip(users, top))
    print("beyond 2-hop via emb top", k, extra / tot)
nontwo = sum(len([v for v in truth[int(u)] if not two[i, v]]) for i, u in enumerate(users))
print("held-out friends beyond 2 hops", nontwo / tot)
