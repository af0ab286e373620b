"""Training data from a small hand-made log: tokens, labels, the time split, no leakage."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from townsquare.errors import InvalidInput
from townsquare.rec.training_data import HEAD_COL, build_log_data, label_token, tokenize
from townsquare.social.events import EventRecord, log_events
from townsquare.social.models import Account, Post

T = datetime(2026, 3, 1, 12, tzinfo=UTC)


def ev(action, entity_id, minutes, entity_type="post", dwell_ms=None, actor=1):
    return EventRecord(id=0, ts=T + timedelta(minutes=minutes), actor_id=actor, action=action,
                       entity_type=entity_type, entity_id=entity_id, surface=None, position=None, dwell_ms=dwell_ms)


def test_tokenize_folds_an_episode_and_keeps_later_visits_apart():
    toks = tokenize([
        ev("impression", 10, 0), ev("dwell", 10, 0.1, dwell_ms=9000), ev("open", 10, 0.2), ev("like", 10, 0.3),
        ev("impression", 11, 1), ev("hide", 11, 1.1),
        ev("follow", 5, 2, entity_type="account"),
        ev("impression", 10, 120),  # two hours later: a new episode
        ev("search", None, 3, entity_type="none"),
    ])
    assert [(t.kind, t.entity_id, t.action) for t in toks] == [
        ("post", 10, "like"), ("post", 11, "hide"), ("account", 5, "follow"), ("post", 10, "impression")]
    assert toks[0].dwell_ms == 9000 and toks[0].target
    assert not toks[1].target  # hidden: never a retrieval positive
    assert not toks[3].target  # a bare impression


def _db_log(db):
    """Person A (viewer), B and C (authors). A likes B's post, follows B, B follows back; A hides C's post."""
    with db.session() as s:
        a, b, c = (Account(handle=h, created_at=T) for h in ("a", "b", "c"))
        s.add_all([a, b, c])
        s.flush()
        pb = Post(author_id=b.id, text="hello from b", created_at=T)
        pc = Post(author_id=c.id, text="c writes", created_at=T)
        extra = [Post(author_id=c.id, text=f"filler {i}", created_at=T) for i in range(12)]
        s.add_all([pb, pc, *extra])
        s.flush()
        rows = [
            {"actor_id": a.id, "action": "impression", "entity_id": pb.id, "ts": T + timedelta(hours=1)},
            {"actor_id": a.id, "action": "dwell", "entity_id": pb.id, "ts": T + timedelta(hours=1, seconds=5),
             "dwell_ms": 12000},
            {"actor_id": a.id, "action": "like", "entity_id": pb.id, "ts": T + timedelta(hours=1, seconds=6)},
            {"actor_id": a.id, "action": "follow", "entity_type": "account", "entity_id": b.id,
             "ts": T + timedelta(hours=2)},
            {"actor_id": b.id, "action": "follow", "entity_type": "account", "entity_id": a.id,
             "ts": T + timedelta(hours=20)},
            {"actor_id": a.id, "action": "impression", "entity_id": pc.id, "ts": T + timedelta(hours=3)},
            {"actor_id": a.id, "action": "hide", "entity_id": pc.id, "ts": T + timedelta(hours=3, seconds=2)},
        ]
        # Later filler impressions spread over four days give the split room.
        for i, p in enumerate(extra):
            rows.append({"actor_id": a.id, "action": "impression", "entity_id": p.id,
                         "ts": T + timedelta(hours=6 + 8 * i)})
            rows.append({"actor_id": b.id, "action": "impression", "entity_id": p.id,
                         "ts": T + timedelta(hours=7 + 8 * i)})
        log_events(s, rows)
        return a.id, b.id, c.id, pb.id, pc.id


def test_labels_from_a_hand_made_log(db):
    a, b, c, pb, pc = _db_log(db)
    with db.session() as s:
        data = build_log_data(s, valid_frac=0.2, test_frac=0.2)
    toks = data.sequences[a]
    liked = next(t for t in toks if t.kind == "post" and t.entity_id == pb)
    y = liked.labels
    assert liked.split == "train"
    assert y[HEAD_COL["like"]] == 1 and y[HEAD_COL["dwell"]] == 1 and y[HEAD_COL["open"]] == 0
    assert y[HEAD_COL["hide"]] == 0
    assert y[HEAD_COL["follow_author"]] == 1 and y[HEAD_COL["two_way"]] == 1  # b followed back within 36 h
    hidden = next(t for t in toks if t.kind == "post" and t.entity_id == pc)
    assert hidden.labels[HEAD_COL["hide"]] == 1 and hidden.labels[HEAD_COL["like"]] == 0
    assert hidden.labels[HEAD_COL["follow_author"]] == 0
    follow = next(t for t in toks if t.kind == "account")
    assert follow.entity_id == b and follow.labels[HEAD_COL["follow_author"]] == 1
    assert follow.labels[HEAD_COL["like"]] == -1  # short-term heads are for posts
    # After following b, a's later tokens about b's content would be "already following": unknown.
    assert data.window.n_tokens["train"] > 0 and data.window.n_tokens["test"] > 0


def test_split_is_by_time_and_labels_never_look_past_it(db):
    a, *_ = _db_log(db)
    with db.session() as s:
        data = build_log_data(s, valid_frac=0.2, test_frac=0.2)
    w = data.window
    assert w.since < w.valid_start < w.test_start < w.until
    for toks in data.sequences.values():
        order = {"train": 0, "valid": 1, "test": 2}
        assert [order[t.split] for t in toks] == sorted(order[t.split] for t in toks)  # a prefix, a middle, a tail
        for t in toks:
            assert t.split == w.split_of(t.ts)
            end = w.label_end(t.split)
            # A long-term label is known only when its horizon ends before its split does.
            if t.labels[HEAD_COL["follow_author"]] >= 0:
                from townsquare.rec.training_data import FOLLOW_HORIZON

                assert t.ts + FOLLOW_HORIZON <= end


def test_label_censoring_hides_outcomes_after_the_split():
    from townsquare.rec.training_data import SocialTimeline, Token

    tl = SocialTimeline()
    tl.add_follow(1, 2, T + timedelta(hours=5))
    tl.finish()
    tok = Token("post", 9, T, actions={"impression"})
    # The follow happens after the split ends: the outcome must not be visible.
    assert label_token(1, tok, 2, tl, T + timedelta(hours=4))[HEAD_COL["follow_author"]] == -1
    assert label_token(1, tok, 2, tl, T + timedelta(days=3))[HEAD_COL["follow_author"]] == 1


def test_empty_log_is_a_clear_error(db):
    with db.session() as s, pytest.raises(InvalidInput, match="event log is empty"):
        build_log_data(s)


def test_windows_cover_every_position_once():
    from townsquare.rec.features import windows

    plain = windows(10, 4)
    predicted = sorted(p for a, b in plain for p in range(a + 1, b))
    assert predicted == list(range(1, 10))
    prefixed = windows(10, 4, predict_first=True)
    predicted = sorted(p for a, b in prefixed for p in range(a, b))
    assert predicted == list(range(10))
    assert all(b - a <= 4 for a, b in plain + prefixed)
    assert windows(10, 4, start=8) == [(6, 10)]


def test_graph_prefix_holds_only_earlier_follows(db):
    import numpy as np

    from townsquare.rec.features import EncodedLog, FeatureSpace, TextEmbeddingCache, make_batch

    from .community import fake_embed

    a, b, *_ = _db_log(db)
    with db.session() as s:
        data = build_log_data(s, valid_frac=0.2, test_frac=0.2)
    space = FeatureSpace.from_training(data, 384, graph_tokens=4)
    import tempfile
    from pathlib import Path

    cache = TextEmbeddingCache(Path(tempfile.mkdtemp()) / "c.npz", 384)
    log = EncodedLog.build(data, space, cache, fake_embed)
    si = next(i for i, sq in enumerate(log.sequences) if sq.person == a)
    seq = log.sequences[si]
    follow_pos = next(i for i, t in enumerate(data.sequences[a]) if t.kind == "account")
    offsets: list[int] = []
    # A window that starts at the follow token: a did not follow anyone before it.
    make_batch(log, [(si, follow_pos, follow_pos + 2)], offsets)
    assert offsets == [0]
    # A window that starts after it: "follows b" opens the row, with no label and no target.
    batch = make_batch(log, [(si, follow_pos + 1, follow_pos + 3)], offsets)
    assert offsets[-1] == 1
    assert batch.history.entities.ids.shape[1] == 3
    assert not batch.target_mask[0, 0] and bool((batch.labels[0, 0] == -1).all())
    assert int(batch.keys[0, 0]) == 2 * b + 1
    assert np.all(np.diff(batch.history.times[0].numpy()) >= 0)
    assert seq.follow_times[0] <= seq.times[follow_pos + 1]


def test_context_features_are_known_at_the_token_and_never_later():
    """Post age and who follows whom, as of the moment the post was shown (no look-ahead)."""
    import math

    from townsquare.rec.features import AGE_SCALE_H, CONTEXT_FEATURES, token_context
    from townsquare.rec.training_data import DataWindow, LogData, PostInfo, SocialTimeline, Token

    tl = SocialTimeline()
    tl.add_follow(1, 2, T + timedelta(hours=5))  # the viewer follows the author later on
    tl.add_follow(2, 1, T + timedelta(hours=1))  # the author follows the viewer early
    tl.finish()
    post = PostInfo(9, 2, "text", "x", T - timedelta(hours=2), None, "public", True)
    window = DataWindow(T, T + timedelta(days=1), T, T, 0, 0, {})
    data = LogData(sequences={}, posts={9: post}, accounts={}, timeline=tl, window=window)
    assert CONTEXT_FEATURES == ("in_network", "follows_viewer", "age", "content_sim", "content_knn")
    before = token_context(1, Token("post", 9, T), data)
    assert before[:2] == [0.0, 0.0]  # neither follow exists yet at T
    assert before[2] == pytest.approx(math.log1p(2) / math.log1p(AGE_SCALE_H))  # two hours old
    middle = token_context(1, Token("post", 9, T + timedelta(hours=3)), data)
    assert middle[:2] == [0.0, 1.0]
    after = token_context(1, Token("post", 9, T + timedelta(hours=6)), data)
    assert after[:2] == [1.0, 1.0] and after[2] > middle[2] > before[2]
    # An account token: no age.
    assert token_context(1, Token("account", 2, T + timedelta(hours=6)), data) == [1.0, 1.0, 0.0, 0.0, 0.0]


def test_encoded_log_carries_context_only_when_asked(db, tmp_path):
    import numpy as np

    from townsquare.rec.features import EncodedLog, FeatureSpace, TextEmbeddingCache, make_batch

    a, b, c, pb, pc = _db_log(db)
    with db.session() as s:
        data = build_log_data(s, valid_frac=0.2, test_frac=0.2)

    def embed(texts):
        import numpy as np

        return np.ones((len(texts), 4), dtype="float32")

    for context in (False, True):
        space = FeatureSpace.from_training(data, 4, context=context)
        log = EncodedLog.build(data, space, TextEmbeddingCache(tmp_path / "emb.npz", 4), embed)
        seq = next(s for s in log.sequences if s.person == a)
        batch = make_batch(log, [(log.sequences.index(seq), 0, len(seq.rows))])
        if not context:
            assert space.context_dim == 0 and seq.context is None and batch.context is None
            continue
        assert space.context_dim == 5 and seq.context.shape == (len(seq.rows), 5)
        assert batch.context.shape[-1] == 5
        # a's like of b's post came an hour after it was written, before a followed b.
        k = next(i for i, t in enumerate(data.sequences[a]) if t.kind == "post" and t.entity_id == pb)
        assert seq.context[k, 0] == 0.0 and seq.context[k, 2] > 0
        # A checkpoint trained with the first four features (before content_knn) gets those four.
        from dataclasses import replace

        old = EncodedLog.build(data, replace(space, context_dim=4), TextEmbeddingCache(tmp_path / "emb.npz", 4), embed)
        old_seq = next(s for s in old.sequences if s.person == a)
        assert old_seq.context.shape == (len(seq.rows), 4) and np.array_equal(old_seq.context, seq.context[:, :4])


def test_content_profile_holds_only_engagements_that_ended_before_the_token():
    """content_sim of token k: cosine with the mean text of posts engaged with before k started."""
    import numpy as np

    from townsquare.rec.features import sequence_context
    from townsquare.rec.training_data import DataWindow, LogData, PostInfo, SocialTimeline, Token

    tl = SocialTimeline()
    tl.finish()
    posts = {i: PostInfo(i, 2, "text", "x", T - timedelta(hours=1), None, "public", True) for i in (1, 2, 3)}
    data = LogData(sequences={}, posts=posts, accounts={}, timeline=tl,
                   window=DataWindow(T, T + timedelta(days=1), T, T, 0, 0, {}))
    liked = Token("post", 1, T, actions={"impression", "like"}, last_ts=T + timedelta(minutes=20))
    during = Token("post", 2, T + timedelta(minutes=10), actions={"impression"}, last_ts=T + timedelta(minutes=10))
    later = Token("post", 3, T + timedelta(hours=1), actions={"impression"}, last_ts=T + timedelta(hours=1))
    text = np.array([[1.0, 0.0], [1.0, 0.0], [0.6, 0.8]], dtype=np.float32)
    ctx = sequence_context(1, [liked, during, later], text, data)
    assert ctx[0, 3] == 0.0  # nothing engaged with before
    assert ctx[1, 3] == 0.0  # the like's episode had not ended when post 2 was shown: no look-ahead
    assert ctx[2, 3] == pytest.approx(0.6)  # cos((0.6, 0.8), profile (1, 0))
    assert ctx[0, 4] == ctx[1, 4] == 0.0 and ctx[2, 4] == pytest.approx(0.6)  # content_knn: its one neighbour


def test_knn_similarity_is_close_to_each_separate_interest():
    import numpy as np

    from townsquare.rec.features import knn_similarity

    engaged = np.array([[1, 0, 0]] * 3 + [[0, 1, 0]] * 3, dtype=np.float32)  # two interests
    posts = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    got = knn_similarity(posts, engaged, k=3)
    assert got.tolist() == pytest.approx([1.0, 1.0, 0.0])  # the mean profile would give 0.71, 0.71, 0
    assert knn_similarity(posts, None).tolist() == [0, 0, 0]
    assert knn_similarity(posts, engaged[:1], k=3).tolist() == pytest.approx([1.0, 0.0, 0.0])  # fewer than k
