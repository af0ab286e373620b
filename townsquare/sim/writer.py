"""Turns simulated ``Action``s into the app's rows: events (through ``social.events.log_events``),
reactions, comments with threads (post authors answer some comments), reposts, follows and follow
requests, direct messages (usually answered), reports and notifications. Bulk inserts, in the
caller's transaction. Used by ``townsquare seed`` for each simulated day, and reusable by benchmarks
that let the simulator act on a real database.

Counters on accounts and posts are not touched here: call ``recount`` once after writing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from townsquare.sim.behaviour import Action, Simulator
from townsquare.sim.content import PostPlan, message_text, reply_text
from townsquare.sim.media import MediaPool
from townsquare.social import models as m
from townsquare.social.events import log_events


def _uniform(rows: list[dict]) -> list[dict]:
    """Core executemany wants the same keys in every row: fill the missing ones with None."""
    keys = {k for r in rows for k in r}
    return rows if all(len(r) == len(keys) for r in rows) else [{k: r.get(k) for k in keys} for r in rows]


# Core inserts on the tables: one executemany per chunk. (ORM bulk inserts split the rows into many
# small statements whenever the set of None values changes from one row to the next.)
def insert_returning_ids(session: Session, model, rows: list[dict], chunk: int = 5000) -> list[int]:
    ids: list[int] = []
    table = model.__table__
    stmt = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    rows = _uniform(rows)
    for start in range(0, len(rows), chunk):
        ids.extend(session.execute(stmt, rows[start : start + chunk]).scalars().all())
    return ids


def insert_rows(session: Session, model, rows: list[dict], chunk: int = 20000) -> None:
    rows = _uniform(rows)
    for start in range(0, len(rows), chunk):
        session.execute(insert(model.__table__), rows[start : start + chunk])


def log_rows(session: Session, rows: list[dict], chunk: int = 20000) -> int:
    total = 0
    for start in range(0, len(rows), chunk):
        total += log_events(session, rows[start : start + chunk])
    return total


def write_posts(session: Session, account_ids: Sequence[int], plans: list[PostPlan], pool: MediaPool
                ) -> tuple[list[int], dict[str, int]]:
    """Store planned posts like the app would: posts, their media (from the pool), hashtags, and the
    authors' "post" events. Returns the new post ids (in plan order) and counts."""
    media_rows, media_for = [], []
    for k, plan in enumerate(plans):
        if plan.kind in ("photo", "video"):
            f = pool.get(plan.kind, plan.topic, plan.media_variant)
            media_rows.append({"owner_id": account_ids[plan.author], "sha256": f.sha256, "kind": f.kind,
                               "mime_type": f.mime_type, "size_bytes": f.size_bytes, "width": f.width,
                               "height": f.height, "description": f.description, "created_at": plan.created_at})
            media_for.append(k)
    media_ids = insert_returning_ids(session, m.Media, media_rows)
    post_ids = insert_returning_ids(session, m.Post, [
        {"author_id": account_ids[p.author], "kind": p.kind, "text": p.text, "link_url": p.link_url,
         "link_title": p.link_title, "visibility": p.visibility, "created_at": p.created_at} for p in plans])
    insert_rows(session, m.PostMedia, [{"post_id": post_ids[k], "media_id": mid, "position": 0}
                                       for k, mid in zip(media_for, media_ids, strict=True)])
    names = sorted({t for p in plans for t in p.hashtags})
    tag_ids = dict(session.execute(select(m.Hashtag.name, m.Hashtag.id).where(m.Hashtag.name.in_(names))).all()) \
        if names else {}
    missing = [n for n in names if n not in tag_ids]
    tag_ids.update(zip(missing, insert_returning_ids(session, m.Hashtag, [{"name": n} for n in missing]),
                       strict=True))
    insert_rows(session, m.PostHashtag, [{"post_id": post_ids[k], "hashtag_id": tag_ids[t]}
                                         for k, p in enumerate(plans) for t in dict.fromkeys(p.hashtags)])
    events = log_rows(session, [{"actor_id": account_ids[p.author], "action": "post", "entity_type": "post",
                                 "entity_id": post_ids[k], "ts": p.created_at, "surface": "compose"}
                                for k, p in enumerate(plans)])
    return post_ids, {"posts": len(plans), "media": len(media_rows), "hashtags": len(missing), "events": events}


class ActionWriter:
    """Writes batches of actions. ``until``: actions at or after it are dropped (the seed's "now");
    ``read_before``: notifications older than this are marked read."""

    def __init__(self, session: Session, sim: Simulator, *, seed: int = 7, until: datetime | None = None,
                 read_before: datetime | None = None, conversations: dict[tuple[int, int], int] | None = None
                 ) -> None:
        self.session = session
        self.sim = sim
        self.rng = np.random.default_rng([seed, 10])
        self.until = until
        self.read_before = read_before
        self.conversations = conversations if conversations is not None else {}
        self.comments_on: dict[int, list[tuple[int, int]]] = defaultdict(list)  # post -> [(comment, author)]
        self.likes: dict[int, int] = defaultdict(int)  # likes written so far, by post
        self.counts: dict[str, int] = defaultdict(int)
        self.action_counts: dict[str, int] = defaultdict(int)  # what the simulator did, by action

    def write(self, actions: list[Action]) -> None:
        """Write a batch of actions (e.g. one simulated day) as rows, in the session's transaction."""
        s, sim, rng = self.session, self.sim, self.rng
        events: list[dict] = []
        reactions, reposts, follows, requests, reports, notes = [], [], [], [], [], []
        comment_actions: list[Action] = []
        message_actions: list[Action] = []
        for a in actions:
            if self.until is not None and a.ts >= self.until:
                continue
            self.action_counts[a.action] += 1
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
        insert_rows(s, m.Reaction, reactions)
        insert_rows(s, m.Repost, reposts)
        insert_rows(s, m.Follow, follows)
        insert_rows(s, m.FollowRequest, requests)
        insert_rows(s, m.Report, reports)
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
        ids = insert_returning_ids(s, m.Comment, rows)
        replies, reply_keys = [], []
        for cid, (a, _parent, parent_author) in zip(ids, keys, strict=True):
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
                if self.until is None or ts < self.until:
                    topic = sim.posts[a.entity_id].topic or 0
                    replies.append({"post_id": a.entity_id, "author_id": post_author, "parent_id": cid,
                                    "text": reply_text(rng, topic, a.text or ""), "created_at": ts})
                    reply_keys.append(a)
        reply_ids = insert_returning_ids(s, m.Comment, replies)
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
                conv = s.scalar(select(m.Conversation.id).where(m.Conversation.low_id == pair[0],
                                                                m.Conversation.high_id == pair[1]))
            if conv is None:
                conv = insert_returning_ids(s, m.Conversation, [{"low_id": pair[0], "high_id": pair[1],
                                                                  "created_at": a.ts, "last_message_at": a.ts}])[0]
                self.conversations[pair] = conv
            exchange = [(a.account_id, a.entity_id, a.text, a.ts)]
            if rng.random() < 0.8:
                other = sim.index_of[a.entity_id]
                topic = int(np.argmax(sim.pop.topics[other]))
                answer_ts = a.ts + timedelta(minutes=int(rng.integers(1, 120)))
                if self.until is None or answer_ts < self.until:
                    exchange.append((a.entity_id, a.account_id, message_text(rng, topic), answer_ts))
            for sender, recipient, body, ts in exchange:
                read = ts + timedelta(minutes=30)
                messages.append({"conversation_id": conv, "sender_id": sender, "text": body, "created_at": ts,
                                 "read_at": read if self.until is None or read < self.until else None})
                events.append({"actor_id": sender, "action": "message", "entity_type": "account",
                               "entity_id": recipient, "ts": ts, "surface": "messages"})
                notes.append({"recipient_id": recipient, "actor_id": sender, "kind": "message", "created_at": ts})
            s.execute(m.Conversation.__table__.update().where(m.Conversation.__table__.c.id == conv)
                      .values(last_message_at=exchange[-1][3]))
        insert_rows(s, m.Message, messages)
        self.counts["messages"] += len(messages)
        # Notifications: never about oneself; older ones are read.
        read_before = self.read_before
        notes = [dict(n, read_at=n["created_at"] if read_before and n["created_at"] < read_before else None)
                 for n in notes if n["recipient_id"] != n["actor_id"]]
        insert_rows(s, m.Notification, notes)
        self.counts["notifications"] += len(notes)
        self.counts["events"] += log_rows(s, events)


def recount(session: Session) -> None:
    """Counters on accounts and posts, recomputed from the rows (correct by construction)."""
    s = session
    s.execute(text(
        "UPDATE accounts SET "
        "follower_count = (SELECT count(*) FROM follows WHERE follows.followee_id = accounts.id), "
        "following_count = (SELECT count(*) FROM follows WHERE follows.follower_id = accounts.id), "
        "post_count = (SELECT count(*) FROM posts WHERE posts.author_id = accounts.id "
        "AND posts.deleted_at IS NULL AND posts.removed_at IS NULL)"))
    s.execute(text(
        "UPDATE posts SET "
        "like_count = (SELECT count(*) FROM reactions WHERE reactions.post_id = posts.id), "
        "comment_count = (SELECT count(*) FROM comments WHERE comments.post_id = posts.id "
        "AND comments.deleted_at IS NULL), "
        "repost_count = (SELECT count(*) FROM reposts WHERE reposts.post_id = posts.id)"))
