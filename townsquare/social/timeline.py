"""The chronological home timeline: posts by the people you follow and by you, plus their reposts.

Newest first. Each entry has a sort key ``(ts, source, id)``: ``source`` 0 for a post (id = post
id, ts = its creation) and 1 for a repost (id = repost id, ts = when it was reposted). Pages are
keyset-paginated on that key, so they stay stable when new posts arrive between two requests.
Blocked and muted authors (and reposters), suspended accounts, and posts the person hid are
left out; every post passes the visibility rule. This is the "chronological" candidate source;
the ranked feed lives in ``townsquare/feed``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select, union
from sqlalchemy.orm import Session, aliased

from townsquare.social.models import Account, Block, Follow, Mute, Post, Repost, ShowLess
from townsquare.social.visibility import visible_posts_clause

POST, REPOST = 0, 1


@dataclass(frozen=True)
class TimelineEntry:
    post: Post
    ts: datetime
    source: int  # POST or REPOST
    entry_id: int  # post id or repost id
    reposted_by: Account | None = None

    @property
    def key(self) -> tuple[datetime, int, int]:
        return (self.ts, self.source, self.entry_id)


def _after_key(ts_col, id_col, source: int, key: tuple[datetime, int, int] | None):
    """Rows of ``source`` strictly after ``key`` in (ts desc, source desc, id desc) order."""
    if key is None:
        return None
    ts, key_source, key_id = key
    if source < key_source:
        return ts_col <= ts
    if source > key_source:
        return ts_col < ts
    return or_(ts_col < ts, and_(ts_col == ts, id_col < key_id))


def _hidden_authors(viewer_id: int):
    """Blocked either way or muted by the viewer, as a sub-query (same rule as relations.hidden_author_ids)."""
    return union(
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
        select(Mute.muted_id).where(Mute.muter_id == viewer_id),
    )


def home_timeline(session: Session, viewer: Account, *, before: tuple[datetime, int, int] | None = None,
                  limit: int = 20, exclude_post_ids: set[int] | None = None) -> list[TimelineEntry]:
    """Up to ``limit`` entries after ``before`` (pass ``limit + 1`` to learn whether more exist)."""
    # Hidden authors and hidden posts are sub-queries, not extra round trips.
    hidden_ids = _hidden_authors(viewer.id)
    if exclude_post_ids is None:
        exclude_sq = select(ShowLess.target_id).where(ShowLess.account_id == viewer.id,
                                                      ShowLess.target_type == "post")
    else:
        exclude_sq = list(exclude_post_ids)
    followed = select(Follow.followee_id).where(Follow.follower_id == viewer.id)
    visible = visible_posts_clause(viewer.id)

    posts_q = (select(Post).join(Post.author).where(visible)
               .where(or_(Post.author_id == viewer.id, Post.author_id.in_(followed))))
    posts_q = posts_q.where(Post.author_id.not_in(hidden_ids), Post.id.not_in(exclude_sq))
    condition = _after_key(Post.created_at, Post.id, POST, before)
    if condition is not None:
        posts_q = posts_q.where(condition)
    posts_q = posts_q.order_by(Post.created_at.desc(), Post.id.desc())

    reposter = aliased(Account)
    reposts_q = (select(Repost, Post, reposter)
                 .join(Post, Post.id == Repost.post_id).join(Post.author)
                 .join(reposter, reposter.id == Repost.account_id)
                 .where(Repost.account_id.in_(followed), reposter.status == "active", visible))
    reposts_q = reposts_q.where(Post.author_id.not_in(hidden_ids), Repost.account_id.not_in(hidden_ids),
                                Post.id.not_in(exclude_sq))
    condition = _after_key(Repost.created_at, Repost.id, REPOST, before)
    if condition is not None:
        reposts_q = reposts_q.where(condition)
    reposts_q = reposts_q.order_by(Repost.created_at.desc(), Repost.id.desc())

    # A post appears once per page (its newest entry wins), so duplicates may leave a page short:
    # fetch more until the page is full or both sources are exhausted.
    fetch = limit
    for _ in range(6):
        posts = session.scalars(posts_q.limit(fetch)).unique().all()
        reposts = session.execute(reposts_q.limit(fetch)).unique().all()
        entries = [TimelineEntry(p, p.created_at, POST, p.id) for p in posts]
        entries += [TimelineEntry(post, r.created_at, REPOST, r.id, who) for r, post, who in reposts]
        entries.sort(key=lambda e: e.key, reverse=True)
        exhausted = len(posts) < fetch and len(reposts) < fetch
        if not exhausted:
            entries = entries[:fetch]  # beyond this, one source may have been cut short
        seen: set[int] = set()
        unique = []
        for entry in entries:
            if entry.post.id not in seen:
                seen.add(entry.post.id)
                unique.append(entry)
        if len(unique) >= limit or exhausted:
            break
        fetch *= 2
    return unique[:limit]
