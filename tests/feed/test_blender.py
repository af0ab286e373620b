from datetime import timedelta

import numpy as np

from townsquare.feed.blender import BlendInput, blend, blended_value
from townsquare.feed.config import BlendConfig
from townsquare.feed.types import Candidate

from .factories import NOW


def cand(pid, author, kind="text", in_network=False, hours=1.0):
    return Candidate(pid, author, kind, NOW - timedelta(hours=hours), in_network=in_network)


def test_never_the_same_post_twice():
    cands = [cand(1, 10), cand(1, 10), cand(2, 11)]
    out = blend(BlendInput(cands, np.array([3.0, 2.0, 1.0]), 0.0), BlendConfig())
    assert [cands[i].post_id for i in out] == [1, 2]


def test_author_diversity_gap():
    cands = [cand(i, 10 if i < 4 else 20 + i) for i in range(16)]
    values = np.array([10, 9, 8, 7] + [1] * 12, float)
    out = blend(BlendInput(cands, values, 0.0), BlendConfig(author_gap=3, max_per_author=10))
    authors = [cands[i].author_id for i in out]
    for i in range(len(authors) - 2):
        window = authors[i:i + 3]
        assert window.count(10) <= 1, authors
    assert authors[0] == 10


def test_max_per_author_in_window():
    cands = [cand(i, 1) for i in range(10)] + [cand(100 + i, 200 + i) for i in range(20)]
    values = np.concatenate([np.full(10, 5.0), np.full(20, 1.0)])
    out = blend(BlendInput(cands, values, 0.0), BlendConfig(author_gap=1, max_per_author=3))
    first30 = [cands[i].author_id for i in out[:23]]
    assert first30.count(1) == 3


def test_content_type_mix():
    cands = [cand(i, 100 + i, kind="video") for i in range(6)] + [cand(50 + i, 300 + i, kind="text") for i in range(6)]
    values = np.array([10.0] * 6 + [1.0] * 6)
    out = blend(BlendInput(cands, values, 0.0), BlendConfig(max_kind_run=2))
    kinds = [cands[i].kind for i in out][:9]  # while both kinds remain
    run = best = 0
    for a, b in zip(kinds, kinds[1:], strict=False):
        run = run + 1 if a == b else 0
        best = max(best, run)
    assert best + 1 <= 2, kinds


def test_in_network_share_follows_the_target():
    cands = [cand(i, i, in_network=True) for i in range(50)] + [cand(100 + i, 100 + i) for i in range(50)]
    values = np.concatenate([np.full(50, 1.0), np.full(50, 5.0)])  # discovery scores higher
    friends = blend(BlendInput(cands, values, 0.8), BlendConfig(), limit=20)
    disco = blend(BlendInput(cands, values, 0.2), BlendConfig(), limit=20)
    share = lambda order: sum(cands[i].in_network for i in order) / len(order)  # noqa: E731
    assert share(friends) >= 0.75
    assert share(disco) <= 0.25


def test_hidden_authors_never_blended():
    cands = [cand(1, 7), cand(2, 8)]
    out = blend(BlendInput(cands, np.array([5.0, 1.0]), 0.0, frozenset({7})), BlendConfig())
    assert [cands[i].author_id for i in out] == [8]


def test_freshness_prefers_newer_posts_of_equal_value():
    cands = [cand(1, 1, hours=72), cand(2, 2, hours=1)]
    v = blended_value(np.array([1.0, 1.0]), cands, NOW, BlendConfig(freshness_half_life_h=24))
    assert v[1] > v[0]
    assert v[0] == np.float64(0.125) or abs(v[0] - 0.125) < 1e-9


def test_negative_values_never_fill_a_quota_slot():
    """A discovery item expected to do more harm than good waits behind every positive item."""
    cands = [cand(i, i, in_network=True) for i in range(10)] + [cand(100 + i, 100 + i) for i in range(10)]
    values = np.concatenate([np.full(10, 1.0), np.linspace(0.5, -0.5, 10)])  # 5 positive discovery items
    order = blend(BlendInput(cands, values, 0.5), BlendConfig(), limit=20)
    placed = [values[i] for i in order]
    first_negative = next(k for k, v in enumerate(placed) if v <= 0)
    assert first_negative == 15 and all(v > 0 for v in placed[:15])  # 10 in-network + 5 positive discovery
    assert sorted(order) == list(range(20))  # nothing is dropped: the negative ones come last
    old = blend(BlendInput(cands, values, 0.5), BlendConfig(hold_back_negative=False), limit=20)
    assert any(values[i] <= 0 for i in old[:15])  # the quota alone would have forced some in


def test_discovery_value_ratio_gives_weak_discovery_slots_to_the_network():
    cands = [Candidate(i, 100 + i, "text", NOW, in_network=i < 6) for i in range(10)]
    values = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.95, 0.3, 0.2, 0.1])  # 6 in network, then 4 discovery
    cfg = BlendConfig(author_gap=1, max_kind_run=99)
    plain = blend(BlendInput(cands, values, 0.5), cfg)
    assert [cands[i].in_network for i in plain[:4]] == [True, False, True, False]
    strict = blend(BlendInput(cands, values, 0.5, discovery_value_ratio=0.5), cfg)
    # 0.95 earns its slot; 0.3 is below half of the best in-network item waiting (0.8, then 0.7), so
    # the network fills those slots until its best is 0.6; 0.2 and 0.1 come after the network
    assert strict == [0, 6, 1, 2, 3, 7, 4, 5, 8, 9]
