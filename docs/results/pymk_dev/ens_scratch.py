"""LinkModel.fit's training loop on the cached features (29 + 7 embedding features, splits 1,2, val 1000),
then the test evaluation at the best validation epoch, and the model saved in LinkModel's format."""
import sys, time, json, numpy as np, torch
sys.path.insert(0, "/work/wt-pymk")
torch.set_num_threads(1)
from townsquare.feed.linkpred import recall_ndcg_at_k, held_out_by_user, signed_log, LinkModel, DEFAULT_EMBEDDING
D = "/work/scratch/pymk/"
epochs = int(sys.argv[1]); K = int(sys.argv[2])
def load(name):
    d = dict(np.load(D + name + ".npz"))
    d["x"] = np.where(d["valid"][..., None], np.concatenate([d["x"], np.load(D + f"embf_b_{name}.npy")], -1), 0).astype(np.float32)
    d["truth"] = held_out_by_user(d["held"])
    return d
train = [load("split1"), load("split2")]; val = load("split1000")
model = LinkModel(embedding=DEFAULT_EMBEDDING)
xs = np.concatenate([signed_log(t["x"]).reshape(-1, t["x"].shape[-1]) for t in train])
model.mean, model.std = xs.mean(0), xs.std(0) + 1e-6
def logp(params, d):
    model.params = params
    sc = model.score(F(d))
    sc = np.where(d["valid"], sc, -np.inf)
    m = sc.max(1, keepdims=True)
    return sc - m - np.log(np.exp(sc - m).sum(1, keepdims=True))
def top(sc, d):
    o = np.argsort(-sc, 1, kind="stable")[:, :10]
    return np.take_along_axis(d["cand"], o, 1)
class F:  # CandidateFeatures stand-in
    def __init__(s, d): s.x, s.valid, s.cand, s.users = d["x"], d["valid"], d["cand"], d["users"]
test = load("test")
vals, tests = [], []
for k in range(K):
    torch.manual_seed(k)
    dim = train[0]["x"].shape[-1]
    net = torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
    opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
    data = [(torch.tensor(model._norm(t["x"])), torch.tensor(t["y"]), torch.tensor(t["valid"])) for t in train]
    best, best_params, t0 = -1, None, time.time()
    for epoch in range(epochs):
        for x, y, valid in data:
            keep = y.sum(1) > 0
            x, y, valid = x[keep], y[keep], valid[keep]
            for idx in torch.randperm(len(x)).split(128):
                s = net(x[idx]).squeeze(-1).masked_fill(~valid[idx], -1e9)
                loss = -((torch.log_softmax(s, 1) * y[idx]).sum(1) / y[idx].sum(1)).mean()
                opt.zero_grad(); loss.backward(); opt.step()
        model.params = [p.detach().numpy().copy() for p in net.parameters()]
        r, nd = recall_ndcg_at_k(model._top(F(val), 10), val["users"], val["truth"], 10)
        model.history.append({"epoch": epoch + 1, "val_recall@10": r, "val_ndcg@10": nd})
        if r > best:
            best, best_params = r, model.params
        if epoch == epochs - 1: print(f"epoch {epoch+1} val recall {r:.4f} ndcg {nd:.4f} ({time.time()-t0:.0f}s)", flush=True)
    vals.append(logp(best_params, val)); tests.append(logp(best_params, test))
    for name, d, lst in (("val", val, vals),) if k < K - 1 else (("val", val, vals), ("test", test, tests)):
        r1 = recall_ndcg_at_k(top(lst[-1], d), d["users"], d["truth"])
        rk = recall_ndcg_at_k(top(np.mean(lst, 0), d), d["users"], d["truth"])
        print(f"seed {k} {name}: single {r1[0]:.4f}/{r1[1]:.4f}  ensemble of {len(lst)} {rk[0]:.4f}/{rk[1]:.4f}", flush=True)
