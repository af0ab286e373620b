import math

import numpy as np
import pytest

from townsquare.feed.config import DEFAULT_VALUE_WEIGHTS, feed_config
from townsquare.feed.pymk_metrics import ndcg_at_k, recall_at_k
from townsquare.feed.value import ValueModel


def test_recall_hand_computed():
    assert recall_at_k([5, 1, 9], {1, 2}, k=10) == 0.5
    assert recall_at_k([5, 1, 9], {1, 2}, k=1) == 0.0
    assert recall_at_k([2, 1], {1, 2}) == 1.0
    assert recall_at_k([3], set()) == 0.0


def test_ndcg_hand_computed():
    # hit at rank 2 of 1 relevant: (1/log2 3) / 1
    assert ndcg_at_k([7, 1, 8], {1}) == pytest.approx(1 / math.log2(3))
    # hits at ranks 1 and 3 of 2 relevant: (1 + 1/2) / (1 + 1/log2 3)
    assert ndcg_at_k([1, 0, 2], {1, 2}) == pytest.approx(1.5 / (1 + 1 / math.log2(3)))
    # more relevant than k: ideal counts only k slots
    assert ndcg_at_k([1, 2], {1, 2, 3}, k=2) == pytest.approx(1.0)
    assert ndcg_at_k([9, 8], {1}) == 0.0


def test_value_is_the_weighted_sum_and_negative_feedback_dominates():
    vm = ValueModel({"like": 2.0, "share": 5.0, "hide": -20.0})
    heads = {"like": np.array([0.5, 0.5]), "share": np.array([0.1, 0.1]), "hide": np.array([0.0, 0.2])}
    v = vm.value(heads)
    assert v[0] == pytest.approx(2 * 0.5 + 5 * 0.1)
    assert v[1] == pytest.approx(2 * 0.5 + 5 * 0.1 - 20 * 0.2)
    assert v[1] < 0 < v[0]
    top = vm.top_actions(heads, 0)
    assert [t["action"] for t in top] == ["like", "share"]


def test_default_weights_have_long_term_terms_and_heavy_negatives():
    w = DEFAULT_VALUE_WEIGHTS
    assert w["two_way"] > w["like"] and w["follow_author"] > w["like"]
    assert w["hide"] <= -5 * w["like"] and w["report"] < w["hide"]


def test_config_overrides_from_settings_and_rejects_unknown():
    class S:
        extra = {"feed": {"value_weights": {"like": 3}, "blend": {"author_gap": 5}}}

    cfg = feed_config(S())
    assert cfg.value_weights["like"] == 3.0 and cfg.blend.author_gap == 5
    S.extra = {"feed": {"value_weights": {"nope": 1}}}
    with pytest.raises(ValueError):
        feed_config(S())


def test_top_actions_all_equals_top_actions_item_by_item():
    from townsquare.feed.config import POST_HEADS

    rng = np.random.default_rng(3)
    heads = {h: rng.random(40).astype(np.float32) for h in POST_HEADS}
    vm = ValueModel()
    indices = [5, 0, 39, 17, 5]
    assert vm.top_actions_all(heads, indices) == [vm.top_actions(heads, i) for i in indices]
    assert vm.top_actions_all(heads, []) == []
