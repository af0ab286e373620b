from townsquare.feed import sources as src
from townsquare.feed.config import SourceConfig
from townsquare.feed.types import SourceInput, ViewerContext

from . import factories as f
from .factories import NOW


def setup_function():
    src.SHARED.clear()


def ctx_for(s, viewer):
    return src.viewer_context(s, viewer.id, NOW)


def _model_input(scorer, state, cfg, seen) -> SourceInput:
    return SourceInput(None, ViewerContext(viewer_id=1, seen=set(seen)), cfg, NOW, scorer, state)


def test_following_recent(db):
    with db.session() as s:
        me, a, b = f.account(s), f.account(s), f.account(s)
        f.follow(s, me, a)
        p1 = f.post(s, a, hours_ago=2)
        f.post(s, a, hours_ago=24 * 30)  # too old
        f.post(s, b)  # not followed
        got = src.following_recent(SourceInput(s, ctx_for(s, me), SourceConfig(), NOW))
        assert [pid for pid, name, _ in got] == [p1.id] and got[0][1] == "following"


def test_trending_and_popular_rank_by_engagement(db):
    with db.session() as s:
        me, a = f.account(s), f.account(s)
        low = f.post(s, a, likes=1)
        high = f.post(s, a, likes=50)
        old = f.post(s, a, likes=99, hours_ago=48)
        trend = [pid for pid, _, _ in src.trending(SourceInput(s, ctx_for(s, me), SourceConfig(), NOW))]
        assert trend[:2] == [high.id, low.id] and old.id not in trend
        pop = [pid for pid, _, _ in src.popular(SourceInput(s, ctx_for(s, me), SourceConfig(), NOW))]
        assert pop[0] == old.id


def test_friends_engaged_names_who(db):
    with db.session() as s:
        me, friend, friend2, stranger, author = (f.account(s) for _ in range(5))
        f.follow(s, me, friend)
        f.follow(s, me, friend2)
        p = f.post(s, author)
        q = f.post(s, author)
        f.like(s, friend, p)
        f.like(s, friend2, p)
        f.like(s, stranger, q)
        got = src.friends_engaged(SourceInput(s, ctx_for(s, me), SourceConfig(), NOW))
        assert [(pid, sorted(who)) for pid, _, who in got] == [(p.id, sorted([friend.id, friend2.id]))]


def test_followed_hashtags(db):
    with db.session() as s:
        me, a = f.account(s), f.account(s)
        f.follow_hashtag(s, me, "chess")
        p = f.post(s, a, tags=["chess"])
        f.post(s, a, tags=["golf"])
        got = src.followed_hashtags(SourceInput(s, ctx_for(s, me), SourceConfig(), NOW))
        assert got == [(p.id, "hashtag", "chess")]


def test_topics_sample_covers_many_hashtags(db):
    with db.session() as s:
        me, a = f.account(s), f.account(s)
        for t in ("a", "b", "c"):
            for k in range(4):
                f.post(s, a, tags=[t], likes=10 - k)
        got = src.topics(SourceInput(s, ctx_for(s, me), SourceConfig(topics=3), NOW))
        assert sorted(name for _, _, name in got) == ["a", "b", "c"]


class FakeScorer:
    def __init__(self, post_ids):
        self.post_ids = post_ids

    def encode(self, account_id, **known):
        return {"me": account_id}

    def retrieve(self, state, k, kind="post", exclude=None):
        return [(p, 1.0 / (i + 1)) for i, p in enumerate(self.post_ids) if p not in (exclude or set())][:k]


class FakeSimilarScorer(FakeScorer):
    def similar_posts(self, state, k, exclude=None):
        return [(p, 0.9 - 0.1 * i) for i, p in enumerate(self.post_ids) if p not in (exclude or set())][:k]


def test_content_similar_uses_the_scorer_and_excludes():
    on = SourceConfig(content_similar=100)
    got = src.content_similar(_model_input(FakeSimilarScorer([5, 6, 7]), {"me": 1}, on, {6}))
    assert [(p, name) for p, name, _ in got] == [(5, "similar"), (7, "similar")] and got[0][2] == 0.9
    assert src.content_similar(_model_input(FakeSimilarScorer([5]), {"me": 1}, SourceConfig(), set())) == []  # off by default
    # a scorer without text features, or no model at all: no proposals, no error
    assert src.content_similar(_model_input(FakeScorer([5]), {"me": 1}, on, set())) == []
    assert src.content_similar(_model_input(None, None, on, set())) == []


def test_model_retrieval_uses_the_scorer_and_excludes():
    got = src.model_retrieval(_model_input(FakeScorer([5, 6, 7]), {"me": 1}, SourceConfig(), {6}))
    assert [p for p, _, _ in got] == [5, 7] and got[0][1] == "model"
    assert src.model_retrieval(_model_input(None, None, SourceConfig(), set())) == []


def test_collect_applies_visibility_blocks_mutes_and_seen(db):
    with db.session() as s:
        me, friend, stranger, blocked, blocker, muted = (f.account(s) for _ in range(6))
        f.follow(s, me, friend)
        ok = f.post(s, friend, visibility="followers")
        private = f.post(s, stranger, visibility="followers")
        pb = f.post(s, blocked)
        pbr = f.post(s, blocker)
        pm = f.post(s, muted)
        mine = f.post(s, me)
        gone = f.post(s, stranger, deleted_at=NOW)
        seen = f.post(s, stranger)
        f.block(s, me, blocked)
        f.block(s, blocker, me)
        f.mute(s, me, muted)
        f.event(s, me, "impression", seen)
        ctx = ctx_for(s, me)
        proposals = [(p.id, "trending", 1) for p in (ok, private, pb, pbr, pm, mine, gone, seen)]
        got = src.collect(s, ctx, proposals + [(ok.id, "following", None)])
        assert [c.post_id for c in got] == [ok.id]
        assert set(got[0].sources) == {"trending", "following"} and got[0].in_network


def test_viewer_context_reads_affinity_and_show_less(db):
    with db.session() as s:
        me, liked_author, hidden_author = f.account(s), f.account(s), f.account(s)
        p = f.post(s, liked_author, tags=["jazz"])
        h = f.post(s, hidden_author, tags=["crypto"])
        f.event(s, me, "like", p)
        f.event(s, me, "hide", h)
        ctx = ctx_for(s, me)
        assert ctx.author_affinity[liked_author.id] > 0 and ctx.topic_affinity["jazz"] > 0
        assert hidden_author.id in ctx.show_less_authors and "crypto" in ctx.show_less_topics


def test_shared_lists_are_served_stale_while_a_background_thread_recomputes(db):
    cfg = SourceConfig(global_cache_s=0.0)  # every read is past the TTL

    def trending_ids():
        with db.session() as s:
            return [pid for pid, _, _ in src.trending(SourceInput(s, ctx_for(s, me), cfg, NOW))]

    with db.session() as s:
        me, a = f.account(s), f.account(s)
        first = f.post(s, a, likes=5)
    assert trending_ids() == [first.id]  # the first request computes the list itself
    with db.session() as s:
        second = f.post(s, a, likes=9)
    assert trending_ids() == [first.id]  # the old list at once; a refresh starts behind it
    import time

    deadline = time.monotonic() + 10
    while trending_ids() != [second.id, first.id]:
        assert time.monotonic() < deadline, "the background refresh never landed"
        time.sleep(0.05)


def test_collect_drops_posts_dated_after_now(db):
    """A source without a clock (model retrieval) must not surface a post before it exists."""
    with db.session() as s:
        me, other = f.account(s), f.account(s)
        past = f.post(s, other, hours_ago=1)
        future = f.post(s, other, hours_ago=-1)
        ctx = ctx_for(s, me)
        proposals = [(p.id, "model", 0.5) for p in (past, future)]
        assert [c.post_id for c in src.collect(s, ctx, proposals, NOW)] == [past.id]
        assert {c.post_id for c in src.collect(s, ctx, proposals)} == {past.id, future.id}  # no clock: no filter


def test_collect_reads_each_candidates_hashtags(db):
    with db.session() as s:
        me, a = f.account(s), f.account(s)
        tagged = f.post(s, a, tags=["jazz", "blues", "art"])
        plain = f.post(s, a)
        got = {c.post_id: c.hashtags for c in src.collect(s, ctx_for(s, me), [(tagged.id, "trending", 1),
                                                                            (plain.id, "trending", 1)])}
        assert got == {tagged.id: ("art", "blues", "jazz"), plain.id: ()}


def test_the_context_window_counts_post_events_and_keeps_the_account_events_between(db):
    """The viewer's last ``history`` post events are read (account events such as follows in
    between do not shorten that window), and ``ctx.events`` holds every event, newest first."""
    from datetime import timedelta

    from townsquare.social.models import Event

    with db.session() as s:
        me, a = f.account(s), f.account(s)
        posts = [f.post(s, a, hours_ago=50) for _ in range(6)]
        for k, p in enumerate(posts):  # hours ago: 12, 10, 8, 6, 4, 2 (the last post is the newest)
            f.event(s, me, "impression", p, hours_ago=12 - 2 * k)
            s.add(Event(actor_id=me.id, action="follow", entity_type="account", entity_id=a.id,
                        ts=NOW - timedelta(hours=11 - 2 * k)))
        s.flush()
        ctx = src.viewer_context(s, me.id, NOW, history=4)
        assert ctx.seen == {p.id for p in posts[2:]}  # the 4 newest post events
        assert [e.entity_type for e in ctx.events][:3] == ["account", "post", "account"]
        assert [e.ts for e in ctx.events] == sorted((e.ts for e in ctx.events), reverse=True)
        assert sum(e.entity_type == "post" for e in ctx.events) == 4
