"""Client-reported events (``POST /api/events``) and your own event log (``GET /api/events/me``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, make_page, page_query
from townsquare.api.schemas import StrictModel, parse_id
from townsquare.server.deps import current_account, get_session
from townsquare.social import client_events
from townsquare.social.models import Account

router = APIRouter(tags=["events"])


class EventIn(StrictModel):
    action: Literal["impression", "dwell", "open", "share", "hide", "profile_visit"]
    entity_type: Literal["post", "account", "hashtag"] = "post"
    entity_id: str = Field(max_length=20)
    surface: str | None = Field(None, max_length=24, description="home, profile, post, search, pymk, ...")
    position: int | None = Field(None, ge=0, le=100_000)
    dwell_ms: int | None = Field(None, ge=0)
    ts: datetime | None = Field(None, description="When it happened (defaults to now; at most 7 days ago).")
    context: dict | None = None


class EventBatchIn(StrictModel):
    events: list[EventIn] = Field(min_length=1, max_length=client_events.MAX_BATCH)


class EventBatchOut(BaseModel):
    stored: int


class EventOut(BaseModel):
    id: str
    ts: datetime
    action: str
    entity_type: str
    entity_id: str | None = None
    surface: str | None = None
    position: int | None = None
    dwell_ms: int | None = None


@router.post("/api/events", response_model=EventBatchOut, status_code=201)
def ingest(body: EventBatchIn, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Report up to 500 events at once. The whole batch is checked first: one bad event stores none."""
    events = [client_events.ClientEvent(
        action=e.action, entity_type=e.entity_type,
        entity_id=parse_id(e.entity_id, what=f"events[{i}].entity", in_body=True), surface=e.surface,
        position=e.position, dwell_ms=e.dwell_ms, ts=e.ts, context=e.context)
        for i, e in enumerate(body.events)]
    return {"stored": client_events.ingest(session, account, events)}


@router.get("/api/events/me", response_model=Page[EventOut])
def my_events(page: PageQuery = Depends(page_query), action: str | None = Query(None, max_length=16),
              account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Your own interactions, newest first: what the feed model learns about you."""
    rows = client_events.my_events(session, account, before=page.ts_id(), limit=page.limit + 1, action=action)
    return make_page(rows, page.limit, key=lambda e: {"ts": e.ts, "id": e.id}, render=lambda e: {
        "id": str(e.id), "ts": e.ts, "action": e.action, "entity_type": e.entity_type,
        "entity_id": str(e.entity_id) if e.entity_id is not None else None, "surface": e.surface,
        "position": e.position, "dwell_ms": e.dwell_ms})
