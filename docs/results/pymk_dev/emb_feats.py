"""usage: emb_feats.py TAG dim steps lr wd names..."""
import sys, time, numpy as np
sys.path.insert(0, "/work/wt-pymk")
from townsquare.feed.linkpred import adjacency
from townsquare.feed.embed import train_embedding, log_normalisers, embedding_features
D = "/work/scratch/pymk/"
tag, dim, steps, lr, wd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
for name in sys.argv[6:]:
    t0 = time.time()
    d = np.load(D + name + ".npz")
    emb = train_embedding(adjacency(d["kept"], 4039), dim=dim, steps=steps, lr=lr, weight_decay=wd)
    np.savez(D + f"emb_{tag}_{name}.npz", inp=emb.inp, out=emb.out, bias=emb.bias)
    np.save(D + f"embf_{tag}_{name}.npy", embedding_features(emb, log_normalisers(emb), d["users"], d["cand"]))
    print(name, time.time() - t0, flush=True)
