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

import bisect
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import bindparam, insert, select, text, update
from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.engine import Database
from townsquare.errors import InvalidInput
from townsquare.sim.behaviour import Action, PostInfo, Simulator
from townsquare.sim.community import CommunityTruth, sim_dir
from townsquare.sim.content import PostPlan, message_text, plan_posts, reply_text
from townsquare.sim.graph import Graph, generate_graph
from townsquare.sim.media import MediaPool
from townsquare.sim.people import DEMO_HANDLE, Population, generate_people
from townsquare.social import models as m
from townsquare.social.events import log_events

DEMO_PASSWORD = "demo-password"
ADMIN_HANDLE = "admin"
ADMIN_PASSWORD = "admin-password"
FEED_WINDOW_S = 3 * 86400  # the chronological feed looks back three days
PAGE_SIZE = 10
POPULAR_PER_DAY = 40


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


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def _insert_returning_ids(session: Session, model, rows: list[dict], chunk: int = 5000) -> list[int]:
    ids: list[int] = []
    stmt = insert(model).returning(model.id, sort_by_parameter_order=True)
    for start in range(0, len(rows), chunk):
        ids.extend(session.execute(stmt, rows[start : start + chunk]).scalars().all())
    return ids


def _insert(session: Session, model, rows: list[dict], chunk: int = 20000) -> None:
    for start in range(0, len(rows), chunk):
        session.execute(insert(model), rows[start : start + chunk])


def _log(session: Session, rows: list[dict], chunk: int = 20000) -> int:
    total = 0
    for start in range(0, len(rows), chunk):
        total += log_events(session, rows[start : start + chunk])
    return total


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
        report.counts = seeder.counts
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
        self.simulate()
        self.recount()
        truth = CommunityTruth(
            population=self.pop, account_ids=[int(a) for a in self.account_ids],
            post_ids=np.asarray(self.post_ids, dtype=np.int64),
            post_topics=np.asarray([p.topic for p in self.plans], dtype=np.int16),
            post_quality=np.asarray([p.quality for p in self.plans], dtype=np.float32),
            meta={"seed": o.seed, "people": o.people, "posts": o.post_count, "days": o.days,
                  "anchor": self.anchor.isoformat(), "admin_id": self.admin_id,
                  "seeded_at": datetime.now(UTC).isoformat(), "complete": True})
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
        self.bar.advance(len(pop) + 1)

    def write_posts(self) -> None:
        plans, aid = self.plans, self.account_ids
        o = self.options
        self.bar.phase("Posts and media", len(plans))
        pool = MediaPool(self.settings.media_dir, o.photo_variants, o.video_variants)
        media_rows, media_for = [], []
        for p, plan in enumerate(plans):
            if plan.kind in ("photo", "video"):
                f = pool.get(plan.kind, plan.topic, plan.media_variant)
                media_rows.append({"owner_id": aid[plan.author], "sha256": f.sha256, "kind": f.kind,
                                   "mime_type": f.mime_type, "size_bytes": f.size_bytes, "width": f.width,
                                   "height": f.height, "description": f.description,
                                   "created_at": plan.created_at})
                media_for.append(p)
        media_ids = _insert_returning_ids(self.session, m.Media, media_rows)
        post_rows = [{"author_id": aid[p.author], "kind": p.kind, "text": p.text, "link_url": p.link_url,
                      "link_title": p.link_title, "visibility": p.visibility, "created_at": p.created_at}
                     for p in plans]
        self.post_ids = _insert_returning_ids(self.session, m.Post, post_rows)
        self.bar.advance(len(plans) // 2)
        _insert(self.session, m.PostMedia, [{"post_id": self.post_ids[p], "media_id": mid, "position": 0}
                                            for p, mid in zip(media_for, media_ids, strict=True)])
        names = sorted({t for p in plans for t in p.hashtags})
        tag_ids = dict(zip(names, _insert_returning_ids(self.session, m.Hashtag, [{"name": n} for n in names]),
                           strict=True))
        _insert(self.session, m.PostHashtag, [{"post_id": self.post_ids[i], "hashtag_id": tag_ids[t]}
                                              for i, p in enumerate(plans) for t in dict.fromkeys(p.hashtags)])
        _log(self.session, [{"actor_id": aid[p.author], "action": "post", "entity_type": "post",
                             "entity_id": self.post_ids[i], "ts": p.created_at, "surface": "compose"}
                            for i, p in enumerate(plans)])
        self.counts.update(posts=len(plans), media=len(media_rows), hashtags=len(names))
        self.bar.advance(len(plans) - len(plans) // 2)
        self._try_reindex_search()

    def _try_reindex_search(self) -> None:
        """Bulk inserts bypass services; let the search module index the new posts if it needs to."""
        try:
            from townsquare.social import search  # type: ignore[attr-defined]
        except ImportError:
            return
        reindex = getattr(search, "reindex", None) or getattr(search, "rebuild_index", None)
        if callable(reindex):
            reindex(self.session)

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
        self.requests = set(requests)

    # ------------------------------------------------------------------------------------------
    def simulate(self) -> None:
        pop, aid, o = self.pop, self.account_ids, self.options
        n = len(pop)
        self.bar.phase(f"Simulating {o.days} days of activity", o.days)
        sim = Simulator(pop, aid, seed=o.seed)
        sim.add_posts(PostInfo(self.post_ids[i], aid[p.author], p.kind, p.created_at, p.topic, p.quality,
                               p.visibility) for i, p in enumerate(self.plans))
        for a, b in self.graph.follows:
            sim.following[a].add(b)
        for a, b in self.requests:
            sim.requested.add((a, b))
        self.sim = sim
        # Chronological index: per author, post times (epoch seconds) and ids, ascending.
        by_author_t: list[list[float]] = [[] for _ in range(n)]
        by_author_id: list[list[int]] = [[] for _ in range(n)]
        for i, p in enumerate(self.plans):
            by_author_t[p.author].append(p.created_at.timestamp())
            by_author_id[p.author].append(self.post_ids[i])
        self.by_author_t, self.by_author_id = by_author_t, by_author_id
        self.hidden_authors: list[set[int]] = [set() for _ in range(n)]  # blocked either way or muted
        for a, b in self.graph.blocks:
            self.hidden_authors[a].add(b)
            self.hidden_authors[b].add(a)
        for a, b in self.graph.mutes:
            self.hidden_authors[a].add(b)
        self.post_index = {pid: i for i, pid in enumerate(self.post_ids)}
        self.likes: dict[int, int] = defaultdict(int)
        self.comments_on: dict[int, list[tuple[int, int]]] = defaultdict(list)  # post -> [(comment id, author)]
        self.conversations: dict[tuple[int, int], int] = {}
        self.last_seen: dict[int, datetime] = {}
        for day in range(o.days):
            day_start = self.start + timedelta(days=day)
            self.popular = self._popular(day_start)
            actions: list[Action] = []
            for account_id, start in sim.plan_day(day, day_start):
                if start >= self.anchor - timedelta(minutes=30):
                    continue
                actions.extend(sim.session(account_id, self._feed_for(account_id, start), day, start))
                self.last_seen[account_id] = start
            self._write_actions(actions)
            self.bar.advance()
        if self.last_seen:
            table = m.Account.__table__
            stmt = update(table).where(table.c.id == bindparam("b_id")).values(last_seen_at=bindparam("b_seen"))
            self.session.execute(stmt, [{"b_id": a, "b_seen": t} for a, t in sorted(self.last_seen.items())])
        self.counts["sessions"] = len(sim.summaries)
        self.counts["churned"] = int(sim.churned.sum())

    def _popular(self, day_start: datetime) -> list[int]:
        """Public posts of the last two days with the most likes so far (the discovery part of the feed)."""
        lo, hi = (day_start - timedelta(days=2)).timestamp(), day_start.timestamp()
        cands = [pid for pid, c in self.likes.items() if c > 0]
        cands = [pid for pid in cands if lo <= self.plans[self.post_index[pid]].created_at.timestamp() < hi
                 and self.plans[self.post_index[pid]].visibility == "public"]
        cands.sort(key=lambda pid: (-self.likes[pid], pid))
        return cands[:POPULAR_PER_DAY]

    def _feed_for(self, account_id: int, at: datetime):
        """A chronological home feed as the seeded app would show it at ``at``: followed accounts and own
        posts from the last three days, plus popular public posts, newest first, 10 a page."""
        i = self.sim.index_of[account_id]
        cache: list[int] = []
        built = False

        def feed(_account_id: int, page: int) -> list[int]:
            nonlocal built
            if not built:
                t_hi = at.timestamp()
                t_lo = t_hi - FEED_WINDOW_S
                items: list[tuple[float, int]] = []
                hidden = self.hidden_authors[i]
                for a in (*self.sim.following[i], i):
                    if a in hidden:
                        continue
                    times = self.by_author_t[a]
                    lo = bisect.bisect_left(times, t_lo)
                    hi = bisect.bisect_right(times, t_hi)
                    ids = self.by_author_id[a]
                    items.extend((times[k], ids[k]) for k in range(lo, hi))
                seen_ids = {pid for _, pid in items}
                for pid in self.popular:
                    plan = self.plans[self.post_index[pid]]
                    if pid not in seen_ids and plan.author not in hidden and plan.created_at.timestamp() <= t_hi:
                        items.append((plan.created_at.timestamp(), pid))
                items.sort(key=lambda x: (-x[0], -x[1]))
                cache.extend(pid for _, pid in items)
                built = True
            return cache[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]

        return feed

    # ------------------------------------------------------------------------------------------
    def _write_actions(self, actions: list[Action]) -> None:
        """Turn one day's actions into rows: events, reactions, comments (with author replies), reposts,
        follows / requests, messages, reports and notifications."""
        s, sim, rng = self.session, self.sim, self.rng
        events: list[dict] = []
        reactions, reposts, follows, requests, reports, notes = [], [], [], [], [], []
        comment_actions: list[Action] = []
        message_actions: list[Action] = []
        for a in actions:
            if a.ts >= self.anchor:
                continue
            if a.action != "message":
                events.append(a.event_row())
            if a.action in ("like", "repost", "comment", "report"):
                author = sim.posts[a.entity_id].author_id
            if a.action == "like":
                reactions.append({"account_id": a.account_id, "post_id": a.entity_id, "kind": "like",
                                  "created_at": a.ts})
                self.likes[a.entity_id] += 1
                notes.append({"recipient_id": author, "actor_id": a.account_id, "kind": "like",
                              "post_id": a.entity_id, "created_at": a.ts})
            elif a.action == "repost":
                reposts.append({"account_id": a.account_id, "post_id": a.entity_id, "created_at": a.ts})
                notes.append({"recipient_id": author, "actor_id": a.account_id, "kind": "repost",
                              "post_id": a.entity_id, "created_at": a.ts})
            elif a.action == "comment":
                comment_actions.append(a)
            elif a.action == "follow":
                if a.context and a.context.get("request"):
                    requests.append({"requester_id": a.account_id, "target_id": a.entity_id, "created_at": a.ts})
                    kind = "follow_request"
                else:
                    follows.append({"follower_id": a.account_id, "followee_id": a.entity_id, "created_at": a.ts})
                    kind = "follow"
                notes.append({"recipient_id": a.entity_id, "actor_id": a.account_id, "kind": kind,
                              "created_at": a.ts})
            elif a.action == "report":
                reports.append({"reporter_id": a.account_id, "target_account_id": author, "post_id": a.entity_id,
                                "reason": (a.context or {}).get("reason", "other"),
                                "details": "Reported while scrolling.", "created_at": a.ts})
            elif a.action == "message":
                message_actions.append(a)
        # Requests to private accounts made earlier are approved when the same pair follows in the sim.
        _insert(s, m.Reaction, reactions)
        _insert(s, m.Repost, reposts)
        _insert(s, m.Follow, follows)
        _insert(s, m.FollowRequest, requests)
        _insert(s, m.Report, reports)
        self.counts["likes"] += len(reactions)
        self.counts["reposts"] += len(reposts)
        self.counts["follows"] += len(follows)
        self.counts["follow_requests"] += len(requests)
        self.counts["reports"] += len(reports)
        # Comments: a reply answers the latest earlier comment of the thread; post authors answer back.
        rows, keys = [], []
        for a in comment_actions:
            thread = self.comments_on[a.entity_id]
            parent = thread[-1][0] if (a.parent_index is not None and thread) else None
            rows.append({"post_id": a.entity_id, "author_id": a.account_id, "parent_id": parent, "text": a.text,
                         "created_at": a.ts})
            keys.append((a, parent, thread[-1][1] if parent else None))
        ids = _insert_returning_ids(s, m.Comment, rows)
        replies, reply_keys = [], []
        for cid, (a, parent, parent_author) in zip(ids, keys, strict=True):
            self.comments_on[a.entity_id].append((cid, a.account_id))
            post_author = sim.posts[a.entity_id].author_id
            notes.append({"recipient_id": post_author, "actor_id": a.account_id, "kind": "comment",
                          "post_id": a.entity_id, "comment_id": cid, "created_at": a.ts})
            if parent_author is not None and parent_author != post_author:
                notes.append({"recipient_id": parent_author, "actor_id": a.account_id, "kind": "reply",
                              "post_id": a.entity_id, "comment_id": cid, "created_at": a.ts})
            j = sim.index_of.get(post_author)
            if j and post_author != a.account_id and rng.random() < 0.35 * sim.pop.sociability[j]:
                ts = a.ts + timedelta(minutes=int(rng.integers(5, 240)))
                if ts < self.anchor:
                    topic = sim.posts[a.entity_id].topic or 0
                    replies.append({"post_id": a.entity_id, "author_id": post_author, "parent_id": cid,
                                    "text": reply_text(rng, topic), "created_at": ts})
                    reply_keys.append(a)
        reply_ids = _insert_returning_ids(s, m.Comment, replies)
        for rid, row, a in zip(reply_ids, replies, reply_keys, strict=True):
            self.comments_on[a.entity_id].append((rid, row["author_id"]))
            notes.append({"recipient_id": a.account_id, "actor_id": row["author_id"], "kind": "reply",
                          "post_id": a.entity_id, "comment_id": rid, "created_at": row["created_at"]})
            events.append({"actor_id": row["author_id"], "action": "comment", "entity_type": "post",
                           "entity_id": a.entity_id, "ts": row["created_at"], "surface": "post",
                           "context": {"reply_to": a.account_id}})
        self.counts["comments"] += len(rows) + len(replies)
        # Direct messages, with an answer from the other side most of the time.
        messages = []
        for a in message_actions:
            pair = (min(a.account_id, a.entity_id), max(a.account_id, a.entity_id))
            conv = self.conversations.get(pair)
            if conv is None:
                conv = _insert_returning_ids(s, m.Conversation, [{"low_id": pair[0], "high_id": pair[1],
                                                                  "created_at": a.ts, "last_message_at": a.ts}])[0]
                self.conversations[pair] = conv
            exchange = [(a.account_id, a.entity_id, a.text, a.ts)]
            if rng.random() < 0.8:
                other = sim.index_of[a.entity_id]
                topic = int(np.argmax(sim.pop.topics[other]))
                answer_ts = a.ts + timedelta(minutes=int(rng.integers(1, 120)))
                if answer_ts < self.anchor:
                    exchange.append((a.entity_id, a.account_id, message_text(rng, topic), answer_ts))
            for sender, recipient, body, ts in exchange:
                messages.append({"conversation_id": conv, "sender_id": sender, "text": body, "created_at": ts,
                                 "read_at": ts + timedelta(minutes=30) if ts + timedelta(minutes=30) < self.anchor
                                 else None})
                events.append({"actor_id": sender, "action": "message", "entity_type": "account",
                               "entity_id": recipient, "ts": ts, "surface": "messages"})
                notes.append({"recipient_id": recipient, "actor_id": sender, "kind": "message", "created_at": ts})
            s.execute(m.Conversation.__table__.update().where(m.Conversation.__table__.c.id == conv)
                      .values(last_message_at=exchange[-1][3]))
        _insert(s, m.Message, messages)
        self.counts["messages"] += len(messages)
        # Notifications: never about oneself; older ones are read.
        read_before = self.anchor - timedelta(days=2)
        notes = [dict(n, read_at=n["created_at"] if n["created_at"] < read_before else None)
                 for n in notes if n["recipient_id"] != n["actor_id"]]
        _insert(s, m.Notification, notes)
        self.counts["notifications"] += len(notes)
        self.counts["events"] += _log(s, events)

    def recount(self) -> None:
        """Counters on accounts and posts, recomputed from the rows (correct by construction)."""
        self.bar.phase("Counters", 2)
        s = self.session
        s.execute(text(
            "UPDATE accounts SET "
            "follower_count = (SELECT count(*) FROM follows WHERE follows.followee_id = accounts.id), "
            "following_count = (SELECT count(*) FROM follows WHERE follows.follower_id = accounts.id), "
            "post_count = (SELECT count(*) FROM posts WHERE posts.author_id = accounts.id "
            "AND posts.deleted_at IS NULL AND posts.removed_at IS NULL)"))
        self.bar.advance()
        s.execute(text(
            "UPDATE posts SET "
            "like_count = (SELECT count(*) FROM reactions WHERE reactions.post_id = posts.id), "
            "comment_count = (SELECT count(*) FROM comments WHERE comments.post_id = posts.id "
            "AND comments.deleted_at IS NULL), "
            "repost_count = (SELECT count(*) FROM reposts WHERE reposts.post_id = posts.id)"))
        self.bar.advance()


def demo_population(people: int, seed: int) -> tuple[Population, Graph, list[PostPlan]]:
    """The pure (database-free) parts of a seed, for tests and inspection."""
    pop = generate_people(people, seed)
    graph = generate_graph(pop, seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return pop, graph, plan_posts(pop, seed, 10 * people, start, 14, 4)


__all__ = ["ADMIN_HANDLE", "ADMIN_PASSWORD", "DEMO_HANDLE", "DEMO_PASSWORD", "SeedOptions", "SeedReport",
           "seed_community", "demo_population"]
