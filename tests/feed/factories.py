"""Small builders for feed tests (direct rows: the feed reads storage, it does not need the
social services to write them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

from townsquare.social.models import (
    Account,
    Block,
    Event,
    Follow,
    FollowRequest,
    Hashtag,
    HashtagFollow,
    Mute,
    Post,
    PostHashtag,
    Reaction,
)

NOW = datetime.now(UTC).replace(microsecond=0)  # real time: the API path uses the real clock
_n = count(1)


def account(s, handle=None, **kw) -> Account:
    a = Account(handle=handle or f"user{next(_n)}", display_name=kw.pop("display_name", ""), **kw)
    s.add(a)
    s.flush()
    return a


def post(s, author, *, hours_ago=1.0, kind="text", text="hello", visibility="public", likes=0, tags=(),
         **kw) -> Post:
    p = Post(author_id=author.id, kind=kind, text=text, visibility=visibility,
             created_at=NOW - timedelta(hours=hours_ago), like_count=likes, **kw)
    s.add(p)
    s.flush()
    for t in tags:
        h = s.query(Hashtag).filter_by(name=t).one_or_none()
        if h is None:
            h = Hashtag(name=t)
            s.add(h)
            s.flush()
        s.add(PostHashtag(post_id=p.id, hashtag_id=h.id))
    s.flush()
    return p


def follow(s, a, b) -> None:
    s.add(Follow(follower_id=a.id, followee_id=b.id, created_at=NOW - timedelta(days=10)))
    a.following_count += 1
    b.follower_count += 1
    s.flush()


def block(s, a, b) -> None:
    s.add(Block(blocker_id=a.id, blocked_id=b.id))
    s.flush()


def mute(s, a, b) -> None:
    s.add(Mute(muter_id=a.id, muted_id=b.id))
    s.flush()


def request_follow(s, a, b) -> None:
    s.add(FollowRequest(requester_id=a.id, target_id=b.id))
    s.flush()


def like(s, who, p, hours_ago=1.0) -> None:
    s.add(Reaction(account_id=who.id, post_id=p.id, created_at=NOW - timedelta(hours=hours_ago)))
    p.like_count += 1
    s.flush()


def event(s, who, action, p, hours_ago=1.0) -> None:
    s.add(Event(actor_id=who.id, action=action, entity_type="post", entity_id=p.id,
                ts=NOW - timedelta(hours=hours_ago)))
    s.flush()


def follow_hashtag(s, who, name) -> None:
    h = s.query(Hashtag).filter_by(name=name).one_or_none()
    if h is None:
        h = Hashtag(name=name)
        s.add(h)
        s.flush()
    s.add(HashtagFollow(account_id=who.id, hashtag_id=h.id))
    s.flush()
