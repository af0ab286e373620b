"""The rest of what Mastodon apps call: markers, preferences, trends (tags and statuses), follow
suggestions (people-you-may-know, with its reasons), hashtags (follow, unfollow, followed), reports,
and empty but valid answers for what Townsquare does not have (lists, filters, announcements,
domain blocks, push subscriptions, featured tags)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Conflict, InvalidInput, NotFound
from townsquare.feed import pymk
from townsquare.mastodon.auth import maybe, need
from townsquare.mastodon.common import render
from townsquare.mastodon.entities import iso
from townsquare.mastodon.ids import parse_plain_id, parse_status_id
from townsquare.mastodon.params import body, strings, text
from townsquare.server.deps import get_session
from townsquare.social import moderation, search
from townsquare.social.models import Account, Hashtag, Post, PostHashtag, ReadMarker
from townsquare.social.relations import hidden_author_ids
from townsquare.social.visibility import visible_posts_query

router = APIRouter(include_in_schema=False)

MARKER_TIMELINES = ("home", "notifications")
TREND_DAYS = 7
# people-you-may-know's sources as Mastodon's suggestion sources
SUGGESTION_SOURCES = {"graph": "friends_of_friends", "follows_you": "most_interactions",
                      "model": "similar_to_recently_followed", "popular": "most_followed"}


# --- markers --------------------------------------------------------------------------------------


def _marker(row: ReadMarker) -> dict:
    return {"last_read_id": row.last_read_id, "version": row.version, "updated_at": iso(row.updated_at)}


@router.get("/api/v1/markers")
def get_markers(params: dict = Depends(body), viewer: Account = Depends(need("read:statuses", "read:notifications")),
                session: Session = Depends(get_session)):
    wanted = [t for t in strings(params, "timeline", max_items=4) if t in MARKER_TIMELINES] or list(MARKER_TIMELINES)
    rows = session.scalars(select(ReadMarker).where(ReadMarker.account_id == viewer.id,
                                                    ReadMarker.timeline.in_(wanted)))
    return {row.timeline: _marker(row) for row in rows}


@router.post("/api/v1/markers")
def save_markers(params: dict = Depends(body), viewer: Account = Depends(need("write:statuses")),
                 session: Session = Depends(get_session)):
    """``home[last_read_id]`` and/or ``notifications[last_read_id]``."""
    out = {}
    for timeline in MARKER_TIMELINES:
        given = params.get(timeline)
        if given is None:
            continue
        if not isinstance(given, dict):
            raise InvalidInput(f"{timeline} must be an object with last_read_id")
        last = text(given, "last_read_id", max_len=40)
        if not last or not last.isdigit():
            raise InvalidInput(f"{timeline}[last_read_id] must be an id")
        row = session.get(ReadMarker, (viewer.id, timeline))
        if row is None:
            row = ReadMarker(account_id=viewer.id, timeline=timeline, last_read_id=last, version=1)
            session.add(row)
        else:
            row.last_read_id, row.version = last, row.version + 1
        row.updated_at = utcnow()
        session.flush()
        out[timeline] = _marker(row)
    if not out:
        raise InvalidInput("give home[last_read_id] or notifications[last_read_id]")
    return out


# --- preferences ----------------------------------------------------------------------------------


@router.get("/api/v1/preferences")
def preferences(viewer: Account = Depends(need("read:accounts"))):
    return {"posting:default:visibility": "public", "posting:default:sensitive": False,
            "posting:default:language": None, "posting:default:quote_policy": "nobody",
            "reading:expand:media": "default", "reading:expand:spoilers": False, "reading:autoplay:gifs": False}


# --- trends and suggestions -----------------------------------------------------------------------


def _visible_recent(session: Session, viewer: Account | None):
    stmt = visible_posts_query(viewer.id if viewer else None).where(
        Post.visibility == "public", Post.created_at >= utcnow() - timedelta(days=TREND_DAYS))
    if viewer is not None:
        hidden = hidden_author_ids(session, viewer.id)
        if hidden:
            stmt = stmt.where(Post.author_id.not_in(hidden))
    return stmt


@router.get("/api/v1/trends/tags")
@router.get("/api/v1/trends")
def trending_tags(request: Request, limit: int = Query(10, ge=1, le=20), offset: int = Query(0, ge=0, le=1000),
                  viewer: Account | None = Depends(maybe("read:statuses")), session: Session = Depends(get_session)):
    """Hashtags on the most public posts of the last week (what the viewer may see)."""
    recent = _visible_recent(session, viewer).with_only_columns(Post.id, Post.author_id).subquery()
    rows = session.execute(
        select(Hashtag.name, func.count(recent.c.id), func.count(func.distinct(recent.c.author_id)))
        .join(PostHashtag, PostHashtag.hashtag_id == Hashtag.id).join(recent, recent.c.id == PostHashtag.post_id)
        .group_by(Hashtag.name).order_by(func.count(recent.c.id).desc(), Hashtag.name).offset(offset).limit(limit)
    ).all()
    shown = render(request, session, viewer)
    day = str(int(utcnow().replace(hour=0, minute=0, second=0, microsecond=0).timestamp()))
    return [shown.tag(name, history=[{"day": day, "uses": str(uses), "accounts": str(people)}])
            for name, uses, people in rows]


@router.get("/api/v1/trends/statuses")
def trending_statuses(request: Request, limit: int = Query(20, ge=1, le=40), offset: int = Query(0, ge=0, le=1000),
                      viewer: Account | None = Depends(maybe("read:statuses")), session: Session = Depends(get_session)):
    """The public posts of the last week with the most reactions, reposts and comments."""
    stmt = _visible_recent(session, viewer).order_by(
        (Post.like_count + 2 * Post.repost_count + Post.comment_count).desc(), Post.id.desc()).offset(offset).limit(limit)
    return render(request, session, viewer).posts(list(session.scalars(stmt).unique()))


@router.get("/api/v1/trends/links")
def trending_links(viewer: Account | None = Depends(maybe("read:statuses"))):
    return []


@router.get("/api/v2/suggestions")
def suggestions_v2(request: Request, limit: int = Query(20, ge=1, le=80),
                   viewer: Account = Depends(need("read:accounts")), session: Session = Depends(get_session)):
    """People you may know (``feed/pymk.py``): Mastodon's ``sources`` from its signals, and its own
    reasons (which never say more than the viewer may read) in ``townsquare.reasons``."""
    services = request.app.state.services
    found = pymk.suggestions(session, viewer, min(limit, 50), scorer=services.feed.scorer, model=services.pymk_model())
    shown = render(request, session, viewer)
    out = []
    for s in found:
        sources = list(dict.fromkeys(SUGGESTION_SOURCES[x] for x in s.sources if x in SUGGESTION_SOURCES))
        sources = sources or ["global"]
        out.append({"source": "past_interactions" if "most_interactions" in sources else "global",
                    "sources": sources, "account": shown.account(s.account),
                    "townsquare": {"reasons": [r.get("text") for r in s.reasons], "mutual_count": s.mutual_count}})
    return out


@router.get("/api/v1/suggestions")
def suggestions_v1(request: Request, limit: int = Query(20, ge=1, le=80),
                   viewer: Account = Depends(need("read:accounts")), session: Session = Depends(get_session)):
    return [s["account"] for s in suggestions_v2(request, limit, viewer, session)]


@router.delete("/api/v1/suggestions/{account_id}")
def dismiss_suggestion(account_id: str, viewer: Account = Depends(need("read:accounts"))):
    parse_plain_id(account_id)
    return {}


# --- hashtags -------------------------------------------------------------------------------------


def _tag(request: Request, session: Session, viewer: Account | None, name: str) -> dict:
    info = search.hashtag_info(session, viewer, name)
    return render(request, session, viewer).tag(info.name, following=info.following)


@router.get("/api/v1/tags/{name}")
def get_tag(name: str, request: Request, viewer: Account | None = Depends(maybe("read:statuses")),
            session: Session = Depends(get_session)):
    return _tag(request, session, viewer, name)


@router.post("/api/v1/tags/{name}/follow")
def follow_tag(name: str, request: Request, viewer: Account = Depends(need("write:follows")),
               session: Session = Depends(get_session)):
    try:
        search.follow_hashtag(session, viewer, name)
    except Conflict:  # already followed: as on Mastodon, not an error
        pass
    return _tag(request, session, viewer, name)


@router.post("/api/v1/tags/{name}/unfollow")
def unfollow_tag(name: str, request: Request, viewer: Account = Depends(need("write:follows")),
                 session: Session = Depends(get_session)):
    try:
        search.unfollow_hashtag(session, viewer, name)
    except NotFound:
        pass
    return _tag(request, session, viewer, name)


@router.get("/api/v1/followed_tags")
def followed_tags(request: Request, viewer: Account = Depends(need("read:follows")),
                  session: Session = Depends(get_session)):
    names = search.followed_hashtags(session, viewer, limit=100).items
    shown = render(request, session, viewer)
    return [shown.tag(n, following=True) for n in names]


# --- reports --------------------------------------------------------------------------------------

REPORT_CATEGORIES = {"spam": "spam", "violation": "other", "legal": "other", "other": "other"}


@router.post("/api/v1/reports")
def create_report(params: dict = Depends(body), viewer: Account = Depends(need("write:reports")),
                  session: Session = Depends(get_session)):
    """Report an account, or some of its statuses (posts and comments), to the moderators."""
    account_id = parse_plain_id(text(params, "account_id", max_len=40) or "")
    reason = REPORT_CATEGORIES.get(text(params, "category", max_len=20) or "other", "other")
    details = text(params, "comment", max_len=1000) or ""
    status_ids = strings(params, "status_ids", max_items=20, max_len=40)
    made = []
    for raw in status_ids:
        kind, n = parse_status_id(raw)
        if kind not in ("post", "comment"):
            raise InvalidInput("only posts and comments can be reported")
        made.append(moderation.report(session, viewer, kind, n, reason, details))
    if not made:
        made.append(moderation.report(session, viewer, "account", account_id, reason, details))
    first = made[0]
    return {"id": str(first.id), "action_taken": False, "action_taken_at": None, "category": reason,
            "comment": details, "forwarded": False, "created_at": iso(first.created_at), "status_ids": status_ids,
            "rule_ids": [], "target_account": render_target(session, account_id)}


def render_target(session: Session, account_id: int) -> dict | None:
    account = session.get(Account, account_id)
    return {"id": str(account.id), "username": account.handle, "acct": account.handle} if account else None


# --- what Townsquare does not have: empty, valid answers ---------------------------------------------


def _empty_list(scope: str):
    def route(viewer: Account = Depends(need(scope))):
        return []

    return route


for _path, _scope in (("/api/v1/lists", "read:lists"), ("/api/v1/filters", "read:filters"),
                      ("/api/v2/filters", "read:filters"), ("/api/v1/domain_blocks", "read:blocks"),
                      ("/api/v1/featured_tags", "read:accounts"), ("/api/v1/scheduled_statuses", "read:statuses"),
                      ("/api/v1/followed_tags/suggestions", "read:follows")):
    router.add_api_route(_path, _empty_list(_scope), methods=["GET"])


@router.get("/api/v1/announcements")
def announcements(viewer: Account | None = Depends(maybe())):
    return []


@router.get("/api/v1/lists/{list_id}")
def get_list(list_id: str, viewer: Account = Depends(need("read:lists"))):
    raise NotFound("Record not found")


@router.get("/api/v1/push/subscription")
def push_subscription(viewer: Account = Depends(need("push"))):
    raise NotFound("Record not found")


@router.post("/api/v1/push/subscription")
def push_subscribe(viewer: Account = Depends(need("push"))):
    raise InvalidInput("push notifications are not supported on Townsquare; use the streaming API")
