import sys, time, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import adjacency
from townsquare.feed.embed import train_embedding
from townsquare.feed.pymk_bench import load_edges
e, n = load_edges("/work/shared/datasets/facebook_combined.txt")
a = adjacency(e, n)
rng = np.random.default_rng(0)
big = adjacency(rng.integers(0, 10000, (250000, 2)), 10000)
for name, adj in (("ego-Facebook 4039", a), ("random 10000", big)):
    train_embedding(adj, steps=1)
    t0 = time.perf_counter(); train_embedding(adj, steps=10); dt = (time.perf_counter() - t0) / 10
    print(f"{name}: {dt:.3f} s/step -> 150 steps {150*dt:.0f} s", flush=True)
