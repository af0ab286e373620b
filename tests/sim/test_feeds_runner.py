"""In-memory feeds over the simulated world, and the day loop that benchmarks reuse."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from townsquare.sim.behaviour import Action, Simulator
from townsquare.sim.feeds import ChronologicalFeed, oracle_feed
from townsquare.sim.graph import generate_graph
from townsquare.sim.people import generate_people
from townsquare.sim.runner import run_days

START = datetime(2026, 5, 1, tzinfo=UTC)


def make_world(n: int = 80, seed: int = 3) -> Simulator:
    pop = generate_people(n, seed)
    graph = generate_graph(pop, seed)
    sim = Simulator(pop, [500 + i for i in range(n)], seed=seed)
    sim.set_following((500 + a, 500 + b) for a, b in graph.follows)
    return sim


def store(counter: list[int]):
    def store_posts(plans):
        ids = list(range(counter[0], counter[0] + len(plans)))
        counter[0] += len(plans)
        return ids

    return store_posts


def test_chronological_feed_shows_follows_newest_first_with_popular_slots():
    sim = make_world()
    counter = [1]
    plans = sim.plan_new_posts(0, START, 600)
    sim.add_posts(sim.post_info(p, pid) for p, pid in zip(plans, store(counter)(plans), strict=True))
    viewer = sim.account_ids[5]
    muted = next(iter(sim.following[5]))
    feed = ChronologicalFeed(sim, hidden={viewer: {sim.account_ids[muted]}})
    outsider = next(p for p in sim.posts.values() if sim.index_of[p.author_id] not in sim.following[5]
                    and p.author_id != viewer and p.visibility == "public")
    feed.record([Action(sim.account_ids[1], "like", START, "post", outsider.post_id)])
    feed.start_day(START + timedelta(days=1))
    assert feed.popular == [outsider.post_id]
    at = START + timedelta(days=1)
    items = feed.items(viewer, at)
    own_or_followed = [pid for pid in items if pid != outsider.post_id]
    times = [sim.posts[pid].created_at for pid in own_or_followed]
    assert times == sorted(times, reverse=True)
    assert all(sim.index_of[sim.posts[p].author_id] in sim.following[5] or sim.posts[p].author_id == viewer
               for p in own_or_followed)
    assert all(sim.posts[p].author_id != sim.account_ids[muted] for p in items)
    assert items.index(outsider.post_id) == min(3, len(items) - 1)
    page = feed.feed_for(viewer, at)
    assert page(viewer, 0) == items[:10] and page(viewer, 1) == items[10:20]
    assert feed.items(viewer, START - timedelta(days=1)) == []  # nothing written yet


def test_run_days_oracle_beats_chronological():
    results = {}
    for name in ("chronological", "oracle"):
        sim = make_world()
        counter = [1]
        feed = ChronologicalFeed(sim)
        feed_for = feed.feed_for if name == "chronological" else oracle_feed(sim)
        rows = run_days(sim, feed_for, START, 4, posts_per_day=150, store_posts=store(counter),
                        on_actions=feed.record, on_day_start=lambda _d, day_start, f=feed: f.start_day(day_start))
        assert [r["day"] for r in rows] == [0, 1, 2, 3] and all(r["sessions"] > 0 for r in rows)
        assert counter[0] == 601 and len(sim.posts) == 600
        results[name] = rows
    chrono, oracle = results["chronological"][-1], results["oracle"][-1]
    assert oracle["mean_true_affinity"] > chrono["mean_true_affinity"]
    assert oracle["engaged_per_session"] > chrono["engaged_per_session"]
    assert oracle["mean_satisfaction"] > chrono["mean_satisfaction"]
    # Common random numbers: the same people visit on day 0 whatever the feed.
    assert results["chronological"][0]["sessions"] == results["oracle"][0]["sessions"]
