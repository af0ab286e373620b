"""The chronological home timeline (``GET /api/timeline/home``)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import TimelineItemOut, render_account, render_posts
from townsquare.server.cursors import encode_cursor
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account
from townsquare.social.timeline import REPOST, home_timeline

router = APIRouter(tags=["timeline"])


@router.get("/api/timeline/home", response_model=Page[TimelineItemOut])
def home(page: PageQuery = Depends(page_query), account: Account = Depends(current_account),
         session: Session = Depends(get_session)):
    """Newest first: posts by people you follow and by you, and their reposts. Pages are stable."""
    key = page.key("ts", "src", "id", types={"ts": datetime, "src": int, "id": int})
    before = (key["ts"], key["src"], key["id"]) if key else None
    entries = home_timeline(session, account, before=before, limit=page.limit + 1)
    shown = entries[: page.limit]
    rendered = render_posts(session, account, [e.post for e in shown])
    items = [{"type": "repost" if e.source == REPOST else "post", "ts": e.ts, "post": post,
              "reposted_by": render_account(e.reposted_by) if e.reposted_by else None}
             for e, post in zip(shown, rendered, strict=True)]
    next_cursor = None
    if len(entries) > page.limit:
        last = shown[-1]
        next_cursor = encode_cursor({"ts": last.ts, "src": last.source, "id": last.entry_id})
    return {"items": items, "next_cursor": next_cursor}
