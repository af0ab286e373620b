"""Ranker experiments on cached features. usage: rank_exp.py TAG EMBTAG|none splits(csv) epochs [test]"""
import sys, time, numpy as np, torch
sys.path.insert(0, "/work/wt-pymk")
torch.set_num_threads(1)
from townsquare.feed.linkpred import recall_ndcg_at_k, held_out_by_user, signed_log
D = "/work/scratch/pymk/"
tag, embtag, splits, epochs = sys.argv[1], sys.argv[2], sys.argv[3].split(","), int(sys.argv[4])
do_test = len(sys.argv) > 5 and sys.argv[5] == "test"
hidden = int(dict(a.split("=") for a in sys.argv[6:]).get("hidden", 64)) if len(sys.argv) > 6 else 64
seed = 0
def load(name):
    d = dict(np.load(D + name + ".npz"))
    x = d["x"]
    if embtag != "none":
        ef = np.load(D + f"embf_{embtag}_{name}.npy")
        x = np.concatenate([x, ef], -1)
    d["x"] = np.where(d["valid"][..., None], x, 0).astype(np.float32)
    d["truth"] = held_out_by_user(d["held"])
    return d
train = [load(f"split{s}") for s in splits]
val = load("split1000")
xs = np.concatenate([signed_log(t["x"]).reshape(-1, t["x"].shape[-1]) for t in train])
mean, std = xs.mean(0), xs.std(0) + 1e-6
norm = lambda x: ((signed_log(x) - mean) / std).astype(np.float32)
torch.manual_seed(seed)
dim = train[0]["x"].shape[-1]
net = torch.nn.Sequential(torch.nn.Linear(dim, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1))
opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
data = [(torch.tensor(norm(t["x"])), torch.tensor(t["y"]), torch.tensor(t["valid"])) for t in train]
def evaluate(d):
    with torch.no_grad():
        s = net(torch.tensor(norm(d["x"]))).squeeze(-1).numpy()
    s = np.where(d["valid"], s, -np.inf)
    order = np.argsort(-s, 1, kind="stable")[:, :10]
    return recall_ndcg_at_k(np.take_along_axis(d["cand"], order, 1), d["users"], d["truth"]), s
best, best_state, t0 = -1, None, time.time()
for epoch in range(epochs):
    net.train()
    for x, y, valid in data:
        keep = y.sum(1) > 0
        x, y, valid = x[keep], y[keep], valid[keep]
        for idx in torch.randperm(len(x)).split(128):
            s = net(x[idx]).squeeze(-1).masked_fill(~valid[idx], -1e9)
            loss = -((torch.log_softmax(s, 1) * y[idx]).sum(1) / y[idx].sum(1)).mean()
            opt.zero_grad(); loss.backward(); opt.step()
    (r, nd), _ = evaluate(val)
    if r > best:
        best, best_state, best_ep = r, {k: v.clone() for k, v in net.state_dict().items()}, epoch + 1
    print(f"{tag} epoch {epoch+1} val recall {r:.4f} ndcg {nd:.4f} ({time.time()-t0:.0f}s)", flush=True)
print(f"RESULT {tag} best val {best:.4f} at epoch {best_ep}", flush=True)
net.load_state_dict(best_state)
if do_test:
    test = load("test")
    (r, nd), s = evaluate(test)
    np.save(D + f"scores_{tag}_test.npy", s)
    (rv, ndv), sv = evaluate(val)
    np.save(D + f"scores_{tag}_val.npy", sv)
    print(f"TEST {tag} recall {r:.4f} ndcg {nd:.4f} ratio_vs_AA {r/0.5623:.4f}", flush=True)
