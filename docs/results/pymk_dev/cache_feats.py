"""Cache base features/labels for train splits (1,2,3,4), val (1000), and test (seed 0 holdout)."""
import sys, time, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import GraphIndex, adjacency, candidate_features, split_edges, held_out_by_user
from townsquare.feed.pymk_bench import load_edges
edges, n = load_edges("/work/shared/datasets/facebook_combined.txt")
train, test = split_edges(edges, 0.1, 0)
def dump(name, kept, held):
    t0 = time.time()
    truth = held_out_by_user(held)
    g = GraphIndex(adjacency(kept, n))
    users = np.array(sorted(truth), dtype=np.int64)
    f = candidate_features(g, users, 150)
    y = np.array([[int(c) in truth[int(u)] for c in row] for u, row in zip(users, f.cand)], np.float32)
    np.savez(f"/work/scratch/pymk/{name}.npz", users=users, cand=f.cand, valid=f.valid, x=f.x, y=y, kept=kept, held=held)
    print(name, time.time() - t0, flush=True)
which = sys.argv[1:]
for w in which:
    if w == "test":
        dump("test", train, test)
    else:
        s = int(w)
        kept, held = split_edges(train, 0.1, s)
        dump(f"split{s}", kept, held)
