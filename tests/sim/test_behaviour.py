"""The simulator responds to hidden preferences, is reproducible, and keeps long-term state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from townsquare.sim.behaviour import PostInfo, Simulator
from townsquare.sim.people import generate_people
from townsquare.social.models import EVENT_ACTIONS

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def make_sim(n: int = 60, seed: int = 11) -> Simulator:
    pop = generate_people(n, seed=seed)
    account_ids = [1000 + i for i in range(n)]  # account ids differ from indexes on purpose
    return Simulator(pop, account_ids, seed=seed)


def add_topic_posts(sim: Simulator, topic: int, count: int, first_id: int, author: int = 1059) -> list[int]:
    ids = list(range(first_id, first_id + count))
    sim.add_posts(PostInfo(pid, author, "text", NOW - timedelta(hours=1), topic, 0.8) for pid in ids)
    return ids


def paged(ids: list[int]):
    return lambda _account, page: ids[page * 10 : (page + 1) * 10]


def engagement(actions) -> int:
    return sum(a.action in ("like", "comment", "share", "repost", "open") for a in actions)


def test_people_engage_more_with_their_favourite_topic():
    sim = make_sim()
    totals = {"top": 0, "bottom": 0, "top_dwell": [], "bottom_dwell": []}
    for person in range(1, 40):
        account = sim.account_ids[person]
        top, bottom = int(np.argmax(sim.pop.topics[person])), int(np.argmin(sim.pop.topics[person]))
        assert sim.true_affinity(account, add_topic_posts(sim, top, 1, 10_000 + person * 100)[0]) > \
            sim.true_affinity(account, add_topic_posts(sim, bottom, 1, 20_000 + person * 100)[0])
        for name, topic, base in (("top", top, 100_000), ("bottom", bottom, 200_000)):
            ids = add_topic_posts(sim, topic, 30, base + person * 100)
            fresh = make_sim()  # same person, same random draws, only the feed differs
            fresh.add_posts(sim.posts.values())
            actions = fresh.session(account, paged(ids), day=0, start=NOW)
            totals[name] += engagement(actions)
            totals[name + "_dwell"] += [a.dwell_ms for a in actions if a.action == "dwell"]
    assert totals["top"] > 3 * max(1, totals["bottom"])


def test_patience_ends_sessions_on_bad_feeds():
    good_seen, bad_seen, hides_bad = [], [], 0
    for person in range(1, 30):
        for kind in ("good", "bad"):
            sim = make_sim()
            account = sim.account_ids[person]
            topic = int(np.argmax(sim.pop.topics[person]) if kind == "good" else np.argmin(sim.pop.topics[person]))
            ids = add_topic_posts(sim, topic, 200, 1)
            actions = sim.session(account, paged(ids), day=0, start=NOW)
            seen = sum(a.action == "impression" for a in actions)
            (good_seen if kind == "good" else bad_seen).append(seen)
            if kind == "bad":
                hides_bad += sum(a.action == "hide" for a in actions)
                assert sim.summaries[-1].ended_by in ("patience", "fatigue")
    assert np.mean(good_seen) > 1.5 * np.mean(bad_seen)
    assert hides_bad > 0


def test_sessions_are_reproducible_and_actions_are_event_actions():
    runs = []
    for _ in range(2):
        sim = make_sim()
        ids = add_topic_posts(sim, int(np.argmax(sim.pop.topics[5])), 40, 1)
        runs.append(sim.session(sim.account_ids[5], paged(ids), day=3, start=NOW))
    assert [(a.action, a.entity_id, a.ts, a.dwell_ms) for a in runs[0]] == \
        [(a.action, a.entity_id, a.ts, a.dwell_ms) for a in runs[1]]
    assert all(a.action in EVENT_ACTIONS for a in runs[0])
    impressions = [a for a in runs[0] if a.action == "impression"]
    assert [a.position for a in impressions] == list(range(len(impressions)))
    assert all(a.ts >= NOW for a in runs[0])
    row = runs[0][0].event_row()
    assert row["actor_id"] == 1005 and row["action"] == "impression"


def test_satisfaction_drives_coming_back_and_bad_feeds_churn_people():
    good, bad = make_sim(), make_sim()
    for sim, pick in ((good, np.argmax), (bad, np.argmin)):
        for day in range(6):
            for person in range(1, 60):
                ids = add_topic_posts(sim, int(pick(sim.pop.topics[person])), 30, 1_000_000 + day * 10_000 + person * 100)
                sim.session(sim.account_ids[person], paged(ids), day=day, start=NOW + timedelta(days=day))
    assert good.satisfaction[1:].mean() > bad.satisfaction[1:].mean() + 0.15
    assert np.mean([good.return_probability(a) for a in good.account_ids[1:]]) > \
        np.mean([bad.return_probability(a) for a in bad.account_ids[1:]])
    assert bad.churned.sum() >= good.churned.sum()
    g, b = good.metrics(), bad.metrics()
    assert g["mean_true_affinity"] > b["mean_true_affinity"] and g["items_per_session"] > b["items_per_session"]
    assert g["engaged_per_session"] > b["engaged_per_session"] and b["ended_by_patience"] > g["ended_by_patience"]
    assert good.metrics(day=0)["sessions"] == 59 and good.metrics(day=99)["sessions"] == 0
    plan = good.plan_day(7, NOW + timedelta(days=7))
    assert plan and all(a != good.account_ids[0] for a, _ in plan)  # the demo login is never simulated
    assert [t for _, t in plan] == sorted(t for _, t in plan)


def test_follows_lead_to_follow_backs_and_mutuals_interact_more():
    sim = make_sim(n=80)
    follow_backs = 0
    for person in range(1, 80):
        other = 1 + (person % 79)
        follower = sim.account_ids[other]
        sim.following[other].add(person)
        sim.notify_followed(sim.account_ids[person], follower)
        actions = sim.session(sim.account_ids[person], paged([]), day=0, start=NOW)
        follow_backs += sum(a.action == "follow" and a.entity_id == follower for a in actions)
    assert follow_backs > 5
    # A mutual relationship raises how much someone enjoys the other's posts.
    i, j = 3, 4
    post = add_topic_posts(sim, int(np.argmax(sim.pop.topics[i])), 1, 9_999_000, author=sim.account_ids[j])[0]
    sim.following[i].discard(j)
    sim.following[j].discard(i)
    stranger = sim.true_affinity(sim.account_ids[i], post)
    sim.following[i].add(j)
    follower_only = sim.true_affinity(sim.account_ids[i], post)
    sim.following[j].add(i)
    mutual = sim.true_affinity(sim.account_ids[i], post)
    assert stranger <= follower_only <= mutual and mutual > stranger


def test_new_posts_for_a_simulated_day():
    sim = make_sim()
    plans = sim.plan_new_posts(day=2, day_start=NOW, count=50)
    assert len(plans) == 50 and all(NOW <= p.created_at < NOW + timedelta(days=1) for p in plans)
    assert all(p.author != 0 for p in plans)  # the demo login does not post by itself
    assert plans == sim.plan_new_posts(day=2, day_start=NOW, count=50)
    assert plans != sim.plan_new_posts(day=3, day_start=NOW, count=50)
    sim.add_posts(sim.post_info(p, 5000 + k) for k, p in enumerate(plans))
    author = sim.account_ids[plans[0].author]
    assert sim.posts[5000].author_id == author and 0 <= sim.true_affinity(sim.account_ids[1], 5000) <= 1
