"""The node-embedding step of the PYMK link model (feed/embed.py) and how the model and app use it."""

import time

import numpy as np
import pytest

from townsquare.feed import embed, linkpred, pymk
from townsquare.feed.embed import EMBEDDING_FEATURES, EmbeddingView, embedding_features, train_embedding
from townsquare.feed.linkpred import (
    FEATURE_NAMES,
    GraphIndex,
    LinkModel,
    adjacency,
    candidate_features,
    split_edges,
)

SMALL = {"dim": 8, "steps": 60, "lr": 0.05, "weight_decay": 3e-5}


def planted(groups=4, size=20, p_in=0.5, p_out=0.01, seed=0):
    rng = np.random.default_rng(seed)
    n = groups * size
    label = np.arange(n) // size
    i, j = np.triu_indices(n, 1)
    p = np.where(label[i] == label[j], p_in, p_out)
    keep = rng.random(len(i)) < p
    return np.stack([i[keep], j[keep]], 1), n, label


def test_embedding_shapes_and_finite_features():
    e, n, _ = planted()
    g = GraphIndex(adjacency(e, n))
    view = g.node_embedding(SMALL)
    assert view.emb.inp.shape == (n, 8) and view.emb.out.shape == (n, 8) and view.emb.bias.shape == (n,)
    assert g.node_embedding(SMALL) is view  # fitted once per graph and config
    f = candidate_features(g, np.arange(10), 15, embedding=SMALL)
    assert f.x.shape == (10, 15, len(FEATURE_NAMES) + len(EMBEDDING_FEATURES))
    assert np.isfinite(f.x).all()
    assert (f.x[~f.valid] == 0).all()
    # log p(v | u) is a log-probability: it sums to 1 over all nodes
    lp = view.emb.logits(np.arange(3)) - view.lse[:3, None]
    assert np.allclose(np.exp(lp).sum(1), 1, atol=1e-4)


def test_embedding_ranks_held_out_friends_above_strangers():
    """Fitted on a graph without some edges, it ranks those edges' ends above non-friends."""
    e, n, label = planted()
    kept, held = split_edges(e, 0.1, 0)
    view = EmbeddingView.of(train_embedding(adjacency(kept, n), dim=8, steps=100), adjacency(kept, n))
    a = adjacency(e, n).toarray()
    rng = np.random.default_rng(1)
    non = np.array([(u, v) for u, v in rng.integers(0, n, (4000, 2)) if u != v and not a[u, v]])[:len(held) * 5]
    pos = view.emb.pair_logits(held[:, 0], held[:, 1:])[:, 0]
    neg = view.emb.pair_logits(non[:, 0], non[:, 1:])[:, 0]
    auc = (pos[:, None] > neg[None, :]).mean()
    assert auc > 0.75  # chance is 0.5


def test_friends_view_prefers_the_candidate_of_the_persons_circle():
    """Two candidates with one common friend each (tied common neighbours and degrees): the friends'
    view of the embedding favours the one in the person's own dense circle."""
    e, n, label = planted(groups=2, size=16, p_in=0.6, p_out=0.0, seed=3)
    u, mine, other = 0, 1, 16
    e = e[~((e[:, 0] == u) & (e[:, 1] == mine))]
    g = GraphIndex(adjacency(e, n))
    view = g.node_embedding(SMALL)
    x = embedding_features(view, np.array([u]), np.array([[mine, other]]), np.ones((1, 2), bool))[0]
    friends_uv = x[:, EMBEDDING_FEATURES.index("emb_friends_logp_uv")]
    assert friends_uv[0] > friends_uv[1]


def test_training_reduces_the_loss():
    e, n, _ = planted()
    a = adjacency(e, n)

    def nll(emb):
        lse = embed.log_normalisers(emb)
        coo = a.tocoo()
        return -(emb.pair_logits(coo.row, coo.col[:, None])[:, 0] - lse[coo.row]).mean()

    assert nll(train_embedding(a, dim=8, steps=40)) < nll(train_embedding(a, dim=8, steps=1)) - 0.5


def test_no_test_edge_reaches_an_embedding(tmp_path, monkeypatch):
    """Every graph an embedding is fitted on in the benchmark lacks every test edge."""
    from townsquare.bench import pymk as pymk_bench

    e, n, _ = planted(groups=2, size=20)
    path = tmp_path / "edges.txt"
    path.write_text("\n".join(f"{a} {b}" for a, b in e))
    seen = []
    real = linkpred.train_embedding

    def spy(adj, **kw):
        seen.append(adj.copy())
        return real(adj, **kw)

    monkeypatch.setattr(linkpred, "train_embedding", spy)
    rows = pymk_bench.run(path, seed=0, model_kwargs={"epochs": 1, "splits": 2, "hidden": 8, "n_candidates": 20,
                                                      "embedding": SMALL})
    edges, _ = pymk_bench.load_edges(path)
    _, test = split_edges(edges, 0.1, 0)
    assert len(seen) == 4  # two training splits, the validation split, the test graph
    for adj in seen:
        assert all(adj[a, b] == 0 for a, b in test)
    assert rows[-1]["config"]["model"]["embedding"] == SMALL


def test_old_model_files_load_without_embedding(tmp_path):
    e, n, _ = planted(groups=2, size=10)
    model = LinkModel(epochs=1, splits=1, hidden=8, n_candidates=10, embedding=None).fit(e, n)
    model.save(tmp_path / "m.npz")
    data = dict(np.load(tmp_path / "m.npz"))
    data.pop("embedding")
    np.savez(tmp_path / "old.npz", **data)
    assert LinkModel.load(tmp_path / "old.npz").embedding is None
    assert pymk.BUNDLED_PLAIN_MODEL.exists() and LinkModel.load(pymk.BUNDLED_PLAIN_MODEL).embedding is None
    assert LinkModel.load(pymk.BUNDLED_MODEL).embedding is not None


def test_app_falls_back_to_the_plain_model_on_big_graphs(monkeypatch):
    e, n, _ = planted(groups=2, size=10)
    graph = pymk.FollowGraph(GraphIndex(adjacency(e, n)), {i: i for i in range(n)}, np.arange(n))
    model = LinkModel(epochs=1, splits=1, hidden=8, n_candidates=10, embedding=SMALL).fit(e, n)
    first = pymk._servable(model, graph)  # the embedding is being fitted in the background
    assert first is model or first.embedding is None
    for _ in range(200):
        if graph.index.has_embedding(SMALL):
            break
        time.sleep(0.05)
    assert pymk._servable(model, graph) is model
    monkeypatch.setattr(pymk, "EMBEDDING_MAX_NODES", n - 1)
    plain = pymk._servable(model, graph)
    assert plain is not model and plain.embedding is None
    assert pymk._graph_candidates(graph, 0, {0}, model)  # still suggests people


@pytest.mark.parametrize("steps", [0])
def test_zero_steps_is_a_valid_untrained_embedding(steps):
    e, n, _ = planted(groups=2, size=10)
    emb = train_embedding(adjacency(e, n), dim=4, steps=steps)
    assert emb.inp.shape == (n, 4) and np.isfinite(emb.inp).all()


def test_train_pymk_command_saves_a_model_with_the_embedding(db, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app

    from . import factories as f

    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", db.url)
    e, n, _ = planted(groups=2, size=14, p_in=0.5)
    with db.session() as s:
        people = [f.account(s) for _ in range(n)]
        for a, b in e:
            f.follow(s, people[a], people[b])
    out = CliRunner().invoke(app, ["feed", "train-pymk", "--epochs", "1"])
    assert out.exit_code == 0, out.output
    saved = next((tmp_path / "data").rglob("pymk_linkmodel.npz"))
    assert LinkModel.load(saved).embedding is not None
    plain = CliRunner().invoke(app, ["feed", "train-pymk", "--epochs", "1", "--no-embedding"])
    assert plain.exit_code == 0 and LinkModel.load(saved).embedding is None
