"""Relationship queries that every service needs: following, blocking, muting.

These are read-only helpers; the rules for changing relationships live in ``graph.py``.
"""

from __future__ import annotations

from sqlalchemy import select, union_all
from sqlalchemy.orm import Session

from townsquare.social.blocks import blocked_either_way
from townsquare.social.models import Block, Follow, Mute


def is_following(session: Session, follower_id: int, followee_id: int) -> bool:
    return session.get(Follow, (follower_id, followee_id)) is not None


def is_blocked_either_way(session: Session, a_id: int, b_id: int) -> bool:
    return blocked_either_way(session, a_id, b_id)  # the block rule lives in blocks.py


def following_ids(session: Session, account_id: int) -> set[int]:
    return set(session.scalars(select(Follow.followee_id).where(Follow.follower_id == account_id)))


def follower_ids(session: Session, account_id: int) -> set[int]:
    return set(session.scalars(select(Follow.follower_id).where(Follow.followee_id == account_id)))


def hidden_author_ids(session: Session, viewer_id: int) -> set[int]:
    """Accounts whose content the viewer must not see: blocked either way, or muted by the viewer."""
    return set(session.scalars(union_all(  # one round trip: every feed page asks
        select(Block.blocked_id).where(Block.blocker_id == viewer_id),
        select(Block.blocker_id).where(Block.blocked_id == viewer_id),
        select(Mute.muted_id).where(Mute.muter_id == viewer_id),
    )))


def blocked_either_way_ids(session: Session, viewer_id: int) -> set[int]:
    blocked = session.scalars(select(Block.blocked_id).where(Block.blocker_id == viewer_id))
    blocked_by = session.scalars(select(Block.blocker_id).where(Block.blocked_id == viewer_id))
    return set(blocked) | set(blocked_by)
