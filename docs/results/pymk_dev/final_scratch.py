"""LinkModel.fit's training loop on the cached features (29 + 7 embedding features, splits 1,2, val 1000),
then the test evaluation at the best validation epoch, and the model saved in LinkModel's format."""
import sys, time, json, numpy as np, torch
sys.path.insert(0, "/work/wt-pymk")
torch.set_num_threads(1)
from townsquare.feed.linkpred import recall_ndcg_at_k, held_out_by_user, signed_log, LinkModel, DEFAULT_EMBEDDING
D = "/work/scratch/pymk/"
epochs = int(sys.argv[1])
def load(name):
    d = dict(np.load(D + name + ".npz"))
    d["x"] = np.where(d["valid"][..., None], np.concatenate([d["x"], np.load(D + f"embf_b_{name}.npy")], -1), 0).astype(np.float32)
    d["truth"] = held_out_by_user(d["held"])
    return d
train = [load("split1"), load("split2")]; val = load("split1000")
model = LinkModel(embedding=DEFAULT_EMBEDDING)
xs = np.concatenate([signed_log(t["x"]).reshape(-1, t["x"].shape[-1]) for t in train])
model.mean, model.std = xs.mean(0), xs.std(0) + 1e-6
torch.manual_seed(0)
dim = train[0]["x"].shape[-1]
net = torch.nn.Sequential(torch.nn.Linear(dim, 64), torch.nn.ReLU(), torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 1))
opt = torch.optim.Adam(net.parameters(), lr=3e-3, weight_decay=1e-5)
data = [(torch.tensor(model._norm(t["x"])), torch.tensor(t["y"]), torch.tensor(t["valid"])) for t in train]
class F:  # CandidateFeatures stand-in
    def __init__(s, d): s.x, s.valid, s.cand, s.users = d["x"], d["valid"], d["cand"], d["users"]
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
    print(f"epoch {epoch+1} val recall {r:.4f} ndcg {nd:.4f} ({time.time()-t0:.0f}s)", flush=True)
model.params = best_params
model.save(D + "final_scratch_model.npz")
test = load("test")
r, nd = recall_ndcg_at_k(model._top(F(test), 10), test["users"], test["truth"], 10)
print(json.dumps({"best_val": best, "test_recall@10": r, "test_ndcg@10": nd, "history": model.history}), flush=True)
