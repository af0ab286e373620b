"""Reactions (one per person per post) and reposts (once per person), on posts the actor can see.

``Post.like_count`` counts reactions of every kind; ``repost_count`` counts reposts. Counters
are changed with SQL increments so concurrent requests do not lose updates.
"""

from __future__ import annotations

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.errors import Conflict, InvalidInput, NotFound
from townsquare.social.events import log_event
from townsquare.social.models import Account, Post, Reaction, Repost
from townsquare.social.notifications import notify
from townsquare.social.posts import get_post

REACTION_KINDS = ("like", "love", "haha", "wow", "sad", "angry")


def _bump(session: Session, post: Post, column, delta: int) -> None:
    query = update(Post).where(Post.id == post.id)
    if delta < 0:
        query = query.where(column > 0)
    session.execute(query.values({column.key: column + delta}))
    session.refresh(post, [column.key])


def react(session: Session, actor: Account, post_id: int, kind: str = "like", *,
          surface: str | None = None) -> tuple[Reaction, bool]:
    """Set or replace the actor's reaction; returns ``(reaction, created)``. Same kind again -> Conflict."""
    if kind not in REACTION_KINDS:
        raise InvalidInput(f"reaction must be one of {', '.join(REACTION_KINDS)}", code="invalid_reaction")
    post = get_post(session, actor, post_id)
    existing = session.scalar(select(Reaction).where(Reaction.account_id == actor.id, Reaction.post_id == post.id))
    if existing is not None:
        if existing.kind == kind:
            raise Conflict(f"you already reacted with {kind}", code="already_reacted")
        existing.kind = kind
        session.flush()
        log_event(session, actor.id, "like", "post", post.id, surface=surface, context={"kind": kind, "replace": True})
        return existing, False
    reaction = Reaction(account_id=actor.id, post_id=post.id, kind=kind)
    try:
        with session.begin_nested():
            session.add(reaction)
            session.flush()
    except IntegrityError:
        raise Conflict("you already reacted to this post", code="already_reacted")
    _bump(session, post, Post.like_count, +1)
    notify(session, post.author_id, "like", actor_id=actor.id, post_id=post.id)
    log_event(session, actor.id, "like", "post", post.id, surface=surface, context={"kind": kind})
    return reaction, True


def unreact(session: Session, actor: Account, post_id: int, *, surface: str | None = None) -> None:
    post = get_post(session, actor, post_id)
    result = session.execute(delete(Reaction).where(Reaction.account_id == actor.id, Reaction.post_id == post.id))
    if result.rowcount == 0:
        raise NotFound("you have not reacted to this post")
    _bump(session, post, Post.like_count, -1)
    log_event(session, actor.id, "unlike", "post", post.id, surface=surface)


def repost(session: Session, actor: Account, post_id: int, *, surface: str | None = None) -> Repost:
    post = get_post(session, actor, post_id)
    if post.visibility != "public":
        raise InvalidInput("only public posts can be reposted", code="not_repostable")
    if session.scalar(select(Repost.id).where(Repost.account_id == actor.id, Repost.post_id == post.id)):
        raise Conflict("you already reposted this post", code="already_reposted")
    row = Repost(account_id=actor.id, post_id=post.id)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict("you already reposted this post", code="already_reposted")
    _bump(session, post, Post.repost_count, +1)
    notify(session, post.author_id, "repost", actor_id=actor.id, post_id=post.id)
    log_event(session, actor.id, "repost", "post", post.id, surface=surface)
    return row


def unrepost(session: Session, actor: Account, post_id: int) -> None:
    post = get_post(session, actor, post_id)
    result = session.execute(delete(Repost).where(Repost.account_id == actor.id, Repost.post_id == post.id))
    if result.rowcount == 0:
        raise NotFound("you have not reposted this post")
    _bump(session, post, Post.repost_count, -1)
