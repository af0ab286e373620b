"""The Scorer the feed calls: fallback without a model, new posts, unknown ids, visibility."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import numpy as np
import pytest

from townsquare.config import load_settings
from townsquare.db import migrate
from townsquare.db.engine import Database
from townsquare.rec.heads import POST_HEADS
from townsquare.rec.serve import Scorer
from townsquare.social.models import Account, Block, Follow, Post

from .community import T0, build_community, fake_embed, train_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny community with a trained, active model (SQLite; shared by the tests of this module)."""
    folder = tmp_path_factory.mktemp("serve")
    url = f"sqlite:///{folder / 'ts.db'}"
    migrate.upgrade(url)
    db = Database(url)
    facts = build_community(db, people=12, days=6, posts_per_person=4, impressions_per_day=6)
    settings = load_settings(env={}, data_dir=folder / "data", database_url=url)
    out = train_tiny(settings, db, epochs=2)
    assert out.activated, out.reason
    yield settings, db, facts
    db.dispose()


@pytest.fixture(scope="module")
def scorer(trained):
    settings, db, _ = trained
    s = Scorer.load_active(settings, db=db, embed=fake_embed)
    assert s is not None
    return s


def test_no_model_gives_none_and_says_why(tmp_path, caplog):
    settings = load_settings(env={}, data_dir=tmp_path, database_url=f"sqlite:///{tmp_path / 'x.db'}")
    with caplog.at_level(logging.WARNING, logger="townsquare.rec.serve"):
        assert Scorer.load_active(settings, embed=fake_embed) is None
    assert "townsquare train" in caplog.text


def test_a_broken_active_model_gives_none(trained, tmp_path, caplog):
    import shutil

    settings, db, _ = trained
    from townsquare.rec import registry

    root = registry.rec_models_dir(settings)
    copy = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url)
    shutil.copytree(root, registry.rec_models_dir(copy))
    version = registry.active_version(root)
    (registry.rec_models_dir(copy) / version / registry.MODEL_FILE).write_bytes(b"not torch")
    with caplog.at_level(logging.WARNING, logger="townsquare.rec.serve"):
        assert Scorer.load_active(copy, db=db, embed=fake_embed) is None
    assert "does not load" in caplog.text


def test_scores_every_head_and_skips_unknown_ids(scorer, trained):
    _, db, facts = trained
    person = facts["ids"][0]
    state = scorer.encode(person)
    assert state.history_len > 0
    with db.session() as s:
        some = [p for p, in s.query(Post.id).filter(Post.author_id != person).limit(5)]
    out = scorer.score(state, [*some, 10**9])
    assert set(out) == set(POST_HEADS)
    for head, p in out.items():
        assert p.shape == (6,) and p.dtype == np.float32
        assert np.all((p[:5] > 0) & (p[:5] < 1)), head
        assert p[5] == 0.0  # an unknown id: skipped, scored 0
    acc = scorer.score_accounts(state, [facts["ids"][1], person, 10**9])
    assert set(acc) == {"follow", "two_way"}
    assert acc["follow"][0] > 0 and acc["follow"][1] == 0 and acc["follow"][2] == 0


def test_a_post_created_after_training_is_scorable_and_retrievable(scorer, trained):
    _, db, facts = trained
    person, author = facts["ids"][0], facts["ids"][1]
    with db.session() as s:
        new = Post(author_id=author, text="a brand new rocket launch to mars orbit", created_at=T0 + timedelta(days=30))
        gone = Post(author_id=author, text="deleted one", created_at=T0 + timedelta(days=30),
                    deleted_at=T0 + timedelta(days=31))
        s.add_all([new, gone])
        s.flush()
        new_id, gone_id = new.id, gone.id
    state = scorer.encode(person)
    out = scorer.score(state, [new_id, gone_id])
    assert 0 < out["like"][0] < 1 and out["like"][1] == 0
    assert scorer.refresh() == 0  # score() already pulled it in through the content tower
    ids = [i for i, _ in scorer.retrieve(state, k=10_000)]
    assert new_id in ids and gone_id not in ids


def test_retrieve_respects_exclusions_and_visibility(scorer, trained):
    _, db, facts = trained
    person, other, blocked = facts["ids"][0], facts["ids"][2], facts["ids"][3]
    with db.session() as s:
        private = Post(author_id=other, text="followers only football", visibility="followers",
                       created_at=T0 + timedelta(days=30))
        s.add(private)
        s.add(Block(blocker_id=person, blocked_id=blocked))
        s.flush()
        private_id = private.id
        follows_other = s.get(Follow, (person, other)) is not None
        blocked_posts = {p for p, in s.query(Post.id).filter(Post.author_id == blocked)}
        own = {p for p, in s.query(Post.id).filter(Post.author_id == person)}
    scorer.invalidate(person)
    scorer.refresh()
    state = scorer.encode(person)
    res = scorer.retrieve(state, k=10_000, exclude={next(iter(sorted(blocked_posts | {0})))})
    ids = [i for i, _ in res]
    scores = [v for _, v in res]
    assert scores == sorted(scores, reverse=True)
    assert not (set(ids) & own) and not (set(ids) & blocked_posts)
    assert (private_id in ids) == follows_other
    p_private = scorer.score(state, [private_id])["like"][0]
    assert (p_private > 0) == follows_other  # followers-only: scored 0 for a non-follower
    accounts = [i for i, _ in scorer.retrieve(state, k=100, kind="account", exclude=None)]
    assert person not in accounts and blocked not in accounts
    assert not set(accounts) & state.following
    scorer.invalidate(person)


def test_scoring_500_candidates_is_one_fast_batched_pass(scorer, trained):
    _, db, facts = trained
    state = scorer.encode(facts["ids"][0])
    ids = list(scorer.posts.ids[:50]) * 10
    scorer.score(state, ids)  # warm
    t = time.perf_counter()
    for _ in range(5):
        out = scorer.score(state, ids)
    per_call = (time.perf_counter() - t) / 5
    assert len(out["like"]) == 500
    assert per_call < 0.5  # generous: the shared test machine is busy; see docs/benchmarks.md


def test_a_post_deleted_after_load_is_retired_on_refresh(scorer, trained):
    _, db, facts = trained
    person, author = facts["ids"][0], facts["ids"][1]
    with db.session() as s:
        post = Post(author_id=author, text="soon gone football goal", created_at=T0 + timedelta(days=30))
        s.add(post)
        s.flush()
        pid = post.id
    state = scorer.encode(person)
    assert scorer.score(state, [pid])["like"][0] > 0
    with db.session() as s:
        s.get(Post, pid).deleted_at = T0 + timedelta(days=31)
    scorer.refresh()
    assert scorer.score(state, [pid])["like"][0] == 0
    assert pid not in [i for i, _ in scorer.retrieve(state, k=10_000)]


def test_the_feed_service_ranks_with_the_scorer(scorer, trained):
    """The feed (townsquare.feed) takes this Scorer as is: its page says it was ranked by the model."""
    from townsquare.feed.scoring import Scorer as FeedScorer
    from townsquare.feed.service import FeedService
    from townsquare.rec.heads import ACCOUNT_HEADS
    from townsquare.social.models import Account

    assert tuple(Scorer.HEADS) == POST_HEADS and tuple(Scorer.ACCOUNT_HEADS) == tuple(ACCOUNT_HEADS)
    assert isinstance(scorer, FeedScorer)
    settings, db, facts = trained
    service = FeedService(settings, scorer=scorer)
    with db.session() as s:
        viewer = s.get(Account, facts["ids"][0])
        feed = service.rank(s, viewer)
    assert feed.ranked_by == "model"
    assert feed.items and all(it.author_id != viewer.id for it in feed.items)


def test_the_periodic_refresh_runs_behind_the_request(scorer, trained):
    """Past ``refresh_s`` a request starts the refresh in a background thread and does not wait on it;
    the new post is retrievable once it lands."""
    _, db, facts = trained
    person, author = facts["ids"][0], facts["ids"][1]
    with db.session() as s:
        new = Post(author_id=author, text="harvest festival in the old town square", created_at=T0 + timedelta(days=30))
        s.add(new)
        s.flush()
        new_id = new.id
    state = scorer.encode(person)
    old_refresh_s = scorer.refresh_s
    scorer.refresh_s = 0.0
    try:
        scorer.retrieve(state, k=5)  # starts the refresh
        deadline = time.monotonic() + 20
        while new_id not in scorer.posts.row or scorer.refreshing:
            assert time.monotonic() < deadline, "the background refresh never landed"
            time.sleep(0.05)
    finally:
        scorer.refresh_s = old_refresh_s
    assert new_id in [i for i, _ in scorer.retrieve(state, k=10_000)]


def test_context_features_at_serving_time(scorer, trained):
    """The post's age at ``now`` and who follows whom feed the heads; nobody is predicted to start
    following an account they already follow."""
    _, db, facts = trained
    assert scorer.space.context_dim == 5  # the app model is trained with context features
    person = facts["ids"][0]
    state = scorer.encode(person)
    with db.session() as s:
        posts = list(s.query(Post.id, Post.author_id, Post.created_at)
                     .filter(Post.author_id != person, Post.visibility == "public", Post.deleted_at.is_(None)).limit(200))
    followed = [p for p, a, _ in posts if a in state.following]
    other = [p for p, a, _ in posts if a not in state.following and a not in state.hidden_authors]
    assert followed and other
    out = scorer.score(state, followed + other)
    n = len(followed)
    assert np.all(out["follow_author"][:n] == 0) and np.all(out["two_way"][:n] == 0)
    assert np.all(out["follow_author"][n:] > 0)
    assert np.all(out["like"][:n] > 0)  # the short-term heads still score them
    created = posts[0][2]
    fresh = scorer.score(state, [posts[0][0]], now=created + timedelta(minutes=5))
    old = scorer.score(state, [posts[0][0]], now=created + timedelta(days=6))
    assert any(fresh[h][0] != old[h][0] for h in POST_HEADS if h not in ("follow_author", "two_way"))


def test_content_similarity_prefers_the_topics_a_person_engaged_with(scorer, trained):
    """k-nearest-neighbour similarity to recently engaged posts: posts of the person's own topic come
    first, for a new post too; similar_posts keeps retrieve's exclusions."""
    _, db, facts = trained
    person = facts["ids"][0]
    mine = facts["topic_of"][person]
    other = next(t for t in ("football", "cooking", "space", "music") if t != mine)
    author = facts["ids"][1]
    with db.session() as s:
        rng = __import__("random").Random(5)
        from .community import topic_text

        same = Post(author_id=author, text=topic_text(rng, mine), created_at=T0 + timedelta(days=30))
        diff = Post(author_id=author, text=topic_text(rng, other), created_at=T0 + timedelta(days=30))
        s.add_all([same, diff])
        s.flush()
        same_id, diff_id = same.id, diff.id
    scorer.invalidate(person)
    state = scorer.encode(person)
    assert state.engaged_text is not None and len(state.engaged_text) > 0
    sims = scorer.content_similarity(state, [same_id, diff_id, 10**9])
    assert sims[0] > sims[1] and sims[2] == 0
    scorer.refresh()
    got = scorer.similar_posts(state, k=5, exclude={diff_id})
    ids = [i for i, _ in got]
    assert same_id in ids and diff_id not in ids
    assert [v for _, v in got] == sorted((v for _, v in got), reverse=True)
    with db.session() as s:
        own = {p for p, in s.query(Post.id).filter(Post.author_id == person)}
    assert not set(ids) & own
    scorer.invalidate(person)
    # A model trained before content_knn (4 context features) is served the first four.
    rows = np.arange(3, dtype=np.int64)
    in_net = np.zeros(3, dtype=bool)
    full = scorer._context(state, scorer.posts, rows, in_net, None).numpy()
    space4 = __import__("dataclasses").replace(scorer.space, context_dim=4)
    saved, scorer.space = scorer.space, space4
    try:
        four = scorer._context(state, scorer.posts, rows, in_net, None).numpy()
    finally:
        scorer.space = saved
    assert four.shape == (3, 4) and np.allclose(four, full[:, :4])


def _same_state(a, b) -> None:
    import torch

    assert torch.allclose(a.vector, b.vector)
    assert a.history_posts == b.history_posts and a.history_len == b.history_len
    assert a.following == b.following and a.followers == b.followers and a.hidden_authors == b.hidden_authors
    assert np.array_equal(a.engaged_text, b.engaged_text) and np.array_equal(a.profile, b.profile)


def test_encoding_what_the_feed_already_read_equals_reading_it(trained):
    """The feed hands ``encode`` the events and graph it read for its own context (one read per page);
    the state is the one the scorer gets reading them itself."""
    from townsquare.feed.sources import viewer_context

    settings, db, facts = trained
    person = facts["ids"][2]
    with db.session() as s:
        ctx = viewer_context(s, person, T0 + timedelta(days=30))
    for history_events in (400, 30):  # 30: fewer than the feed read, the newest 30 are used
        own = Scorer.load_active(settings, db=db, embed=fake_embed, history_events=history_events)
        shared = Scorer.load_active(settings, db=db, embed=fake_embed, history_events=history_events)
        _same_state(own.encode(person), shared.encode(person, events=ctx.events, following=ctx.following,
                                                       followers=ctx.followers, hidden=ctx.hidden_authors))
    assert 30 < len(ctx.events) < 400


def test_history_posts_outside_the_catalogue_are_loaded_on_demand(trained):
    """A scorer whose catalogue holds one post loads the history's posts when it encodes (newest
    first, only as far back as the state needs) and gets the state of one that had them all."""
    settings, db, facts = trained
    full = Scorer.load_active(settings, db=db, embed=fake_embed)
    small = Scorer.load_active(settings, db=db, embed=fake_embed, max_posts=1)
    assert len(small.posts) == 1 < len(full.posts)
    person = facts["ids"][3]
    _same_state(full.encode(person), small.encode(person))
    assert 1 < len(small.posts) <= len(full.posts)


def test_expired_states_leave_the_cache(trained):
    settings, db, facts = trained
    scorer = Scorer.load_active(settings, db=db, embed=fake_embed, state_ttl_s=30.0)
    first = scorer.encode(facts["ids"][0])
    assert scorer.encode(facts["ids"][0]) is first  # cached
    scorer.state_ttl_s = 0.0  # everything cached is now expired
    scorer.encode(facts["ids"][1])
    assert list(scorer._states) == [facts["ids"][1]]  # the expired one went when the new one came


def test_dropping_ids_ignores_rows_added_after_the_mask_was_taken(scorer):
    """A background refresh may add posts between taking the visibility mask and dropping the
    excluded ids: their rows lie past the mask's end and are left alone (no IndexError)."""
    store = scorer.posts
    ok = np.ones(len(store) - 1, dtype=bool)
    last, first = int(store.ids[-1]), int(store.ids[0])
    Scorer._drop(ok, store, {last, first, 10**9})
    assert not ok[0] and ok[1:].all()


def _copy_version(root, version: str, name: str) -> str:
    import shutil

    shutil.copytree(root / version, root / name)
    return name


def test_a_serving_process_follows_the_registry_without_a_restart(trained):
    """``townsquare models activate`` (or the end of ``train``) in another process: the feed service
    loads the new version in the background and swaps it in; a version that fails to load is
    refused and the model that served stays."""
    import threading

    from townsquare.feed.service import FeedService
    from townsquare.rec import registry

    settings, db, facts = trained
    settings = load_settings(env={}, data_dir=settings.data_dir, database_url=db.url, model_reload_check_s=0)
    root = registry.rec_models_dir(settings)
    first = registry.active_version(root)
    release = threading.Event()
    loads: list[str] = []

    def loader():
        release.wait(10)  # a slow load: the old model must keep serving meanwhile
        loads.append(registry.active_version(root))
        return Scorer.load_active(settings, db=db, embed=fake_embed)

    service = FeedService(settings, loader=loader)
    release.set()
    assert service.scorer is not None and service.model_version == first
    release.clear()
    second = _copy_version(root, first, first + "-b")
    registry.activate(root, second)
    with db.session() as s:
        viewer = s.get(Account, facts["ids"][0])
        assert service.check_model()  # a load starts in the background
        assert not service.check_model()  # one at a time
        page = service.page(s, viewer, limit=5)  # served while the new version loads
        assert page.ranked_by == "model" and service.model_version == first
        release.set()
        service.wait_for_model()
        assert service.model_version == second
        # A truncated checkpoint written straight into place: refused, the current model stays.
        broken = _copy_version(root, first, first + "-c")
        (root / broken / registry.MODEL_FILE).write_bytes(b"truncated")
        (root / registry.ACTIVE_FILE).write_text(broken + "\n")
        assert service.check_model()
        service.wait_for_model()
        assert service.model_version == second
        assert not service.check_model()  # not retried until another activation
        assert service.page(s, viewer, limit=5).ranked_by == "model"
    (root / registry.ACTIVE_FILE).write_text(first + "\n")  # the module's other tests use the first


def test_activation_refuses_truncated_and_foreign_checkpoints(trained, tmp_path):
    import json
    import shutil

    import torch

    from townsquare.errors import TownsquareError
    from townsquare.rec import registry

    settings, db, _ = trained
    root = tmp_path / "rec"
    shutil.copytree(registry.rec_models_dir(settings), root)
    good = registry.active_version(root)
    truncated = _copy_version(root, good, "truncated")
    blob = (root / truncated / registry.MODEL_FILE).read_bytes()
    (root / truncated / registry.MODEL_FILE).write_bytes(blob[: len(blob) // 2])
    foreign = _copy_version(root, good, "foreign")  # another architecture's weights under our manifest
    torch.save({"model": {"transformer.h.0.attn.weight": torch.zeros(4, 4)}, "config": {"n_embd": 4}},
               root / foreign / registry.MODEL_FILE)
    other_heads = _copy_version(root, good, "other-heads")
    manifest = json.loads((root / other_heads / registry.MANIFEST_FILE).read_text())
    manifest["config"]["heads"] = ["click"]
    (root / other_heads / registry.MANIFEST_FILE).write_text(json.dumps(manifest))
    for version in (truncated, foreign, other_heads):
        with pytest.raises(TownsquareError) as refused:
            registry.activate(root, version)
        assert version in refused.value.message or "heads" in refused.value.message
        assert registry.active_version(root) == good
