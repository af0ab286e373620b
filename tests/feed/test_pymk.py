import numpy as np
import pytest

from townsquare.bench.pymk import heuristic_scores, top_k_non_friends
from townsquare.feed import pymk
from townsquare.feed.linkpred import (
    GraphIndex,
    LinkModel,
    adjacency,
    candidate_features,
    held_out_by_user,
    recall_ndcg_at_k,
    split_edges,
)

from . import factories as f


def two_communities(n=24, seed=0):
    """Two dense groups with a few bridges: friends of friends inside a group are the answer."""
    rng = np.random.default_rng(seed)
    edges = []
    half = n // 2
    for lo in (0, half):
        for a in range(lo, lo + half):
            for b in range(a + 1, lo + half):
                if rng.random() < 0.5:
                    edges.append((a, b))
    edges += [(0, half), (1, half + 1)]
    return np.array(edges), n


def test_heuristics_hand_computed():
    # path 0-1-2 and 0-3-2, and 2-4: CN(0,2)=2, CN(0,4)=0; RA(0,2)=1/2+1/2
    a = adjacency(np.array([(0, 1), (1, 2), (0, 3), (3, 2), (2, 4)]), 5)
    users = np.array([0])
    assert heuristic_scores(a, users, "common_neighbours")[0, 2] == 2
    assert heuristic_scores(a, users, "resource_allocation")[0, 2] == pytest.approx(1.0)
    assert heuristic_scores(a, users, "adamic_adar")[0, 2] == pytest.approx(2 / np.log(2))
    top = top_k_non_friends(heuristic_scores(a, users, "common_neighbours"), a, users, k=2)[0]
    assert top[0] == 2 and 1 not in top and 3 not in top and 0 not in top


def test_split_and_truth():
    e = np.array([(i, i + 1) for i in range(20)])
    kept, held = split_edges(e, 0.1, 0)
    assert len(held) == 2 and len(kept) == 18
    assert not {tuple(x) for x in held} & {tuple(x) for x in kept}
    truth = held_out_by_user(held)
    a, b = held[0]
    assert b in truth[a] and a in truth[b]
    recs = [[int(b)], [int(a)]]
    assert recall_ndcg_at_k(recs, [a, b], {a: {b}, b: {a}})[0] == 1.0


def test_candidates_are_two_hop_non_friends():
    e, n = two_communities()
    g = GraphIndex(adjacency(e, n))
    feats = candidate_features(g, np.arange(n), 10)
    for u, row, valid in zip(range(n), feats.cand, feats.valid, strict=True):
        friends = set(g.adj[u].indices)
        for c in row[valid]:
            assert c != u and c not in friends
            assert friends & set(g.adj[c].indices)
    assert np.isfinite(feats.x).all()


def test_link_model_trains_and_beats_chance():
    e, n = two_communities(40)
    train, test = split_edges(e, 0.1, 0)
    model = LinkModel(epochs=3, splits=1, hidden=16, n_candidates=20).fit(train, n)
    g = GraphIndex(adjacency(train, n))
    truth = held_out_by_user(test)
    users = np.array(sorted(truth))
    recs = [[c for c, _ in r] + [-1] * 10 for r in model.recommend(g, users, 10)]
    recall, _ = recall_ndcg_at_k(recs, users, truth, 10)
    assert recall > 0.4  # 10 picks out of ~9 two-hop non-friends in the same half


def test_link_model_save_and_load(tmp_path):
    e, n = two_communities()
    model = LinkModel(epochs=1, splits=1, hidden=8, n_candidates=10).fit(e, n)
    model.save(tmp_path / "m.npz")
    again = LinkModel.load(tmp_path / "m.npz")
    assert again.embedding == model.embedding
    g = GraphIndex(adjacency(e, n))
    f1 = candidate_features(g, np.array([0, 5]), 10, embedding=model.embedding)
    assert np.allclose(model.score(f1), again.score(f1), equal_nan=True)
    with pytest.raises(ValueError):  # features without the embedding columns do not fit this model
        model.score(candidate_features(g, np.array([0, 5]), 10))


@pytest.fixture(autouse=True)
def _fresh_graph_cache():
    pymk.GRAPHS.clear()


def make_app_graph(s):
    me = f.account(s, "me")
    friends = [f.account(s) for _ in range(4)]
    fof = [f.account(s) for _ in range(6)]
    for fr in friends:
        f.follow(s, me, fr)
        f.follow(s, fr, me)
    for i, x in enumerate(fof):
        for fr in friends[: 1 + i % 4]:
            f.follow(s, fr, x)
    return me, friends, fof


def test_suggestions_never_self_followed_requested_or_blocked(db):
    with db.session() as s:
        me, friends, fof = make_app_graph(s)
        f.request_follow(s, me, fof[0])
        f.block(s, me, fof[1])
        f.block(s, fof[2], me)
        f.mute(s, me, fof[3])
        follower = f.account(s)
        f.follow(s, follower, me)
        for model in (None, LinkModel(epochs=1, splits=1, hidden=8, n_candidates=20)
                      .fit(np.array([(0, 1), (1, 2), (2, 3), (3, 0), (0, 2), (4, 5), (5, 1), (4, 1)]), 6)):
            out = pymk.suggestions(s, me, 20, model=model)
            ids = [x.account.id for x in out]
            forbidden = {me.id, *(fr.id for fr in friends), fof[0].id, fof[1].id, fof[2].id, fof[3].id}
            assert ids and not set(ids) & forbidden
            assert len(ids) == len(set(ids))
            assert {fof[4].id, fof[5].id} <= set(ids)
            top_follower = next(x for x in out if x.account.id == follower.id)
            assert top_follower.follows_you and top_follower.reasons[0]["code"] == "follows_you"


def test_suggestions_social_proof(db):
    with db.session() as s:
        me, friends, fof = make_app_graph(s)
        out = pymk.suggestions(s, me, 10)
        best = out[0]
        assert best.account.id == fof[3].id or best.mutual_count >= 3
        proof = {x.account.id: x for x in out}[fof[3].id]
        assert proof.mutual_count == 4
        assert any(r["code"] == "mutual" and r["text"].startswith("4 friends in common") for r in proof.reasons)


def test_cold_start_suggests_popular_accounts(db):
    with db.session() as s:
        me, friends, fof = make_app_graph(s)
        newbie = f.account(s, "newbie")
        out = pymk.suggestions(s, newbie, 3)
        assert len(out) == 3 and newbie.id not in [x.account.id for x in out]
        assert out[0].account.follower_count >= max(a.follower_count for a in fof)


class FakeAccountScorer:
    def __init__(self, favourite):
        self.favourite = favourite

    def encode(self, account_id, **known):
        return account_id

    def retrieve(self, state, k, kind="post", exclude=None):
        assert kind == "account"
        return [(self.favourite, 1.0)]

    def score_accounts(self, state, account_ids):
        fav = np.array([a == self.favourite for a in account_ids], float)
        return {"follow": 0.1 + 0.8 * fav, "two_way": 0.5 + 0.4 * fav}


def test_scorer_ranks_by_follow_times_two_way(db):
    with db.session() as s:
        me, friends, fof = make_app_graph(s)
        stranger = f.account(s)
        out = pymk.suggestions(s, me, 5, scorer=FakeAccountScorer(stranger.id))
        assert out[0].account.id == stranger.id
        assert out[0].score == pytest.approx(0.9 * 0.9)


def test_bench_run_on_a_small_file(tmp_path):
    from townsquare.bench import pymk as pymk_bench

    e, n = two_communities(40)
    path = tmp_path / "edges.txt"
    path.write_text("\n".join(f"{a} {b}" for a, b in e))
    rows = pymk_bench.run(path, seed=0, model_kwargs={"epochs": 1, "splits": 1, "hidden": 8, "n_candidates": 20},
                          save_model=tmp_path / "m.npz")
    names = [r["name"] for r in rows]
    assert names == ["common_neighbours", "adamic_adar", "resource_allocation", "townsquare_linkmodel"]
    assert all(0 <= r["metrics"]["recall@10"] <= 1 and 0 <= r["metrics"]["ndcg@10"] <= 1 for r in rows)
    assert rows[1]["metrics"]["recall@10_vs_adamic_adar"] == 1.0
    assert (tmp_path / "m.npz").exists()


def test_stale_graph_is_served_while_rebuilt_in_background(db):
    import time as _time

    with db.session() as s:
        me, friends, fof = make_app_graph(s)
    cache = pymk._GraphCache(ttl_s=0.0)
    with db.session() as s:
        first = cache.get(s)
        again = cache.get(s)  # stale at once: served, a rebuild starts in the background
        assert again is first
    for _ in range(100):
        with db.session() as s:
            if cache.get(s) is not first:
                break
        _time.sleep(0.05)
    with db.session() as s:
        assert cache.get(s).index.n == first.index.n
