"""Native API: my notifications, the unread count, marking read."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import parse_id, render_account, render_posts
from townsquare.api.shapes import MarkedOut, NotificationOut, UnreadOut
from townsquare.server.deps import current_account, get_session
from townsquare.social import notifications
from townsquare.social.models import Account, Notification, Post
from townsquare.social.visibility import can_view_post

router = APIRouter(prefix="/api", tags=["notifications"])


def _render(session: Session, me: Account, notes: list[Notification]) -> list[dict]:
    """Notifications with their actor and post; posts render in one batch, and only while I may see them."""
    post_ids = {n.post_id for n in notes if n.post_id is not None}
    posts = list(session.scalars(select(Post).where(Post.id.in_(post_ids)))) if post_ids else []
    visible = [p for p in posts if can_view_post(session, me, p)]
    rendered = {int(r["id"]): r for r in render_posts(session, me, visible)} if visible else {}
    return [{
        "id": str(note.id),
        "kind": note.kind,
        "actor": render_account(note.actor) if note.actor is not None else None,
        "post": rendered.get(note.post_id) if note.post_id is not None else None,
        "comment_id": str(note.comment_id) if note.comment_id is not None else None,
        "created_at": note.created_at,
        "read_at": note.read_at,
    } for note in notes]


@router.get("/notifications", response_model=Page[NotificationOut])
def list_notifications(page: PageQuery = Depends(page_query), unread: bool = Query(False),
                       me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    """My notifications, newest first, each with its actor and post (when I may still see it)."""
    result = notifications.list_notifications(session, me, cursor=page.cursor, limit=page.limit, unread_only=unread)
    return {"items": _render(session, me, list(result.items)), "next_cursor": result.next_cursor}


@router.get("/notifications/unread_count", response_model=UnreadOut)
def unread_count(me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    return {"unread_count": notifications.unread_count(session, me)}


@router.post("/notifications/read_all", response_model=MarkedOut)
def mark_all_read(me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    return {"marked": notifications.mark_all_read(session, me)}


@router.post("/notifications/{notification_id}/read", response_model=NotificationOut)
def mark_read(notification_id: str, me: Account = Depends(current_account),
              session: Session = Depends(get_session)) -> dict:
    note = notifications.mark_read(session, me, parse_id(notification_id, what="notification"))
    return _render(session, me, [note])[0]
