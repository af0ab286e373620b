"""Candidate sources: each proposes post ids with a reason; ``collect`` merges them into
``Candidate`` rows the viewer may see (visibility and blocked/muted authors applied here, and
again at hydration).

Sources: recent posts from followed accounts; model retrieval over all posts; trending in the
last day; posts that people you follow engaged with; posts under hashtags you follow; and for
cold start (and back-fill) popular posts of the week and the best recent posts across topics.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, desc, func, select
from sqlalchemy.orm import Session

from townsquare.background import SingleFlight
from townsquare.db.ids import id_list, in_ids
from townsquare.feed.types import Candidate, Proposal, SourceInput, ViewerContext
from townsquare.social.models import (
    Account,
    Event,
    Hashtag,
    HashtagFollow,
    Post,
    PostHashtag,
    Reaction,
    Repost,
)
from townsquare.social.visibility import visible_posts_clause

log = logging.getLogger(__name__)

ENGAGE_ACTIONS = ("open", "like", "comment", "share", "repost", "dwell")


class _TTLCache:
    """Process-wide lists everyone shares (trending, popular), recomputed every ``ttl`` seconds.

    Only the first request computes a list itself. Once a list is older than ``ttl``, requests
    keep getting it while one background thread recomputes it through its own session: a
    recomputation (a sort of the week's posts) would otherwise land in some request's latency.
    """

    def __init__(self) -> None:
        self._data: dict[tuple, tuple[float, object]] = {}
        self._lock = threading.Lock()
        self._jobs = SingleFlight("feed-shared-refresh")

    def get(self, key: tuple, ttl: float, compute: Callable[[Session], object], session: Session):
        now = time.monotonic()
        with self._lock:
            hit = self._data.get(key)
        if hit is not None and now - hit[0] >= ttl:
            bind = session.get_bind()
            self._jobs.start(key, lambda: self._refresh(key, compute, bind))
        if hit is not None:
            return hit[1]
        value = compute(session)
        with self._lock:
            self._data[key] = (time.monotonic(), value)
        return value

    def _refresh(self, key: tuple, compute: Callable[[Session], object], bind) -> None:
        # On failure the old list keeps being served; the next request past the TTL tries again.
        with Session(bind) as session:
            value = compute(session)
        with self._lock:
            if key in self._data:  # not cleared meanwhile
                self._data[key] = (time.monotonic(), value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


SHARED = _TTLCache()

# Statements of the per-request reads, built once (their parameters are bound at execution).
_TAGS_OF_POSTS = (select(PostHashtag.post_id, Hashtag.name).join(Hashtag, Hashtag.id == PostHashtag.hashtag_id)
                  .where(in_ids(PostHashtag.post_id)))


def _db_key(session: Session, now: datetime | None = None) -> str:
    # keyed by the hour too: a clock that jumps (the simulator) must not reuse an old list
    hour = now.strftime("%Y%m%d%H") if now is not None else ""
    return f"{session.get_bind().url}|{hour}"


def _engagement():
    return Post.like_count + 2 * Post.comment_count + 3 * Post.repost_count


_FOLLOWING_RECENT = (select(Post.id)
                     .where(in_ids(Post.author_id, "authors"), Post.created_at >= bindparam("since"),
                            Post.created_at <= bindparam("now"), Post.deleted_at.is_(None))
                     .order_by(desc(Post.created_at)).limit(bindparam("n")))


def following_recent(inp: SourceInput) -> list[Proposal]:
    session, ctx, cfg, now = inp.session, inp.ctx, inp.cfg, inp.now
    if not ctx.following:
        return []
    ids = session.scalars(_FOLLOWING_RECENT, {"authors": id_list(ctx.following), "n": cfg.following_recent,
                                              "since": now - timedelta(days=cfg.following_days), "now": now})
    return [(pid, "following", None) for pid in ids]


def trending(inp: SourceInput) -> list[Proposal]:
    session, cfg, now = inp.session, inp.cfg, inp.now
    def compute(session: Session):
        since = now - timedelta(hours=cfg.trending_hours)
        return list(session.execute(
            select(Post.id, _engagement()).where(Post.created_at >= since, Post.created_at <= now, Post.deleted_at.is_(None),
                                                 Post.visibility == "public")
            .order_by(desc(_engagement()), desc(Post.id)).limit(cfg.trending)
        ))
    key = ("trending", _db_key(session, now), cfg.trending, cfg.trending_hours)
    rows = SHARED.get(key, cfg.global_cache_s, compute, session)
    return [(pid, "trending", int(score)) for pid, score in rows if score > 0]


def popular(inp: SourceInput) -> list[Proposal]:
    session, cfg, now = inp.session, inp.cfg, inp.now
    def compute(session: Session):
        since = now - timedelta(days=cfg.popular_days)
        return list(session.execute(
            select(Post.id, _engagement()).where(Post.created_at >= since, Post.created_at <= now, Post.deleted_at.is_(None),
                                                 Post.visibility == "public")
            .order_by(desc(_engagement()), desc(Post.id)).limit(cfg.popular)
        ))
    key = ("popular", _db_key(session, now), cfg.popular, cfg.popular_days)
    rows = SHARED.get(key, cfg.global_cache_s, compute, session)
    return [(pid, "popular", int(score)) for pid, score in rows]


def topics(inp: SourceInput) -> list[Proposal]:
    """The best recent posts of many different hashtags: a diverse cold-start sample."""
    session, cfg, now = inp.session, inp.cfg, inp.now
    def compute(session: Session):
        since = now - timedelta(days=cfg.popular_days)
        rows = session.execute(
            select(Hashtag.name, Post.id, _engagement())
            .join(PostHashtag, PostHashtag.hashtag_id == Hashtag.id)
            .join(Post, Post.id == PostHashtag.post_id)
            .where(Post.created_at >= since, Post.created_at <= now, Post.deleted_at.is_(None), Post.visibility == "public")
            .order_by(desc(_engagement()), desc(Post.id)).limit(cfg.topics * 20)
        )
        per_tag: dict[str, list[int]] = defaultdict(list)
        for name, pid, _score in rows:
            if len(per_tag[name]) < 3:
                per_tag[name].append(pid)
        # round-robin over hashtags so that no single topic fills the list
        out, depth = [], 0
        while len(out) < cfg.topics and any(len(v) > depth for v in per_tag.values()):
            out += [(v[depth], name) for name, v in per_tag.items() if len(v) > depth]
            depth += 1
        return out[: cfg.topics]
    key = ("topics", _db_key(session, now), cfg.topics, cfg.popular_days)
    rows = SHARED.get(key, cfg.global_cache_s, compute, session)
    return [(pid, "topic", name) for pid, name in rows]


def _engaged_by(table):
    return (select(table.post_id, table.account_id)
            .where(in_ids(table.account_id, "accounts"), table.created_at >= bindparam("since"),
                   table.created_at <= bindparam("now"))
            .order_by(desc(table.created_at)).limit(bindparam("n")))


_ENGAGED_BY = (_engaged_by(Reaction), _engaged_by(Repost))


def friends_engaged(inp: SourceInput) -> list[Proposal]:
    """Posts that people you follow liked or reposted recently (detail: who)."""
    session, ctx, cfg, now = inp.session, inp.ctx, inp.cfg, inp.now
    if not ctx.following:
        return []
    params = {"accounts": id_list(ctx.following), "since": now - timedelta(days=cfg.friends_engaged_days),
              "now": now, "n": cfg.friends_engaged * 4}
    who: dict[int, list[int]] = defaultdict(list)
    for statement in _ENGAGED_BY:
        for pid, acc in session.execute(statement, params):
            if acc not in who[pid]:
                who[pid].append(acc)
    ranked = sorted(who.items(), key=lambda kv: -len(kv[1]))[: cfg.friends_engaged]
    return [(pid, "friends_engaged", tuple(accs)) for pid, accs in ranked]  # immutable: cached for 30 min


_FOLLOWED_HASHTAG_POSTS = (
    select(Post.id, Hashtag.name)
    .join(PostHashtag, PostHashtag.post_id == Post.id)
    .join(Hashtag, Hashtag.id == PostHashtag.hashtag_id)
    .join(HashtagFollow, (HashtagFollow.hashtag_id == Hashtag.id) & (HashtagFollow.account_id == bindparam("viewer")))
    .where(Post.created_at >= bindparam("since"), Post.created_at <= bindparam("now"), Post.deleted_at.is_(None))
    .order_by(desc(Post.created_at)).limit(bindparam("n"))
)


def followed_hashtags(inp: SourceInput) -> list[Proposal]:
    session, ctx, cfg, now = inp.session, inp.ctx, inp.cfg, inp.now
    if not ctx.followed_hashtags:  # read by ``viewer_context``: most people follow none
        return []
    rows = session.execute(_FOLLOWED_HASHTAG_POSTS, {"viewer": ctx.viewer_id, "n": cfg.hashtags, "now": now,
                                                     "since": now - timedelta(days=cfg.hashtags_days)})
    return [(pid, "hashtag", name) for pid, name in rows]


def model_retrieval(inp: SourceInput) -> list[Proposal]:
    """The unified model's nearest posts to the viewer's state, not seen lately (detail: the score)."""
    if inp.scorer is None or inp.state is None:
        return []
    return [(int(pid), "model", float(score))
            for pid, score in inp.scorer.retrieve(inp.state, inp.cfg.model_retrieval, kind="post", exclude=inp.ctx.seen)]


def content_similar(inp: SourceInput) -> list[Proposal]:
    """Recent posts most like the ones the person engaged with lately (the model's text features,
    nearest neighbours: ``Scorer.similar_posts``); detail: the similarity. Reaches discovery posts
    that neither the graph nor popularity would bring."""
    scorer, cfg = inp.scorer, inp.cfg
    if scorer is None or inp.state is None or cfg.content_similar <= 0 or not hasattr(scorer, "similar_posts"):
        return []
    return [(int(pid), "similar", round(float(score), 3))
            for pid, score in scorer.similar_posts(inp.state, cfg.content_similar, exclude=inp.ctx.seen)]


@dataclass(frozen=True)
class Source:
    name: str
    propose: Callable[[SourceInput], list[Proposal]]
    needs_model: bool = False  # runs only with the unified model; its failure never breaks the feed
    cold_start_only: bool = False  # only for people with no history yet


# Every candidate source, in the order their proposals are merged.
SOURCES: list[Source] = [
    Source("following", following_recent),
    Source("friends_engaged", friends_engaged),
    Source("hashtag", followed_hashtags),
    Source("trending", trending),
    Source("popular", popular),
    Source("topic", topics, cold_start_only=True),
    Source("model", model_retrieval, needs_model=True),
    Source("similar", content_similar, needs_model=True),
]


def propose(inp: SourceInput, sources: list[Source] = SOURCES) -> list[Proposal]:
    """What every source that applies to this viewer proposes."""
    out: list[Proposal] = []
    for source in sources:
        if source.cold_start_only and inp.ctx.has_history:
            continue
        if not source.needs_model:
            out += source.propose(inp)
            continue
        if inp.scorer is None:
            continue
        try:
            out += source.propose(inp)
        except Exception:
            log.exception("source %s failed", source.name)
    return out


def _candidate_rows():
    # A post's hashtags in the same read, one string each (hashtags are \w+: never a space).
    tags = (select(func.aggregate_strings(Hashtag.name, " ")).join(PostHashtag, PostHashtag.hashtag_id == Hashtag.id)
            .where(PostHashtag.post_id == Post.id).scalar_subquery())
    return (select(Post.id, Post.author_id, Post.kind, Post.created_at, Post.like_count, Post.comment_count,
                   Post.repost_count, tags)
            .join(Account, Account.id == Post.author_id)
            .where(in_ids(Post.id), visible_posts_clause(bindparam("viewer"))))


_CANDIDATE_ROWS = _candidate_rows()


def collect(session: Session, ctx: ViewerContext, proposals: Iterable[Proposal],
            now: datetime | None = None) -> list[Candidate]:
    """Merge proposals by post and load the posts the viewer may see (hidden authors, the viewer's
    own posts and recently seen posts are dropped; with ``now``, so are posts dated after it: a
    source without a clock, like model retrieval, must not show a post before it exists)."""
    by_post: dict[int, dict[str, object]] = {}
    for pid, source, detail in proposals:
        if pid in ctx.seen:
            continue
        by_post.setdefault(int(pid), {}).setdefault(source, detail)
    if not by_post:
        return []
    out = []
    for pid, author, kind, created, likes, comments, reposts, tags in session.execute(
            _CANDIDATE_ROWS, {"ids": id_list(by_post), "viewer": ctx.viewer_id}):
        if author in ctx.hidden_authors or author == ctx.viewer_id or (now is not None and created > now):
            continue
        out.append(Candidate(pid, author, kind, created, likes or 0, comments or 0, reposts or 0,
                             tuple(sorted(tags.split())) if tags else (), by_post[pid], author in ctx.following))
    out.sort(key=lambda c: c.post_id)  # deterministic order for everything downstream
    return out


def _latest_events():
    """The viewer's latest events of every kind, newest first, with each post's author (the columns
    ``EventRecord`` holds, then ``author_id``); built once, parameters ``viewer`` and ``n``."""
    return (select(Event.id, Event.ts, Event.actor_id, Event.action, Event.entity_type, Event.entity_id,
                   Event.surface, Event.position, Event.dwell_ms, Post.author_id)
            .outerjoin(Post, (Event.entity_type == "post") & (Post.id == Event.entity_id))
            .where(Event.actor_id == bindparam("viewer"))
            .order_by(desc(Event.ts), desc(Event.id)).limit(bindparam("n")))


_LATEST_EVENTS = _latest_events()
# Post events older than a given (ts, id), for a window that account events filled up in part.
_OLDER_POST_EVENTS = (_latest_events().where(Event.entity_type == "post", Post.id.is_not(None),
                                             (Event.ts < bindparam("ts"))
                                             | ((Event.ts == bindparam("ts")) & (Event.id < bindparam("id")))))
_FOLLOWED_TAGS = (select(Hashtag.name).join(HashtagFollow, HashtagFollow.hashtag_id == Hashtag.id)
                  .where(HashtagFollow.account_id == bindparam("viewer")))
ENGAGE_WEIGHTS = {"open": 0.5, "dwell": 0.3, "like": 1.0, "comment": 2.0, "share": 2.0, "repost": 2.0}


def viewer_context(session: Session, viewer_id: int, now: datetime, seen_window_h: float = 168.0,
                   history: int = 1000) -> ViewerContext:
    """Following, followers, hidden authors, affinities, show-less signals and recent impressions,
    from a few indexed reads: the viewer's last ``history`` post events (and the account events
    between them) are read once, and kept in ``ctx.events`` for the model too."""
    from townsquare.social.relations import follower_ids, following_ids, hidden_author_ids

    ctx = ViewerContext(viewer_id=viewer_id, following=following_ids(session, viewer_id),
                        hidden_authors=hidden_author_ids(session, viewer_id),
                        followers=follower_ids(session, viewer_id))
    seen_since = now - timedelta(hours=seen_window_h)
    engaged: dict[int, float] = defaultdict(float)
    hidden_posts = []
    # The rows themselves are the events (they have ``EventRecord``'s fields, and ``author_id``).
    ctx.events = session.execute(_LATEST_EVENTS, {"viewer": viewer_id, "n": history}).all()
    posts = sum(row[-1] is not None for row in ctx.events)  # post events (the last column: author)
    if len(ctx.events) == history and posts < history:  # account events took part of the window
        last = ctx.events[-1]
        ctx.events += session.execute(_OLDER_POST_EVENTS, {"viewer": viewer_id, "n": history - posts,
                                                           "ts": last.ts, "id": last.id}).all()
    for _, ts, _, action, _, pid, _, _, _, author in ctx.events:
        if author is None:  # not a post (the join matches post events only), or the post is gone
            continue
        if action == "impression":
            if ts >= seen_since:
                ctx.seen.add(pid)
        elif action in ENGAGE_WEIGHTS:
            ctx.author_affinity[author] = ctx.author_affinity.get(author, 0.0) + ENGAGE_WEIGHTS[action]
            engaged[pid] += ENGAGE_WEIGHTS[action]
        elif action in ("hide", "report"):
            ctx.show_less_authors.add(author)
            hidden_posts.append(pid)
    ctx.has_history = bool(engaged) or bool(ctx.following)
    ctx.followed_hashtags = set(session.scalars(_FOLLOWED_TAGS, {"viewer": viewer_id}))
    top_posts = sorted(engaged, key=lambda p: -engaged[p])[:200]
    if top_posts or hidden_posts:
        for pid, name in session.execute(_TAGS_OF_POSTS, {"ids": id_list(top_posts + hidden_posts)}):
            if pid in engaged:
                ctx.topic_affinity[name] = ctx.topic_affinity.get(name, 0.0) + engaged[pid]
            if pid in hidden_posts:
                ctx.show_less_topics.add(name)
    for name in ctx.followed_hashtags:
        ctx.topic_affinity[name] = ctx.topic_affinity.get(name, 0.0) + 3.0
    # Explicit "show less" preferences (social/preferences.py): hidden posts never come back.
    from townsquare.social.preferences import show_less

    prefs = show_less(session, viewer_id)
    ctx.seen |= prefs.get("post", set())
    ctx.show_less_authors |= prefs.get("account", set())
    if prefs.get("hashtag"):
        ctx.show_less_topics |= set(session.scalars(select(Hashtag.name).where(Hashtag.id.in_(prefs["hashtag"]))))
    # A topic you keep engaging with is not "show less" just because of one hidden post.
    ctx.show_less_topics = {t for t in ctx.show_less_topics if ctx.topic_affinity.get(t, 0) < 3}
    return ctx


def count_posts(session: Session) -> int:
    return session.scalar(select(func.count(Post.id))) or 0
