"""Search (``/api/v2/search``, and ``/api/v1/search`` for old clients): accounts, statuses and hashtags
through the native search (same visibility, blocks and mutes). A query that is the address of one of
this server's posts or profiles (``https://host/p/42``, ``https://host/@ana``, ``@ana``,
``ana@host``) finds that post or account first."""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput, NotFound
from townsquare.mastodon.auth import maybe
from townsquare.mastodon.common import offset_cursor, render, visible_account
from townsquare.server.deps import get_session
from townsquare.social import accounts as account_service
from townsquare.social import posts, search
from townsquare.social.models import Account

router = APIRouter(include_in_schema=False)
TYPES = ("accounts", "statuses", "hashtags")


def _exact(request: Request, session: Session, viewer: Account | None, q: str) -> tuple[list, list]:
    """The account or post a query names by address, if any."""
    base = re.escape(str(request.base_url).rstrip("/"))
    host = re.escape(request.url.netloc)
    post = re.fullmatch(rf"{base}/p/(\d{{1,18}})/?", q)
    if post:
        try:
            return [], [posts.get_post(session, viewer, int(post.group(1)))]
        except NotFound:
            return [], []
    handle = (re.fullmatch(rf"{base}/@(\w{{1,30}})/?", q) or re.fullmatch(rf"@?(\w{{1,30}})@{host}", q)
              or re.fullmatch(r"@(\w{1,30})", q))
    if handle:
        try:
            account = account_service.get_account_by_handle(session, handle.group(1))
            return [visible_account(session, viewer, str(account.id))], []
        except NotFound:
            return [], []
    return [], []


def _search(request: Request, session: Session, viewer: Account | None, q: str, kind: str | None, limit: int,
            offset: int) -> dict:
    if kind is not None and kind not in TYPES:
        raise InvalidInput(f"type must be one of {', '.join(TYPES)}")
    wanted = (kind,) if kind else TYPES
    accounts, statuses = _exact(request, session, viewer, q.strip()) if offset == 0 else ([], [])
    tags: list[str] = []
    cursor = offset_cursor(offset)

    def attempt(run):
        try:
            return list(run().items)
        except InvalidInput:  # a query with no words in it finds nothing of this kind
            return []

    if "accounts" in wanted and not accounts:
        accounts = attempt(lambda: search.search_people(session, viewer, q, cursor=cursor, limit=limit))
    if "statuses" in wanted and not statuses:
        statuses = attempt(lambda: search.search_posts(session, viewer, q, cursor=cursor, limit=limit))
    if "hashtags" in wanted:
        tags = attempt(lambda: search.search_hashtags(session, viewer, q, cursor=cursor, limit=limit))
    shown = render(request, session, viewer)
    return {"accounts": [shown.account(a) for a in accounts] if "accounts" in wanted else [],
            "statuses": shown.posts(statuses) if "statuses" in wanted else [],
            "hashtags": [shown.tag(t) for t in tags]}


@router.get("/api/v2/search")
def search_v2(request: Request, q: str = Query(..., max_length=500), type: str | None = Query(None, max_length=20),
              limit: int = Query(20, ge=1, le=40), offset: int = Query(0, ge=0, le=10_000),
              viewer: Account | None = Depends(maybe("read:search")), session: Session = Depends(get_session)):
    return _search(request, session, viewer, q, type, limit, offset)


@router.get("/api/v1/search")
def search_v1(request: Request, q: str = Query(..., max_length=500), limit: int = Query(20, ge=1, le=40),
              viewer: Account | None = Depends(maybe("read:search")), session: Session = Depends(get_session)):
    found = _search(request, session, viewer, q, None, limit, 0)
    return found | {"hashtags": [t["name"] for t in found["hashtags"]]}
