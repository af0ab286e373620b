"""Timelines: home (the ranked feed, or chronological), public, hashtag.

**Home is Townsquare's ranked feed** (``services.feed.page``: the unified model, the value model and
the blender), unless the person chose "Newest first" in Settings → Feed, which makes it the
chronological timeline of the people they follow, with their reposts as reblogs. Paging the ranked
feed: the ``Link`` header's ``max_id`` is the feed's own cursor (an opaque string: clients pass it
back); a numeric ``max_id`` (clients that compute it from the last status) continues in time order
below that post; ``since_id`` / ``min_id`` give what the people you follow posted since (pull to
refresh). Each status carries ``townsquare.reasons``: why the feed put it there. What an app shows is
logged as impressions, so the next ranking does not show it again.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput, NotFound
from townsquare.feed.service import get_controls
from townsquare.mastodon.auth import maybe, need
from townsquare.mastodon.common import post_key, render
from townsquare.mastodon.ids import parse_status_id
from townsquare.mastodon.paging import Window, keyed_page, link_header, page_links, window
from townsquare.mastodon.params import body, boolean
from townsquare.server.deps import get_session
from townsquare.social import timeline
from townsquare.social.events import record_events
from townsquare.social.models import Account, Hashtag, Post, PostHashtag, Repost
from townsquare.social.relations import hidden_author_ids
from townsquare.social.visibility import visible_posts_query

router = APIRouter(include_in_schema=False)
SURFACE = "mastodon_home"


def _post_id(raw: str) -> int:
    kind, n = parse_status_id(raw)
    if kind != "post":
        raise NotFound("Record not found")
    return n


def _timeline_key(session: Session, raw: str | None):
    """The chronological timeline's key ``(ts, source, id)`` of a post or reblog status id."""
    if raw is None:
        return None
    try:
        kind, n = parse_status_id(raw)
    except NotFound:
        return None
    if kind == "post":
        ts = session.scalar(select(Post.created_at).where(Post.id == n))
        return (ts, timeline.POST, n) if ts is not None else None
    if kind == "repost":
        ts = session.scalar(select(Repost.created_at).where(Repost.id == n))
        return (ts, timeline.REPOST, n) if ts is not None else None
    return None


def _chronological(request: Request, response: Response, session: Session, viewer: Account, w: Window) -> list:
    shown = render(request, session, viewer)
    newer = _timeline_key(session, w.min_id or w.since_id)
    if newer is not None:  # what arrived since: the newest entries above the bound
        entries = [e for e in timeline.home_timeline(session, viewer, limit=w.limit) if e.key > newer]
    else:
        entries = timeline.home_timeline(session, viewer, before=_timeline_key(session, w.max_id), limit=w.limit)
    items = []
    for e in entries:
        if e.source == timeline.REPOST:
            repost = session.get(Repost, e.entry_id)
            items.append(shown.reblog(repost, e.post, e.reposted_by))
        else:
            items.append(shown.post(e.post))
    page_links(request, response, items, w.limit)
    return items


def _log_impressions(session: Session, viewer: Account, post_ids: list[int], start: int) -> None:
    if viewer.tracking_opt_out:  # the person turned impression tracking off (social/lifecycle.py)
        return
    record_events(session, [{"actor_id": viewer.id, "action": "impression", "entity_type": "post", "entity_id": pid,
                             "surface": SURFACE, "position": start + i} for i, pid in enumerate(post_ids)])


@router.get("/api/v1/timelines/home")
def home(request: Request, response: Response, w: Window = Depends(window),
         viewer: Account = Depends(need("read:statuses")), session: Session = Depends(get_session)):
    numeric_max = w.max_id is not None and w.max_id.isdigit()
    if get_controls(session, viewer.id)["mode"] == "chronological" or w.since_id or w.min_id or numeric_max:
        return _chronological(request, response, session, viewer, w)
    try:
        page = request.app.state.services.feed.page(session, viewer, w.max_id, w.limit)
    except InvalidInput:
        return []  # a cursor from an expired or foreign ranking: the list ends; reload starts a fresh one
    shown = render(request, session, viewer)
    items = []
    for item, status in zip(page.items, shown.posts([i.post for i in page.items]), strict=True):
        status["townsquare"] = status["townsquare"] | {"reasons": [r.get("text") for r in item.reasons],
                                                       "ranked_by": page.ranked_by}
        items.append(status)
    _log_impressions(session, viewer, [i.post.id for i in page.items], page.items[0].position if page.items else 0)
    link_header(request, response, next_max=page.next_cursor, prev_min=items[0]["id"] if items else None)
    return items


def _public_stmt(session: Session, viewer: Account | None, params: dict):
    stmt = visible_posts_query(viewer.id if viewer else None).where(Post.visibility == "public")
    if viewer is not None:
        hidden = hidden_author_ids(session, viewer.id)
        if hidden:
            stmt = stmt.where(Post.author_id.not_in(hidden))
    if boolean(params, "only_media"):
        stmt = stmt.where(Post.kind.in_(("photo", "video")))
    return stmt


def _post_list(request: Request, response: Response, session: Session, viewer: Account | None, stmt,
               w: Window) -> list:
    posts = keyed_page(session, stmt, Post.created_at, Post.id, w, _post_id, post_key(session))
    items = render(request, session, viewer).posts(posts)
    page_links(request, response, items, w.limit)
    return items


@router.get("/api/v1/timelines/public")
def public(request: Request, response: Response, params: dict = Depends(body), w: Window = Depends(window),
           viewer: Account | None = Depends(maybe("read:statuses")), session: Session = Depends(get_session)):
    """Every public post, newest first (one server: ``local`` changes nothing, ``remote`` is empty)."""
    if boolean(params, "remote"):
        return []
    return _post_list(request, response, session, viewer, _public_stmt(session, viewer, params), w)


@router.get("/api/v1/timelines/tag/{hashtag}")
def tag(hashtag: str, request: Request, response: Response, params: dict = Depends(body),
        w: Window = Depends(window), viewer: Account | None = Depends(maybe("read:statuses")),
        session: Session = Depends(get_session)):
    """Posts with the hashtag that the viewer may see (followers-only ones too, for followers)."""
    if boolean(params, "remote"):
        return []
    tag_id = session.scalar(select(Hashtag.id).where(Hashtag.name == hashtag.strip().lstrip("#").lower()[:100]))
    if tag_id is None:
        return []
    stmt = visible_posts_query(viewer.id if viewer else None).where(
        exists().where(PostHashtag.post_id == Post.id, PostHashtag.hashtag_id == tag_id))
    if viewer is not None:
        hidden = hidden_author_ids(session, viewer.id)
        if hidden:
            stmt = stmt.where(Post.author_id.not_in(hidden))
    if boolean(params, "only_media"):
        stmt = stmt.where(Post.kind.in_(("photo", "video")))
    return _post_list(request, response, session, viewer, stmt, w)


@router.get("/api/v1/timelines/list/{list_id}")
def list_timeline(list_id: str, viewer: Account = Depends(need("read:lists"))):
    raise NotFound("Record not found")


@router.get("/api/v1/timelines/direct")
def direct_timeline(viewer: Account = Depends(need("read:statuses")), limit: int = Query(20)):
    return []


