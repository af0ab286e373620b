"""``townsquare seed``: write the synthetic community into the app's tables.

Everything happens in ONE transaction: a stopped or failed run leaves the database as it was, so
``--if-empty`` can never skip a half-seeded database, and a rerun starts clean. Media files are
content addressed, so rewriting them is harmless. Rows go in with bulk inserts.

History: posts are spread over ``days`` days before the anchor (default: now, to the hour); each day
the ``Simulator`` decides who visits, and each visitor scrolls a chronological feed (followed accounts
plus popular public posts) and acts by their hidden preferences. Their actions become events,
reactions, comments, reposts, follows, messages, reports and notifications.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import bindparam, select, text, update
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.engine import Database
from townsquare.errors import InvalidInput
from townsquare.sim.behaviour import Action, PostInfo, Simulator
from townsquare.sim.community import CommunityTruth, sim_dir
from townsquare.sim.content import PostPlan, message_text, plan_posts
from townsquare.sim.feeds import ChronologicalFeed
from townsquare.sim.graph import Graph, generate_graph
from townsquare.sim.media import MediaPool
from townsquare.sim.people import DEMO_HANDLE, Population, generate_people
from townsquare.sim.runner import run_days
from townsquare.sim.writer import ActionWriter, recount, write_posts
from townsquare.sim.writer import insert_returning_ids as _insert_returning_ids
from townsquare.sim.writer import insert_rows as _insert
from townsquare.sim.writer import log_rows as _log
from townsquare.social import models as m
from townsquare.social.accounts import hash_password

DEMO_PASSWORD = "demo-password"
ADMIN_HANDLE = "admin"
ADMIN_PASSWORD = "admin-password"


@dataclass
class SeedOptions:
    people: int = 300
    posts: int | None = None  # default: 10 per person
    days: int = 14
    seed: int = 7
    anchor: datetime | None = None  # end of the simulated history; default now, to the hour
    photo_variants: int = 4
    video_variants: int = 2

    @property
    def post_count(self) -> int:
        return self.posts if self.posts is not None else 10 * self.people


@dataclass
class SeedReport:
    skipped: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    simulated_actions: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    anchor: datetime | None = None


class _Progress:
    """Thin wrapper so seeding works with or without a Rich progress display."""

    def __init__(self, progress=None) -> None:
        self.progress = progress
        self.task = None

    def phase(self, name: str, total: int) -> None:
        if self.progress is not None:
            if self.task is not None:
                self.progress.update(self.task, completed=self.progress.tasks[self.task].total)
            self.task = self.progress.add_task(name, total=max(1, total))

    def advance(self, n: int = 1) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, n)

    def done(self) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, completed=self.progress.tasks[self.task].total)


def database_has_accounts(session: Session) -> bool:
    return session.execute(select(m.Account.id).limit(1)).first() is not None


def wipe_all(session: Session) -> None:
    """Delete every row of every table (``--reset``), in the caller's transaction."""
    from townsquare.db import all_models  # noqa: F401  (every table registered)
    from townsquare.db.base import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    else:
        session.execute(text("PRAGMA defer_foreign_keys=ON"))
        session.execute(text("UPDATE accounts SET avatar_media_id = NULL"))
        for t in tables:
            session.execute(text(f'DELETE FROM "{t}"'))


def seed_community(settings: Settings, db: Database, options: SeedOptions, *, if_empty: bool = False,
                   reset: bool = False, progress=None) -> SeedReport:
    """Seed the community (see module docstring). Raises InvalidInput on a non-empty database unless
    ``if_empty`` (then nothing happens) or ``reset`` (then everything is deleted first)."""
    if options.people < 2:
        raise InvalidInput("--people must be at least 2")
    if options.days < 1:
        raise InvalidInput("--days must be at least 1")
    if options.post_count < 0:
        raise InvalidInput("--posts must be >= 0")
    started = time.perf_counter()
    report = SeedReport()
    bar = _Progress(progress)
    anchor = options.anchor or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    if anchor.tzinfo is None:
        anchor = anchor.replace(tzinfo=UTC)
    report.anchor = anchor
    with db.session() as session:
        if database_has_accounts(session):
            if if_empty:
                report.skipped = True
                return report
            if not reset:
                raise InvalidInput("the database already has accounts; use --reset to replace them "
                                   "or --if-empty to skip")
            wipe_all(session)
        seeder = _Seeder(session, settings, options, anchor, bar)
        seeder.run()
        report.counts = dict(seeder.counts)
        report.simulated_actions = dict(seeder.action_counts)
        bar.done()
    report.seconds = time.perf_counter() - started
    return report


class _Seeder:
    def __init__(self, session: Session, settings: Settings, options: SeedOptions, anchor: datetime,
                 bar: _Progress) -> None:
        self.session = session
        self.settings = settings
        self.options = options
        self.anchor = anchor
        self.start = anchor - timedelta(days=options.days)
        self.bar = bar
        self.counts: dict[str, int] = defaultdict(int)
        self.action_counts: dict[str, int] = {}  # what the simulator did, by action

    # ------------------------------------------------------------------------------------------
    def run(self) -> None:
        o = self.options
        self.bar.phase("People, graph and posts", 3)
        self.pop = generate_people(o.people, o.seed)
        self.bar.advance()
        self.graph = generate_graph(self.pop, o.seed)
        self.bar.advance()
        self.plans = plan_posts(self.pop, o.seed, o.post_count, self.start, o.days,
                                max(o.photo_variants, o.video_variants))
        self.bar.advance()
        self.rng = np.random.default_rng([o.seed, 9])
        self.write_accounts()
        self.write_posts()
        self.write_graph()
        self.write_conversations()
        self.simulate()
        self.recount()
        truth = CommunityTruth(
            population=self.pop, account_ids=[int(a) for a in self.account_ids],
            post_ids=np.asarray(self.post_ids, dtype=np.int64),
            post_topics=np.asarray([p.topic for p in self.plans], dtype=np.int16),
            post_quality=np.asarray([p.quality for p in self.plans], dtype=np.float32),
            meta={"seed": o.seed, "people": o.people, "posts": o.post_count, "days": o.days,
                  "anchor": self.anchor.isoformat(), "admin_id": self.admin_id,
                  "seeded_at": datetime.now(UTC).isoformat(), "complete": True},
            satisfaction=self.sim.satisfaction.copy(), churned=self.sim.churned.copy())
        # Written before the commit: if the commit fails, the next run rewrites it.
        truth.save(sim_dir(self.settings.data_dir))

    # ------------------------------------------------------------------------------------------
    def write_accounts(self) -> None:
        pop, rng = self.pop, self.rng
        self.bar.phase("Accounts", len(pop) + 1)
        shared_hash = hash_password(DEMO_PASSWORD)  # argon2 is slow on purpose: hash once, reuse
        admin_hash = hash_password(ADMIN_PASSWORD)
        joined = self.start - timedelta(days=200)
        offsets = rng.integers(0, 190 * 86400, len(pop))
        rows = []
        for i in range(len(pop)):
            handle = pop.handles[i]
            rows.append({
                "handle": handle, "email": f"{handle}@demo.townsquare.local", "password_hash": shared_hash,
                "display_name": pop.display_names[i], "bio": pop.bios[i], "is_private": bool(pop.is_private[i]),
                "created_at": joined + timedelta(seconds=int(offsets[i])) if i else joined,
            })
        self.account_ids = _insert_returning_ids(self.session, m.Account, rows)
        self.admin_id = _insert_returning_ids(self.session, m.Account, [{
            "handle": ADMIN_HANDLE, "email": "admin@demo.townsquare.local", "password_hash": admin_hash,
            "display_name": "Community Admin", "bio": "Keeps this place friendly.", "is_admin": True,
            "created_at": joined}])[0]
        self.counts["accounts"] = len(rows) + 1
        # Avatars: a small pool of generated pictures in the colours of each person's main topic.
        pool = MediaPool(self.settings.media_store)
        avatar_rows = []
        for i in range(len(pop)):
            f = pool.get("avatar", int(np.argmax(pop.topics[i])), int(rng.integers(1 << 16)))
            avatar_rows.append({"owner_id": self.account_ids[i], "sha256": f.sha256, "kind": f.kind,
                                "mime_type": f.mime_type, "size_bytes": f.size_bytes, "width": f.width,
                                "height": f.height, "description": f.description, "created_at": rows[i]["created_at"]})
        avatar_ids = _insert_returning_ids(self.session, m.Media, avatar_rows)
        table = m.Account.__table__
        self.session.execute(update(table).where(table.c.id == bindparam("b_id"))
                             .values(avatar_media_id=bindparam("b_avatar")),
                             [{"b_id": a, "b_avatar": mid} for a, mid in zip(self.account_ids, avatar_ids, strict=True)])
        self.counts["media"] += len(avatar_ids)
        self.bar.advance(len(pop) + 1)

    def write_posts(self) -> None:
        plans, o = self.plans, self.options
        self.bar.phase("Posts and media", 1)
        pool = MediaPool(self.settings.media_store, o.photo_variants, o.video_variants)
        self.post_ids, counts = write_posts(self.session, self.account_ids, plans, pool)
        for key, value in counts.items():
            self.counts[key] += value
        self.bar.advance()
        # (Search indexes follow by themselves: SQLite FTS triggers, PostgreSQL expression indexes.)

    def write_graph(self) -> None:
        g, aid, rng = self.graph, self.account_ids, self.rng
        self.bar.phase("Follows, requests, blocks, mutes", 4)
        before = self.start

        def when(count: int, earliest_days: int = 120) -> list[datetime]:
            secs = rng.integers(3600, earliest_days * 86400, count)
            return [before - timedelta(seconds=int(s)) for s in secs]

        follows = sorted(g.follows)
        times = when(len(follows))
        _insert(self.session, m.Follow, [{"follower_id": aid[a], "followee_id": aid[b], "created_at": t}
                                         for (a, b), t in zip(follows, times, strict=True)])
        _log(self.session, [{"actor_id": aid[a], "action": "follow", "entity_type": "account",
                             "entity_id": aid[b], "ts": t, "surface": "profile"}
                            for (a, b), t in zip(follows, times, strict=True)])
        _insert(self.session, m.Notification, [
            {"recipient_id": aid[b], "actor_id": aid[a], "kind": "follow", "created_at": t, "read_at": t}
            for (a, b), t in zip(follows, times, strict=True)])
        self.bar.advance()
        requests = sorted(g.follow_requests)
        rtimes = when(len(requests), 20)
        _insert(self.session, m.FollowRequest, [{"requester_id": aid[a], "target_id": aid[b], "created_at": t}
                                                for (a, b), t in zip(requests, rtimes, strict=True)])
        _insert(self.session, m.Notification, [
            {"recipient_id": aid[b], "actor_id": aid[a], "kind": "follow_request", "created_at": t}
            for (a, b), t in zip(requests, rtimes, strict=True)])
        _log(self.session, [{"actor_id": aid[a], "action": "follow", "entity_type": "account",
                             "entity_id": aid[b], "ts": t, "surface": "profile", "context": {"request": True}}
                            for (a, b), t in zip(requests, rtimes, strict=True)])
        self.bar.advance()
        for model, pairs, cols in ((m.Block, g.blocks, ("blocker_id", "blocked_id")),
                                   (m.Mute, g.mutes, ("muter_id", "muted_id"))):
            pairs = sorted(pairs)
            _insert(self.session, model, [{cols[0]: aid[a], cols[1]: aid[b], "created_at": t}
                                          for (a, b), t in zip(pairs, when(len(pairs)), strict=True)])
            self.bar.advance()
        self.counts.update(follows=len(follows), follow_requests=len(requests), blocks=len(g.blocks),
                           mutes=len(g.mutes))
        self.counts["notifications"] += len(follows) + len(requests)
        self.counts["events"] += len(follows) + len(requests)
        self.requests = set(requests)

    def write_conversations(self) -> None:
        """A few direct-message conversations between people who follow each other (the demo login
        included, so its inbox is not empty); the simulation adds more as mutual follows chat."""
        g, aid, pop = self.graph, self.account_ids, self.pop
        rng = np.random.default_rng([self.options.seed, 8])
        self.conversations: dict[tuple[int, int], int] = {}
        mutual = sorted((a, b) for a, b in g.follows if a < b and (b, a) in g.follows)
        if not mutual:
            return
        demo_pairs = [p for p in mutual if p[0] == 0][:3]
        picks = [mutual[int(k)] for k in rng.choice(len(mutual), size=min(len(mutual), max(3, len(pop) // 20)),
                                                     replace=False)]
        pairs = list(dict.fromkeys(demo_pairs + picks))
        self.bar.phase("Conversations", len(pairs))
        messages, events, notes = [], [], []
        for a, b in pairs:
            topic = int(np.argmax(pop.topics[a] * pop.topics[b]))
            ts = self.start + timedelta(seconds=int(rng.integers(0, self.options.days * 86400 - 7200)))
            turns = int(rng.integers(2, 7))
            low, high = sorted((aid[a], aid[b]))
            conv_rows = []
            for k in range(turns):
                sender, recipient = (a, b) if k % 2 == 0 else (b, a)
                conv_rows.append((aid[sender], aid[recipient], message_text(rng, topic), ts))
                ts += timedelta(minutes=int(rng.integers(1, 90)))
            conv = _insert_returning_ids(self.session, m.Conversation, [{
                "low_id": low, "high_id": high, "created_at": conv_rows[0][3], "last_message_at": conv_rows[-1][3]}])[0]
            self.conversations[(low, high)] = conv
            for sender, recipient, body, when in conv_rows:
                read = when + timedelta(minutes=30)
                messages.append({"conversation_id": conv, "sender_id": sender, "text": body, "created_at": when,
                                 "read_at": read if read < self.anchor - timedelta(days=1) else None})
                events.append({"actor_id": sender, "action": "message", "entity_type": "account",
                               "entity_id": recipient, "ts": when, "surface": "messages"})
                notes.append({"recipient_id": recipient, "actor_id": sender, "kind": "message", "created_at": when,
                              "read_at": read if read < self.anchor - timedelta(days=1) else None})
            self.bar.advance()
        _insert(self.session, m.Message, messages)
        _insert(self.session, m.Notification, notes)
        self.counts["events"] += _log(self.session, events)
        self.counts["messages"] += len(messages)
        self.counts["notifications"] += len(notes)

    # ------------------------------------------------------------------------------------------
    def simulate(self) -> None:
        pop, aid, o = self.pop, self.account_ids, self.options
        self.bar.phase(f"Simulating {o.days} days of activity", o.days)
        sim = Simulator(pop, aid, seed=o.seed)
        # Noise keyed by plan order, not database ids: the same seed behaves the same on any database.
        sim.add_posts(PostInfo(self.post_ids[i], aid[p.author], p.kind, p.created_at, p.topic, p.quality,
                               p.visibility, noise_key=i) for i, p in enumerate(self.plans))
        for a, b in self.graph.follows:
            sim.following[a].add(b)
        for a, b in self.requests:
            sim.requested.add((a, b))
        self.sim = sim
        hidden: dict[int, set[int]] = defaultdict(set)  # viewer -> authors never shown: blocks both ways, mutes
        for x, y in self.graph.blocks:
            hidden[aid[x]].add(aid[y])
            hidden[aid[y]].add(aid[x])
        for x, y in self.graph.mutes:
            hidden[aid[x]].add(aid[y])
        feed = ChronologicalFeed(sim, hidden=hidden)
        writer = ActionWriter(self.session, sim, seed=o.seed, until=self.anchor,
                              read_before=self.anchor - timedelta(days=2), conversations=self.conversations)
        last_seen: dict[int, datetime] = {}

        def on_actions(actions: list[Action]) -> None:
            feed.record(actions)
            writer.write(actions)
            for a in actions:
                if a.ts < self.anchor:
                    last_seen[a.account_id] = max(a.ts, last_seen.get(a.account_id, a.ts))

        run_days(sim, feed.feed_for, self.start, o.days, on_actions=on_actions,
                 on_day_start=lambda _day, day_start: feed.start_day(day_start),
                 stop_at=self.anchor - timedelta(minutes=30), progress=lambda _day: self.bar.advance())
        if last_seen:
            table = m.Account.__table__
            stmt = update(table).where(table.c.id == bindparam("b_id")).values(last_seen_at=bindparam("b_seen"))
            self.session.execute(stmt, [{"b_id": a, "b_seen": t} for a, t in sorted(last_seen.items())])
        for key, value in writer.counts.items():
            self.counts[key] += value
        self.action_counts = dict(writer.action_counts)
        self.counts["sessions"] = len(sim.summaries)
        self.counts["churned"] = int(sim.churned.sum())

    # ------------------------------------------------------------------------------------------
    def recount(self) -> None:
        self.bar.phase("Counters", 1)
        recount(self.session)
        self.bar.advance()


def demo_population(people: int, seed: int) -> tuple[Population, Graph, list[PostPlan]]:
    """The pure (database-free) parts of a seed, for tests and inspection."""
    pop = generate_people(people, seed)
    graph = generate_graph(pop, seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pop, graph, plan_posts(pop, seed, 10 * people, start, 14, 4)


__all__ = ["ADMIN_HANDLE", "ADMIN_PASSWORD", "DEMO_HANDLE", "DEMO_PASSWORD", "SeedOptions", "SeedReport",
           "seed_community", "demo_population"]
