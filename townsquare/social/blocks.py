"""The block rule: one rule for every surface, and the only place that decides it.

When A blocks B:

1. **For B, A does not exist.** Whatever B addresses to A answers exactly as an unknown account
   would: 404 (``NotFound``). That covers A's profile (API and page), A's followers/following
   lists, A's posts, comments and creator AIs (chat through ``/v1``, the API and the pages, and
   the ``/v1/models`` listing), a conversation with A, the message compose page, a follow, a
   message, a report against A.
2. **A still finds B's bare profile** (so that A can unblock), but none of B's content; what A
   tries to do to B (follow, message, chat with B's AI, ...) is refused with 403
   (``Forbidden``: "you block this account").
3. **Content is hidden both ways**: posts, comments, reposts, creator AIs, notifications,
   search results and suggestions between A and B never reach the other side (the SQL form is
   ``either_way_clause``; ``visibility.visible_posts_clause`` uses the same rule for posts).

The one place where B learns of the block is ``relationship.blocked_by`` on the relationship
endpoint (as in Mastodon's API), so that a client can explain why nothing works.
"""

from __future__ import annotations

from sqlalchemy import and_, exists, or_, select
from sqlalchemy.orm import Session

from townsquare.errors import Forbidden, NotFound
from townsquare.social.models import Account, Block


def blocks(session: Session, blocker_id: int, blocked_id: int) -> bool:
    """True when ``blocker_id`` blocks ``blocked_id`` (one direction)."""
    return session.get(Block, (blocker_id, blocked_id)) is not None


def blocked_either_way(session: Session, a_id: int, b_id: int) -> bool:
    return bool(session.scalar(select(exists().where(or_(
        and_(Block.blocker_id == a_id, Block.blocked_id == b_id),
        and_(Block.blocker_id == b_id, Block.blocked_id == a_id),
    )))))


def either_way_clause(viewer_id: int, account_col):
    """SQL: a block stands between ``viewer_id`` and the account in ``account_col`` (either direction)."""
    return exists().where(or_(
        and_(Block.blocker_id == viewer_id, Block.blocked_id == account_col),
        and_(Block.blocker_id == account_col, Block.blocked_id == viewer_id),
    ))


def blocked_by_clause(viewer_id: int, account_col):
    """SQL: the account in ``account_col`` blocks ``viewer_id`` (so it does not exist for the viewer)."""
    return exists().where(Block.blocker_id == account_col, Block.blocked_id == viewer_id)


def hidden_from(session: Session, viewer: Account | None, account: Account) -> bool:
    """Rule 1: ``account`` blocks ``viewer``, so for the viewer it does not exist."""
    return viewer is not None and viewer.id != account.id and blocks(session, account.id, viewer.id)


def require_visible(session: Session, viewer: Account | None, account: Account) -> Account:
    """The account as the viewer may address it: NotFound when it blocks the viewer (rule 1)."""
    if hidden_from(session, viewer, account):
        raise NotFound("no such account")
    return account


def require_content_visible(session: Session, viewer: Account | None, owner: Account, what: str = "content") -> None:
    """Rule 3 for one owner's content (an AI, a post): NotFound across a block in either direction."""
    if viewer is not None and viewer.id != owner.id and blocked_either_way(session, viewer.id, owner.id):
        raise NotFound(f"no such {what}")


def require_no_block(session: Session, actor: Account, other: Account, doing: str = "do this") -> None:
    """Rules 1 and 2 for an action of ``actor`` towards ``other``: NotFound when ``other`` blocks the
    actor, Forbidden when the actor blocks ``other``."""
    if actor.id == other.id:
        return
    require_visible(session, actor, other)
    if blocks(session, actor.id, other.id):
        raise Forbidden(f"you block @{other.handle}: unblock them to {doing}", code="blocking")
