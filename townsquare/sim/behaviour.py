"""How simulated people behave in front of a feed, decided by their hidden preferences.

The ``Simulator`` is reused by ``townsquare seed`` (history on a chronological feed) and by the feed
benchmark (chronological vs heuristic vs model feeds over simulated days). It knows the ground truth
(``true_affinity``); feeds only ever see the actions it returns. See docs/sim.md for the model.

Interface::

    sim = Simulator(population, account_ids, seed)
    sim.add_posts([PostInfo(...), ...])            # what exists (the seed and the bench add posts)
    sim.set_following(follows)                      # (follower account id, followee account id) pairs
    for account_id, start in sim.plan_day(day, day_start):
        actions = sim.session(account_id, feed_fn, day, start)   # feed_fn(account_id, page) -> [post ids]
    sim.satisfaction_of(account_id), sim.is_churned(account_id), sim.return_probability(account_id)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from townsquare.sim.content import HOUR_WEIGHTS, PostPlan, comment_text, message_text, plan_posts
from townsquare.sim.people import Population
from townsquare.sim.vocab import KINDS

FeedFn = Callable[[int, int], Sequence[int]]  # (account id, page number from 0) -> post ids; [] = end
DWELL_EVENT_MIN_MS = 1000  # shorter dwell is implied by the impression and not logged
MAX_PAGES = 20
KIND_DWELL = {"text": 1.0, "photo": 1.0, "video": 1.9, "link": 0.8}
KIND_INDEX = {kind: k for k, kind in enumerate(KINDS)}


@dataclass(frozen=True, slots=True)
class PostInfo:
    """What the simulator knows about a post. ``topic`` and ``quality`` are hidden ground truth."""

    post_id: int
    author_id: int  # account id
    kind: str
    created_at: datetime
    topic: int | None = None  # None: unknown (a post the simulator did not write)
    quality: float = 0.6
    visibility: str = "public"
    noise_key: int | None = None  # keys the per-pair noise (default: post_id); the seed uses plan order


@dataclass(slots=True)
class Action:
    """One thing a simulated person did. ``action`` is an event-log action name."""

    account_id: int
    action: str
    ts: datetime
    entity_type: str = "post"
    entity_id: int | None = None
    surface: str | None = None
    position: int | None = None
    dwell_ms: int | None = None
    text: str | None = None  # comment or message text
    parent_index: int | None = None  # a comment replying to another comment: its index in the thread
    context: dict | None = None

    def event_row(self) -> dict:
        """The row for ``social.events.log_events``."""
        return {"actor_id": self.account_id, "action": self.action, "entity_type": self.entity_type,
                "entity_id": self.entity_id, "ts": self.ts, "surface": self.surface, "position": self.position,
                "dwell_ms": self.dwell_ms, "context": self.context}


@dataclass
class SessionSummary:
    account_id: int
    day: int
    items_seen: int = 0
    mean_affinity: float = 0.0
    engaged: int = 0  # likes + comments + shares + reposts + opens
    negative: int = 0  # hides + reports
    ended_by: str = "fatigue"  # fatigue | patience | end_of_feed


@dataclass
class Simulator:
    """Ground-truth behaviour of the synthetic community (indexes internally, account ids outside)."""

    pop: Population
    account_ids: Sequence[int]  # account id of person i
    seed: int = 7
    simulate_demo: bool = False  # the demo person (index 0) is a real login: leave it alone by default
    posts: dict[int, PostInfo] = field(default_factory=dict)
    post_loader: Callable[[list[int]], Iterable[PostInfo]] | None = None  # fills in posts it doesn't know

    def __post_init__(self) -> None:
        n = len(self.pop)
        self.index_of = {int(a): i for i, a in enumerate(self.account_ids)}
        self.topic_match = self.pop.topics / self.pop.topics.max(axis=1, keepdims=True)
        self.unit_topics = self.pop.topics / np.linalg.norm(self.pop.topics, axis=1, keepdims=True)
        self.kind_match = 0.6 + 0.4 * self.pop.kinds / self.pop.kinds.max(axis=1, keepdims=True)
        self._topic_match = self.topic_match.tolist()  # plain floats: scalar maths on numpy is slow
        self._kind_match = self.kind_match.tolist()
        self.following: list[set[int]] = [set() for _ in range(n)]  # indexes
        self.satisfaction = np.full(n, 0.5)
        self.churned = np.zeros(n, dtype=bool)
        self.seen: list[set[int]] = [set() for _ in range(n)]
        self.liked: list[set[int]] = [set() for _ in range(n)]
        self.reposted: list[set[int]] = [set() for _ in range(n)]
        self.pending_followers: list[list[int]] = [[] for _ in range(n)]
        self.requested: set[tuple[int, int]] = set()  # pending requests to private accounts
        self.sessions_today: dict[tuple[int, int], int] = {}
        self.summaries: list[SessionSummary] = []

    # --- the world -----------------------------------------------------------------------------
    def add_posts(self, infos: Iterable[PostInfo]) -> None:
        for info in infos:
            self.posts[info.post_id] = info

    def set_following(self, follows: Iterable[tuple[int, int]]) -> None:
        for s in self.following:
            s.clear()
        for a, b in follows:
            ia, ib = self.index_of.get(int(a)), self.index_of.get(int(b))
            if ia is not None and ib is not None:
                self.following[ia].add(ib)

    def follows(self, follower_id: int, followee_id: int) -> bool:
        return self.index_of.get(followee_id, -1) in self.following[self.index_of[follower_id]]

    def _post(self, post_id: int) -> PostInfo | None:
        info = self.posts.get(post_id)
        if info is None and self.post_loader is not None:
            self.add_posts(self.post_loader([post_id]))
            info = self.posts.get(post_id)
        return info

    # --- ground truth --------------------------------------------------------------------------
    def _affinity(self, i: int, info: PostInfo) -> float:
        topic_match = 0.15 if info.topic is None else self._topic_match[i][info.topic]
        base = topic_match * self._kind_match[i][KIND_INDEX[info.kind]] * (0.35 + 0.65 * info.quality)
        author = self.index_of.get(info.author_id)
        social = 0.0
        if author is not None and author != i and author in self.following[i]:
            social = 0.3 if i in self.following[author] else 0.2
        # A fixed per-pair wobble: people are not perfectly predictable from topics alone.
        key = info.post_id if info.noise_key is None else info.noise_key
        h = ((i + 1) * 2654435761 ^ (key + 7) * 40503) & 0xFFFF
        noise = (h / 0xFFFF - 0.5) * 0.16
        return min(1.0, max(0.0, base + social + noise))

    def true_affinity(self, account_id: int, post_id: int) -> float:
        """How much this person would enjoy this post, in [0, 1] (hidden; for evaluation only)."""
        info = self._post(post_id)
        if info is None:
            raise KeyError(f"unknown post {post_id}")
        return self._affinity(self.index_of[account_id], info)

    def satisfaction_of(self, account_id: int) -> float:
        return float(self.satisfaction[self.index_of[account_id]])

    def is_churned(self, account_id: int) -> bool:
        return bool(self.churned[self.index_of[account_id]])

    def return_probability(self, account_id: int) -> float:
        """Chance that this person opens the app on a given day (0 once churned)."""
        i = self.index_of[account_id]
        return self._visit_p(i)

    def _visit_p(self, i: int) -> float:
        if self.churned[i]:
            return 0.0
        return float(min(0.98, self.pop.activity[i] * (0.4 + 1.2 * self.satisfaction[i])))

    # --- days and sessions ---------------------------------------------------------------------
    def plan_day(self, day: int, day_start: datetime) -> list[tuple[int, datetime]]:
        """Who opens the app on ``day`` and when: ``[(account id, session start)]`` in time order."""
        rng = np.random.default_rng([self.seed, 100, day])
        n = len(self.pop)
        u = rng.random((n, 2))
        hours = rng.choice(24, size=(n, 2), p=HOUR_WEIGHTS)
        seconds = rng.integers(0, 3600, (n, 2))
        plan = []
        for i in range(n):
            if i == 0 and not self.simulate_demo:
                continue
            p = self._visit_p(i)
            if u[i, 0] < p:
                plan.append((self.account_ids[i], day_start + timedelta(hours=int(hours[i, 0]),
                                                                        seconds=int(seconds[i, 0]))))
                if u[i, 1] < p * self.pop.activity[i] * 0.6:  # heavy users come back later the same day
                    plan.append((self.account_ids[i], day_start + timedelta(hours=int(hours[i, 1]),
                                                                            seconds=int(seconds[i, 1]))))
        plan.sort(key=lambda x: (x[1], x[0]))
        return plan

    def plan_new_posts(self, day: int, day_start: datetime, count: int) -> list[PostPlan]:
        """Posts the community writes during ``day`` (by posting rate, favourite topics and formats).

        The caller stores them (getting post ids) and registers them: ``add_posts(post_info(...))``."""
        return plan_posts(self.pop, self.seed, count, day_start, 1, 4, stream=1000 + day, demo_posts=0)

    def post_info(self, plan: PostPlan, post_id: int) -> PostInfo:
        return PostInfo(post_id, self.account_ids[plan.author], plan.kind, plan.created_at, plan.topic,
                        plan.quality, plan.visibility)

    def notify_followed(self, followee_id: int, follower_id: int) -> None:
        """Someone followed this person; they consider following back in their next session."""
        i, j = self.index_of.get(followee_id), self.index_of.get(follower_id)
        if i is not None and j is not None:
            self.pending_followers[i].append(j)

    def session(self, account_id: int, feed_fn: FeedFn, day: int, start: datetime,
                surface: str = "home") -> list[Action]:
        """One visit: handle follow-backs, scroll ``feed_fn`` pages until bored, maybe send a message.

        Random draws depend only on (seed, person, day, nth session that day), so different feeds are
        compared on the same people in the same moods (common random numbers)."""
        i = self.index_of[account_id]
        nth = self.sessions_today.get((i, day), 0)
        self.sessions_today[(i, day)] = nth + 1
        rng = np.random.default_rng([self.seed, 200, i, day, nth])
        pop = self.pop
        sociability = float(pop.sociability[i])
        actions: list[Action] = []
        ts = start
        # Follow-backs: new followers are considered first (from the notifications page).
        pending, self.pending_followers[i] = self.pending_followers[i], []
        for j in pending:
            if j in self.following[i] or j == i or (i, j) in self.requested:
                continue
            sim = float(self.unit_topics[i] @ self.unit_topics[j])
            if rng.random() < 0.7 * sociability * (0.3 + 0.7 * sim):
                actions.append(self._follow(i, j, ts, "notifications"))
                ts += timedelta(seconds=2)
        # Scroll.
        summary = SessionSummary(account_id=account_id, day=day)
        budget = float(pop.patience[i])
        max_items = int(rng.poisson(pop.session_items[i])) + 3
        position = 0
        total_affinity = 0.0
        stop = False
        for page in range(MAX_PAGES):
            ids = list(feed_fn(account_id, page))
            if not ids:
                summary.ended_by = "end_of_feed"
                break
            draws = rng.random((len(ids), 10)).tolist()
            normals = rng.normal(size=(len(ids), 2)).tolist()
            for k, post_id in enumerate(ids):
                info = self._post(int(post_id))
                if info is None:
                    continue
                r = draws[k]
                u = self._affinity(i, info)
                age_h = max(0.0, (ts - info.created_at).total_seconds() / 3600)
                u *= 0.7 + 0.3 * math.exp(-age_h / 36)
                if info.post_id in self.seen[i]:
                    u *= 0.25  # seen it already: boring
                self.seen[i].add(info.post_id)
                own = self.index_of.get(info.author_id) == i
                actions.append(Action(account_id, "impression", ts, "post", info.post_id, surface, position))
                median = 600 + 7000 * u * u * KIND_DWELL[info.kind]
                dwell = int(median * math.exp(0.5 * normals[k][0]))
                if dwell >= DWELL_EVENT_MIN_MS:
                    actions.append(Action(account_id, "dwell", ts, "post", info.post_id, surface, position, dwell))
                ts += timedelta(milliseconds=dwell + 400)
                summary.items_seen += 1
                total_affinity += u
                if own:
                    position += 1
                    continue
                engaged = False
                if r[0] < 0.02 + 0.4 * u ** 3:
                    open_ms = int((2000 + 15000 * u) * math.exp(0.4 * normals[k][1]))
                    actions.append(Action(account_id, "open", ts, "post", info.post_id, "post", None, open_ms))
                    ts += timedelta(milliseconds=open_ms)
                    engaged = True
                if info.post_id not in self.liked[i] and r[1] < min(0.9, (0.01 + 0.5 * u ** 2.5) * (0.5 + sociability)):
                    self.liked[i].add(info.post_id)
                    actions.append(Action(account_id, "like", ts, "post", info.post_id, surface, position))
                    engaged = True
                if r[2] < (0.002 + 0.12 * u ** 3) * sociability * (1.5 if engaged else 1.0):
                    topic = info.topic if info.topic is not None else int(np.argmax(pop.topics[i]))
                    reply_to = 0 if r[9] < 0.3 else None  # answer the latest comment in the thread
                    actions.append(Action(account_id, "comment", ts, "post", info.post_id, surface, position,
                                          text=comment_text(rng, topic, u > 0.4), parent_index=reply_to))
                    ts += timedelta(seconds=20)
                    engaged = True
                if r[3] < 0.002 + 0.05 * u ** 4:
                    actions.append(Action(account_id, "share", ts, "post", info.post_id, surface, position))
                    engaged = True
                if (info.visibility == "public" and info.post_id not in self.reposted[i]
                        and r[4] < (0.001 + 0.06 * u ** 4) * sociability):
                    self.reposted[i].add(info.post_id)
                    actions.append(Action(account_id, "repost", ts, "post", info.post_id, surface, position))
                    engaged = True
                author = self.index_of.get(info.author_id)
                if (author is not None and author not in self.following[i] and (i, author) not in self.requested
                        and u > 0.35
                        and r[5] < 0.5 * u * (0.3 + sociability)):
                    actions.append(Action(account_id, "profile_visit", ts, "account", info.author_id, surface,
                                          position))
                    ts += timedelta(seconds=5)
                    if r[6] < 0.6:
                        actions.append(self._follow(i, author, ts, "profile"))
                        ts += timedelta(seconds=1)
                if u < 0.25 and r[7] < 0.12 * (0.25 - u) / 0.25:
                    actions.append(Action(account_id, "hide", ts, "post", info.post_id, surface, position))
                    summary.negative += 1
                    budget -= 0.5
                    if u < 0.1 and r[8] < 0.03:
                        actions.append(Action(account_id, "report", ts, "post", info.post_id, surface, position,
                                              context={"reason": "spam"}))
                summary.engaged += engaged
                if u > 0.5:
                    budget = min(float(pop.patience[i]) * 1.5, budget + 0.5)
                elif u < 0.25:
                    budget -= 1.0
                position += 1
                if budget <= 0:
                    summary.ended_by, stop = "patience", True
                    break
                if summary.items_seen >= max_items:
                    summary.ended_by, stop = "fatigue", True
                    break
            if stop:
                break
        # Two-way relationships turn into conversations now and then.
        mutuals = [j for j in self.following[i] if i in self.following[j]]
        if mutuals and rng.random() < 0.04 * sociability * (1 + len(mutuals) / 20):
            j = mutuals[int(rng.integers(len(mutuals)))]
            topic = int(np.argmax(pop.topics[i] * pop.topics[j]))
            actions.append(Action(account_id, "message", ts, "account", self.account_ids[j], "messages",
                                  text=message_text(rng, topic)))
        # Long-term state: how did that feel? Satisfaction drives coming back; very bad visits churn people.
        summary.mean_affinity = total_affinity / summary.items_seen if summary.items_seen else 0.0
        value = summary.mean_affinity + 0.03 * summary.engaged - 0.05 * summary.negative
        self.satisfaction[i] = 0.7 * self.satisfaction[i] + 0.3 * min(1.0, max(0.0, 1.4 * value))
        if summary.items_seen == 0 or value < 0.12:
            if rng.random() < 0.15 * (1.0 - sociability):
                self.churned[i] = True
        self.summaries.append(summary)
        return actions

    def metrics(self, day: int | None = None) -> dict[str, float]:
        """Aggregate outcome of the sessions so far (or of one day): what a feed benchmark compares."""
        rows = [x for x in self.summaries if day is None or x.day == day]
        items = sum(x.items_seen for x in rows)
        people = len(self.pop) - (0 if self.simulate_demo else 1)
        return {
            "sessions": float(len(rows)),
            "active_people": float(len({x.account_id for x in rows})),
            "items_per_session": items / len(rows) if rows else 0.0,
            "mean_true_affinity": sum(x.mean_affinity * x.items_seen for x in rows) / items if items else 0.0,
            "engaged_per_session": sum(x.engaged for x in rows) / len(rows) if rows else 0.0,
            "negative_per_session": sum(x.negative for x in rows) / len(rows) if rows else 0.0,
            "ended_by_patience": sum(x.ended_by == "patience" for x in rows) / len(rows) if rows else 0.0,
            "mean_satisfaction": float(self.satisfaction[0 if self.simulate_demo else 1:].mean()),
            "churned_share": float(self.churned.sum()) / max(1, people),
        }

    def _follow(self, i: int, j: int, ts: datetime, surface: str) -> Action:
        """Follow ``j`` (a request when ``j`` is private: pending, no access yet)."""
        if self.pop.is_private[j]:
            self.requested.add((i, j))
            return Action(self.account_ids[i], "follow", ts, "account", self.account_ids[j], surface,
                          context={"request": True})
        self.following[i].add(j)
        self.pending_followers[j].append(i)
        return Action(self.account_ids[i], "follow", ts, "account", self.account_ids[j], surface)
