"""Quick signal: on split1000, 2-fold cross-fit over users: base vs base+emb features."""
import sys, numpy as np, torch
sys.path.insert(0, "/work/wt-pymk")
torch.set_num_threads(1)
from townsquare.feed.linkpred import recall_ndcg_at_k, held_out_by_user, signed_log
D = "/work/scratch/pymk/"
embtag = sys.argv[1]; cols = sys.argv[2] if len(sys.argv) > 2 else "0,1,2,3"
d = dict(np.load(D + "split1000.npz")); truth = held_out_by_user(d["held"])
ef = np.load(D + f"embf_{embtag}_split1000.npy")[..., [int(c) for c in cols.split(",")]]
rng = np.random.default_rng(0); fold = rng.random(len(d["users"])) < 0.5
def run(x, ep=12):
    res = []
    for tr in (fold, ~fold):
        te = ~tr
        xs = signed_log(x[tr]).reshape(-1, x.shape[-1]); mean, std = xs.mean(0), xs.std(0) + 1e-6
        nz = lambda a: torch.tensor(((signed_log(a) - mean) / std).astype(np.float32))
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(x.shape[-1], 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
        opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
        X, Y, V = nz(x[tr]), torch.tensor(d["y"][tr]), torch.tensor(d["valid"][tr])
        k = Y.sum(1) > 0; X, Y, V = X[k], Y[k], V[k]
        best = 0
        for e in range(ep):
            for idx in torch.randperm(len(X)).split(128):
                s = net(X[idx]).squeeze(-1).masked_fill(~V[idx], -1e9)
                loss = -((torch.log_softmax(s, 1) * Y[idx]).sum(1) / Y[idx].sum(1)).mean()
                opt.zero_grad(); loss.backward(); opt.step()
            with torch.no_grad():
                s = net(nz(x[te])).squeeze(-1).numpy()
            s = np.where(d["valid"][te], s, -np.inf)
            o = np.argsort(-s, 1, kind="stable")[:, :10]
            r = recall_ndcg_at_k(np.take_along_axis(d["cand"][te], o, 1), d["users"][te], truth)[0]
            best = max(best, r)
        res.append(best)
    return np.mean(res)
x = np.where(d["valid"][..., None], d["x"], 0)
print("base", run(x), flush=True)
xe = np.where(d["valid"][..., None], np.concatenate([d["x"], ef], -1), 0)
print("base+emb", cols, run(xe), flush=True)
