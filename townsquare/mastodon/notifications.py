"""Notifications: list (paged by id, ``types[]`` / ``exclude_types[]``), one, dismiss, clear, and the
unread count. The rule for what is listed is the native one (``social/notifications.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.errors import NotFound
from townsquare.mastodon.auth import need
from townsquare.mastodon.common import render
from townsquare.mastodon.ids import parse_plain_id
from townsquare.mastodon.notes import SHOWN_KINDS, kinds_for, render_notifications
from townsquare.mastodon.paging import Window, id_page, link_header, wide_window
from townsquare.mastodon.params import body, strings
from townsquare.server.deps import get_session
from townsquare.social import notifications
from townsquare.social.models import Account, Notification

router = APIRouter(include_in_schema=False)


@router.get("/api/v1/notifications")
def list_notifications(request: Request, response: Response, params: dict = Depends(body),
                       w: Window = Depends(wide_window), viewer: Account = Depends(need("read:notifications")),
                       session: Session = Depends(get_session)):
    kinds = kinds_for(strings(params, "types", max_items=20), strings(params, "exclude_types", max_items=20))
    stmt = notifications.listable_query(viewer.id, kinds)
    if params.get("account_id"):
        stmt = stmt.where(Notification.actor_id == parse_plain_id(str(params["account_id"])))
    notes = id_page(session, stmt, Notification.id, w, parse_plain_id)
    items = render_notifications(render(request, session, viewer), notes)
    if notes:
        link_header(request, response, next_max=str(notes[-1].id) if len(notes) >= w.limit else None,
                    prev_min=str(notes[0].id))
    return items


@router.get("/api/v1/notifications/unread_count")
def unread_count(viewer: Account = Depends(need("read:notifications")), session: Session = Depends(get_session)):
    stmt = notifications.listable_query(viewer.id, SHOWN_KINDS).where(Notification.read_at.is_(None))
    count = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return {"count": int(count)}


@router.get("/api/v1/notifications/{note_id}")
def get_notification(note_id: str, request: Request, viewer: Account = Depends(need("read:notifications")),
                     session: Session = Depends(get_session)):
    note = notifications.get_listable(session, viewer, parse_plain_id(note_id))
    shown = render_notifications(render(request, session, viewer), [note])
    if not shown:
        raise NotFound("Record not found")
    return shown[0]


@router.post("/api/v1/notifications/clear")
def clear(viewer: Account = Depends(need("write:notifications")), session: Session = Depends(get_session)):
    notifications.clear(session, viewer)
    return {}


@router.post("/api/v1/notifications/{note_id}/dismiss")
def dismiss(note_id: str, viewer: Account = Depends(need("write:notifications")),
            session: Session = Depends(get_session)):
    notifications.dismiss(session, viewer, parse_plain_id(note_id))
    return {}
