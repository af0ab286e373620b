"""Native API: follows, follow requests, followers/following lists, blocks, mutes, relationships."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import parse_id, render_account
from townsquare.api.shapes import (
    ConnectionOut,
    CountOut,
    RelationshipChangeOut,
    RelationshipOut,
    RelationshipsOut,
    render_page,
)
from townsquare.server.deps import current_account, get_session, optional_account
from townsquare.social import graph
from townsquare.social.models import Account

router = APIRouter(prefix="/api", tags=["graph"])


def _entry(entry: graph.FollowEntry) -> dict:
    return {"account": render_account(entry.account), "since": entry.since}


def _relationship(session: Session, me: Account, other_id: int) -> dict:
    rel = asdict(graph.relationship(session, me, other_id))
    rel["id"] = str(rel["id"])
    return rel


@router.get("/accounts/{account_id}/relationship", response_model=RelationshipOut)
def get_relationship(account_id: str, me: Account = Depends(current_account),
                     session: Session = Depends(get_session)) -> dict:
    """How I relate to this account: following, followed_by, requested, blocking, muting..."""
    return _relationship(session, me, parse_id(account_id, what="account"))


@router.get("/relationships", response_model=RelationshipsOut)
def get_relationships(id: list[str] = Query(..., max_length=graph.MAX_RELATIONSHIPS),
                      me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    """Relationships with many accounts at once: ``?id=1&id=2``; unknown ids are left out."""
    ids = [parse_id(i, what="account", in_body=True) for i in id]
    rels = [asdict(r) | {"id": str(r.id)} for r in graph.relationships(session, me, ids)]
    return {"items": rels}


@router.post("/accounts/{account_id}/follow", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def follow(account_id: str, me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    """Follow now (public account) or send a follow request (private account)."""
    target_id = parse_id(account_id, what="account")
    state = graph.follow(session, me, target_id)
    return {"state": state, "relationship": _relationship(session, me, target_id)}


@router.delete("/accounts/{account_id}/follow", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def unfollow(account_id: str, me: Account = Depends(current_account),
             session: Session = Depends(get_session)) -> dict:
    """Unfollow, or withdraw a pending follow request."""
    target_id = parse_id(account_id, what="account")
    state = graph.unfollow(session, me, target_id)
    return {"state": state, "relationship": _relationship(session, me, target_id)}


@router.get("/accounts/{account_id}/followers", response_model=Page[ConnectionOut])
def followers(account_id: str, page: PageQuery = Depends(page_query), me: Account | None = Depends(optional_account),
              session: Session = Depends(get_session)) -> dict:
    result = graph.list_followers(session, me, parse_id(account_id, what="account"), cursor=page.cursor, limit=page.limit)
    return render_page(result, _entry)


@router.get("/accounts/{account_id}/following", response_model=Page[ConnectionOut])
def following(account_id: str, page: PageQuery = Depends(page_query), me: Account | None = Depends(optional_account),
              session: Session = Depends(get_session)) -> dict:
    result = graph.list_following(session, me, parse_id(account_id, what="account"), cursor=page.cursor, limit=page.limit)
    return render_page(result, _entry)


@router.delete("/followers/{account_id}", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def remove_follower(account_id: str, me: Account = Depends(current_account),
                    session: Session = Depends(get_session)) -> dict:
    """Make this account stop following me."""
    follower_id = parse_id(account_id, what="account")
    graph.remove_follower(session, me, follower_id)
    return {"removed": True, "relationship": _relationship(session, me, follower_id)}


@router.get("/follow_requests", response_model=Page[ConnectionOut])
def follow_requests(page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
                    session: Session = Depends(get_session)) -> dict:
    """People waiting for me to accept their follow request, newest first."""
    return render_page(graph.list_follow_requests(session, me, cursor=page.cursor, limit=page.limit), _entry)


@router.get("/follow_requests/count", response_model=CountOut)
def follow_request_count(me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    return {"count": graph.pending_request_count(session, me)}


@router.post("/follow_requests/{account_id}/accept", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def accept_request(account_id: str, me: Account = Depends(current_account),
                   session: Session = Depends(get_session)) -> dict:
    requester_id = parse_id(account_id, what="follow request")
    graph.accept_follow_request(session, me, requester_id)
    return {"accepted": True, "relationship": _relationship(session, me, requester_id)}


@router.post("/follow_requests/{account_id}/reject", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def reject_request(account_id: str, me: Account = Depends(current_account),
                   session: Session = Depends(get_session)) -> dict:
    requester_id = parse_id(account_id, what="follow request")
    graph.reject_follow_request(session, me, requester_id)
    return {"rejected": True, "relationship": _relationship(session, me, requester_id)}


@router.post("/accounts/{account_id}/block", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def block(account_id: str, me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    """Block: removes follows both ways and pending requests; neither side sees the other's content."""
    target_id = parse_id(account_id, what="account")
    graph.block(session, me, target_id)
    return {"relationship": _relationship(session, me, target_id)}


@router.delete("/accounts/{account_id}/block", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def unblock(account_id: str, me: Account = Depends(current_account),
            session: Session = Depends(get_session)) -> dict:
    target_id = parse_id(account_id, what="account")
    graph.unblock(session, me, target_id)
    return {"relationship": _relationship(session, me, target_id)}


@router.post("/accounts/{account_id}/mute", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def mute(account_id: str, me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    """Mute: their posts leave my feeds and search; they are not told."""
    target_id = parse_id(account_id, what="account")
    graph.mute(session, me, target_id)
    return {"relationship": _relationship(session, me, target_id)}


@router.delete("/accounts/{account_id}/mute", response_model=RelationshipChangeOut, response_model_exclude_none=True)
def unmute(account_id: str, me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    target_id = parse_id(account_id, what="account")
    graph.unmute(session, me, target_id)
    return {"relationship": _relationship(session, me, target_id)}


@router.get("/blocks", response_model=Page[ConnectionOut])
def blocks(page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
           session: Session = Depends(get_session)) -> dict:
    return render_page(graph.list_blocks(session, me, cursor=page.cursor, limit=page.limit), _entry)


@router.get("/mutes", response_model=Page[ConnectionOut])
def mutes(page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
          session: Session = Depends(get_session)) -> dict:
    return render_page(graph.list_mutes(session, me, cursor=page.cursor, limit=page.limit), _entry)
