"""Feed and people-you-may-know endpoints (thin: parse, call ``townsquare.feed``, render)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput
from townsquare.feed import pymk
from townsquare.feed.service import FeedItem, FeedPage, FeedService
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account, Post

router = APIRouter(prefix="/api", tags=["feed"])


def feed_service(request: Request) -> FeedService:
    """The app's feed service (it holds the model and the ranked-feed cache)."""
    return request.app.state.services.feed


def _iso(dt) -> str | None:
    return dt.isoformat().replace("+00:00", "Z") if dt is not None else None


def render_account(a: Account) -> dict:
    return {"id": str(a.id), "handle": a.handle, "display_name": a.display_name, "is_bot": a.is_bot,
            "is_private": a.is_private, "follower_count": a.follower_count}


def render_post(p: Post) -> dict:
    return {
        "id": str(p.id), "author": render_account(p.author), "kind": p.kind, "text": p.text,
        "link_url": p.link_url, "link_title": p.link_title, "visibility": p.visibility,
        "created_at": _iso(p.created_at), "like_count": p.like_count, "comment_count": p.comment_count,
        "repost_count": p.repost_count,
        "media": [{"id": str(m.media_id), "kind": m.item.kind, "mime_type": m.item.mime_type,
                   "description": m.item.description} for m in p.media],
    }


def render_item(item: FeedItem) -> dict:
    return {"post": render_post(item.post), "position": item.position, "reasons": item.reasons,
            "predicted_actions": item.top_actions, "sources": item.sources, "in_network": item.in_network,
            "value": item.value}


def render_page(page: FeedPage) -> dict:
    return {"items": [render_item(i) for i in page.items], "next_cursor": page.next_cursor, "mode": page.mode,
            "ranked_by": page.ranked_by, "model_ranked": page.ranked_by == "model",
            "restarted": page.restarted, "dropped": page.dropped}


@router.get("/feed")
def get_feed(request: Request, cursor: str | None = None, limit: int = Query(30, ge=1, le=50),
             session: Session = Depends(get_session), account: Account = Depends(current_account)) -> dict:
    """Your home feed: ranked by the unified model (or heuristics when none is trained), each item
    with the reasons it is there. Follow ``next_cursor`` for the next page."""
    return render_page(feed_service(request).page(session, account, cursor, limit))


class FeedSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: str | None = None
    discovery: float | None = None
    kind_weights: dict[str, float] | None = None


@router.get("/feed/settings")
def get_feed_settings(request: Request, session: Session = Depends(get_session),
                      account: Account = Depends(current_account)) -> dict:
    return feed_service(request).get_settings(session, account)


@router.put("/feed/settings")
def put_feed_settings(body: FeedSettingsIn, request: Request, session: Session = Depends(get_session),
                      account: Account = Depends(current_account)) -> dict:
    return feed_service(request).update_settings(session, account, body.model_dump(exclude_none=True))


class ShowLessIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    post_id: str


@router.post("/feed/show-less")
def show_less(body: ShowLessIn, request: Request, session: Session = Depends(get_session),
              account: Account = Depends(current_account)) -> dict:
    try:
        post_id = int(body.post_id)
    except ValueError:
        raise InvalidInput("post_id must be a post id")
    return feed_service(request).show_less(session, account, post_id)


@router.get("/people/suggestions")
def people_suggestions(request: Request, limit: int = Query(10, ge=1, le=50),
                       session: Session = Depends(get_session),
                       account: Account = Depends(current_account)) -> dict:
    """People you may know and accounts to follow, each with its social proof."""
    service = feed_service(request)
    model = request.app.state.services.pymk_model()
    out = pymk.suggestions(session, account, limit, scorer=service.scorer, model=model)
    return {"items": [{"account": render_account(s.account), "score": round(s.score, 6), "reasons": s.reasons,
                       "mutual_count": s.mutual_count, "mutual": s.mutual_handles, "follows_you": s.follows_you,
                       "sources": s.sources} for s in out],
            "ranked_by": "model" if service.scorer is not None else "graph"}
