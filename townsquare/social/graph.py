"""The social graph: follows (with requests for private accounts), blocks and mutes.

Rules:
- Following a public account follows it now; following a private one sends a follow request that
  only the target can accept or reject.
- You cannot follow yourself, follow twice, or follow across a block (either direction).
- Blocking removes follows both ways and pending requests both ways; muting only hides content.
- ``follower_count`` / ``following_count`` on accounts move with every follow row created or removed,
  by SQL increments (no read-modify-write race).
- A private account's follower/following lists are visible to itself and its followers only.

Events: ``follow`` and ``unfollow`` (context ``{"requested": true}`` for a request to a private account
and its withdrawal),
and ``hide`` on an account for blocks and mutes (negative feedback for the model; context says which).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound
from townsquare.social.blocks import either_way_clause, require_no_block, require_visible
from townsquare.social.events import log_event
from townsquare.social.models import Account, Block, Follow, FollowRequest, Mute
from townsquare.social.notifications import notify
from townsquare.social.paging import DEFAULT_LIMIT, Page, keyset_page
from townsquare.social.relations import is_blocked_either_way, is_following


@dataclass
class Relationship:
    id: int  # the other account
    following: bool
    followed_by: bool
    requested: bool  # I asked to follow them and they have not answered
    requested_by: bool  # they asked to follow me
    blocking: bool
    blocked_by: bool
    muting: bool


@dataclass
class FollowEntry:
    """An account in a followers/following/requests/blocks/mutes list, with when the row was made."""

    account: Account
    since: datetime


def get_account(session: Session, account_id: int, *, active_only: bool = True) -> Account:
    account = session.get(Account, account_id)
    if account is None or account.status == "deleted" or (active_only and account.status != "active"):
        raise NotFound("no such account")
    return account


def insert_or_conflict(session: Session, row, message: str) -> None:
    """Insert ``row`` in a savepoint; a unique-key clash (a concurrent duplicate) is a 409, not a 500."""
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise Conflict(message)


def _add_follow(session: Session, follower: Account, followee: Account) -> None:
    insert_or_conflict(session, Follow(follower_id=follower.id, followee_id=followee.id),
                       "you already follow this account")
    follower.following_count = Account.following_count + 1
    followee.follower_count = Account.follower_count + 1
    session.flush()


def _remove_follow(session: Session, follower_id: int, followee_id: int) -> bool:
    gone = session.execute(
        delete(Follow).where(Follow.follower_id == follower_id, Follow.followee_id == followee_id)
    ).rowcount
    if gone:
        for account_id, column in ((follower_id, "following_count"), (followee_id, "follower_count")):
            account = session.get(Account, account_id)
            if account is not None:
                setattr(account, column, getattr(Account, column) - 1)
        session.flush()
    return bool(gone)


def follow(session: Session, actor: Account, target_id: int) -> str:
    """Follow ``target_id``; returns ``"following"`` or ``"requested"`` (private account)."""
    if target_id == actor.id:
        raise InvalidInput("you cannot follow yourself")
    target = get_account(session, target_id)
    require_no_block(session, actor, target, "follow them")
    if is_following(session, actor.id, target.id):
        raise Conflict("you already follow this account")
    if session.get(FollowRequest, (actor.id, target.id)) is not None:
        raise Conflict("you already asked to follow this account")
    if target.is_private:
        insert_or_conflict(session, FollowRequest(requester_id=actor.id, target_id=target.id),
                           "you already asked to follow this account")
        notify(session, target.id, "follow_request", actor_id=actor.id)
        log_event(session, actor.id, "follow", "account", target.id, context={"requested": True})
        return "requested"
    _add_follow(session, actor, target)
    notify(session, target.id, "follow", actor_id=actor.id)
    log_event(session, actor.id, "follow", "account", target.id)
    return "following"


def unfollow(session: Session, actor: Account, target_id: int) -> str:
    """Stop following (or withdraw a pending request). Returns ``"unfollowed"`` or ``"withdrawn"``."""
    if _remove_follow(session, actor.id, target_id):
        log_event(session, actor.id, "unfollow", "account", target_id)
        return "unfollowed"
    withdrawn = session.execute(
        delete(FollowRequest).where(FollowRequest.requester_id == actor.id, FollowRequest.target_id == target_id)
    ).rowcount
    if withdrawn:
        log_event(session, actor.id, "unfollow", "account", target_id, context={"requested": True})
        return "withdrawn"
    raise NotFound("you do not follow this account")


def list_follow_requests(session: Session, actor: Account, *, cursor: str | None = None,
                         limit: int = DEFAULT_LIMIT) -> Page[FollowEntry]:
    """Pending requests to follow ``actor``, newest first."""
    stmt = (
        select(Account, FollowRequest.created_at)
        .join(FollowRequest, FollowRequest.requester_id == Account.id)
        .where(FollowRequest.target_id == actor.id, Account.status == "active")
    )
    page = keyset_page(session, stmt, keys=[FollowRequest.created_at, FollowRequest.requester_id],
                       key_of=lambda row: (row[1], row[0].id), cursor=cursor, limit=limit, scalars=False)
    return Page([FollowEntry(row[0], row[1]) for row in page.items], page.next_cursor)


def pending_request_count(session: Session, actor: Account) -> int:
    """How many follow requests wait for ``actor`` (from active accounts), for a badge."""
    return int(session.scalar(
        select(func.count()).select_from(FollowRequest).join(Account, Account.id == FollowRequest.requester_id)
        .where(FollowRequest.target_id == actor.id, Account.status == "active")
    ) or 0)


def accept_follow_request(session: Session, actor: Account, requester_id: int) -> None:
    request = session.get(FollowRequest, (requester_id, actor.id))
    if request is None:
        raise NotFound("no follow request from this account")
    session.delete(request)
    requester = get_account(session, requester_id)
    if not is_following(session, requester.id, actor.id):
        _add_follow(session, requester, actor)
    notify(session, requester.id, "follow_accepted", actor_id=actor.id)


def accept_all_follow_requests(session: Session, actor: Account) -> int:
    """Accept every pending request (for when a private account goes public); returns how many."""
    requester_ids = list(session.scalars(select(FollowRequest.requester_id).where(FollowRequest.target_id == actor.id)))
    accepted = 0
    for requester_id in requester_ids:
        requester = session.get(Account, requester_id)
        if requester is None or requester.status != "active":
            continue  # suspended requesters keep waiting, as in the list
        accept_follow_request(session, actor, requester_id)
        accepted += 1
    return accepted


def reject_follow_request(session: Session, actor: Account, requester_id: int) -> None:
    request = session.get(FollowRequest, (requester_id, actor.id))
    if request is None:
        raise NotFound("no follow request from this account")
    session.delete(request)
    session.flush()


def remove_follower(session: Session, actor: Account, follower_id: int) -> None:
    """Make ``follower_id`` stop following ``actor`` (the soft block)."""
    if not _remove_follow(session, follower_id, actor.id):
        raise NotFound("this account does not follow you")


def can_list_connections(session: Session, viewer: Account | None, owner: Account) -> bool:
    """Whether ``viewer`` may list ``owner``'s followers and following (the rule of ``_check_can_see_lists``).

    Anything else that reveals a follow (people-you-may-know's "friends in common", ...) must ask this."""
    try:
        _check_can_see_lists(session, viewer, owner)
    except (Forbidden, NotFound):
        return False
    return True


def _check_can_see_lists(session: Session, viewer: Account | None, owner: Account) -> None:
    if viewer is not None and viewer.id == owner.id:
        return
    require_visible(session, viewer, owner)  # the block rule: an account that blocks you is not there
    if viewer is not None and is_blocked_either_way(session, viewer.id, owner.id):
        raise Forbidden("you cannot see this account's connections")
    if owner.is_private and (viewer is None or not is_following(session, viewer.id, owner.id)):
        raise Forbidden("this account is private: only its followers see its connections")


def _follow_list(session: Session, viewer: Account | None, owner_id: int, *, followers: bool,
                 cursor: str | None, limit: int) -> Page[FollowEntry]:
    owner = get_account(session, owner_id)
    _check_can_see_lists(session, viewer, owner)
    mine, other = (Follow.followee_id, Follow.follower_id) if followers else (Follow.follower_id, Follow.followee_id)
    stmt = (
        select(Account, Follow.created_at)
        .join(Follow, other == Account.id)
        .where(mine == owner.id, Account.status == "active")
    )
    if viewer is not None:  # people who block the viewer (or whom the viewer blocks) are left out
        stmt = stmt.where(~either_way_clause(viewer.id, Account.id))
    page = keyset_page(session, stmt, keys=[Follow.created_at, other], key_of=lambda row: (row[1], row[0].id),
                       cursor=cursor, limit=limit, scalars=False)
    return Page([FollowEntry(row[0], row[1]) for row in page.items], page.next_cursor)


def list_followers(session: Session, viewer: Account | None, account_id: int, *, cursor: str | None = None,
                   limit: int = DEFAULT_LIMIT) -> Page[FollowEntry]:
    return _follow_list(session, viewer, account_id, followers=True, cursor=cursor, limit=limit)


def list_following(session: Session, viewer: Account | None, account_id: int, *, cursor: str | None = None,
                   limit: int = DEFAULT_LIMIT) -> Page[FollowEntry]:
    return _follow_list(session, viewer, account_id, followers=False, cursor=cursor, limit=limit)


def block(session: Session, actor: Account, target_id: int) -> None:
    if target_id == actor.id:
        raise InvalidInput("you cannot block yourself")
    target = get_account(session, target_id, active_only=False)
    if session.get(Block, (actor.id, target.id)) is not None:
        raise Conflict("you already block this account")
    insert_or_conflict(session, Block(blocker_id=actor.id, blocked_id=target.id), "you already block this account")
    _remove_follow(session, actor.id, target.id)
    _remove_follow(session, target.id, actor.id)
    session.execute(delete(FollowRequest).where(or_(
        and_(FollowRequest.requester_id == actor.id, FollowRequest.target_id == target.id),
        and_(FollowRequest.requester_id == target.id, FollowRequest.target_id == actor.id),
    )))
    session.flush()
    log_event(session, actor.id, "hide", "account", target.id, context={"kind": "block"})


def unblock(session: Session, actor: Account, target_id: int) -> None:
    row = session.get(Block, (actor.id, target_id))
    if row is None:
        raise NotFound("you do not block this account")
    session.delete(row)
    session.flush()


def mute(session: Session, actor: Account, target_id: int) -> None:
    if target_id == actor.id:
        raise InvalidInput("you cannot mute yourself")
    target = get_account(session, target_id, active_only=False)
    if session.get(Mute, (actor.id, target.id)) is not None:
        raise Conflict("you already mute this account")
    insert_or_conflict(session, Mute(muter_id=actor.id, muted_id=target.id), "you already mute this account")
    log_event(session, actor.id, "hide", "account", target.id, context={"kind": "mute"})


def unmute(session: Session, actor: Account, target_id: int) -> None:
    row = session.get(Mute, (actor.id, target_id))
    if row is None:
        raise NotFound("you do not mute this account")
    session.delete(row)
    session.flush()


def _own_list(session: Session, actor: Account, model, mine, other, *, cursor: str | None,
              limit: int) -> Page[FollowEntry]:
    stmt = select(Account, model.created_at).join(model, other == Account.id).where(mine == actor.id)
    page = keyset_page(session, stmt, keys=[model.created_at, other], key_of=lambda row: (row[1], row[0].id),
                       cursor=cursor, limit=limit, scalars=False)
    return Page([FollowEntry(row[0], row[1]) for row in page.items], page.next_cursor)


def list_blocks(session: Session, actor: Account, *, cursor: str | None = None,
                limit: int = DEFAULT_LIMIT) -> Page[FollowEntry]:
    return _own_list(session, actor, Block, Block.blocker_id, Block.blocked_id, cursor=cursor, limit=limit)


def list_mutes(session: Session, actor: Account, *, cursor: str | None = None,
               limit: int = DEFAULT_LIMIT) -> Page[FollowEntry]:
    return _own_list(session, actor, Mute, Mute.muter_id, Mute.muted_id, cursor=cursor, limit=limit)


MAX_RELATIONSHIPS = 100


def relationships(session: Session, viewer: Account, other_ids: list[int]) -> list[Relationship]:
    """How ``viewer`` relates to each account (unknown or deleted ones are left out), in a few queries."""
    ids = list(dict.fromkeys(other_ids))
    if len(ids) > MAX_RELATIONSHIPS:
        raise InvalidInput(f"ask for at most {MAX_RELATIONSHIPS} accounts at once")
    if not ids:
        return []
    known = set(session.scalars(select(Account.id).where(Account.id.in_(ids), Account.status != "deleted")))

    def pairs(column_mine, column_other) -> set[int]:
        return set(session.scalars(select(column_other).where(column_mine == viewer.id, column_other.in_(ids))))

    def reverse(column_mine, column_other) -> set[int]:
        return set(session.scalars(select(column_mine).where(column_other == viewer.id, column_mine.in_(ids))))

    following = pairs(Follow.follower_id, Follow.followee_id)
    followed_by = reverse(Follow.follower_id, Follow.followee_id)
    requested = pairs(FollowRequest.requester_id, FollowRequest.target_id)
    requested_by = reverse(FollowRequest.requester_id, FollowRequest.target_id)
    blocking = pairs(Block.blocker_id, Block.blocked_id)
    blocked_by = reverse(Block.blocker_id, Block.blocked_id)
    muting = pairs(Mute.muter_id, Mute.muted_id)
    return [
        Relationship(id=i, following=i in following, followed_by=i in followed_by, requested=i in requested,
                     requested_by=i in requested_by, blocking=i in blocking, blocked_by=i in blocked_by,
                     muting=i in muting)
        for i in ids if i in known
    ]


def relationship(session: Session, viewer: Account, other_id: int) -> Relationship:
    found = relationships(session, viewer, [other_id])
    if not found:
        raise NotFound("no such account")
    return found[0]
