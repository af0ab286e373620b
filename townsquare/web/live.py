"""``/live``: new notifications and messages reach the open pages without a reload (server-sent
events, read by ``static/app.js`` with ``EventSource``).

The events come from the same hub as the Mastodon streaming API (``mastodon/stream.py``): every
committed notification and message, from any worker (through Redis when it is configured). An
event names a row, never its content; for each one meant for this person, the row is read again
through the same rules as the pages (a notification that is no longer shown, from someone blocked
or muted, is dropped) and sent as:

- ``event: notification``: ``{"unread_notifications", "unread_messages", "text", "url", "html"}``
  (``html`` is the item as the notifications page draws it);
- ``event: message``: ``{"unread_notifications", "unread_messages", "with": handle}``.

The session is checked again for every event: signing out (or a revoked session) ends the stream.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from townsquare.errors import NotFound, Unauthorized
from townsquare.server.deps import SESSION_COOKIE
from townsquare.social import notifications
from townsquare.social.models import Account, Conversation, Message
from townsquare.social.tokens import resolve_token

router = APIRouter(include_in_schema=False)

HEARTBEAT_S = 15.0


def _counts(session, me: Account) -> dict:
    from townsquare.web.views import unread_counts

    notes, messages = unread_counts(session, me)
    return {"unread_notifications": notes, "unread_messages": messages}


def _render_note(request: Request, session, me: Account, note) -> tuple[str, str, str]:
    from types import SimpleNamespace

    from townsquare.web.i18n import lang_for
    from townsquare.web.pages_inbox import _note_views
    from townsquare.web.templating import CURRENT_LANG, environment

    view = _note_views(SimpleNamespace(account=me, session=session), [note])[0]
    lang = lang_for(request, me)
    current = CURRENT_LANG.set(lang)
    try:
        html = environment.get_template("_note_items.html").render(items=[view], request=request)
    finally:
        CURRENT_LANG.reset(current)
    return f"{view.actor_name} {lang.gettext(view.text)}", view.url, html


def _event_for(request: Request, services, token: str, raw: dict) -> tuple[str, dict] | None | bool:
    """What to send this person for a hub event: (name, data), None (nothing), False (signed out)."""
    with services.session() as session:
        me = resolve_token(session, token)
        if me is None:
            return False
        if raw.get("type") == "notification" and raw.get("recipient") == me.id:
            try:
                note = notifications.get_listable(session, me, int(raw["id"]))
            except NotFound:
                return None
            text, url, html = _render_note(request, session, me, note)
            return "notification", {**_counts(session, me), "text": text, "url": url, "html": html}
        if raw.get("type") == "message":
            conv = session.get(Conversation, raw.get("conversation"))
            if conv is None or me.id not in (conv.low_id, conv.high_id):
                return None
            sender = session.scalar(select(Message.sender_id).where(Message.id == raw.get("id")))
            if sender is None or sender == me.id:
                return None
            other = session.get(Account, sender)
            return "message", {**_counts(session, me), "with": other.handle if other is not None else None}
    return None


@router.get("/live")
async def live(request: Request) -> Response:
    services = request.app.state.services
    token = request.cookies.get(SESSION_COOKIE, "")

    def signed_in() -> bool:
        with services.session() as session:
            return resolve_token(session, token) is not None

    if not token or not await run_in_threadpool(signed_in):
        raise Unauthorized("sign in to get live updates")
    hub = services.stream
    sub = hub.subscribe()

    async def stream():
        try:
            yield "retry: 5000\n\n"
            while True:
                if await request.is_disconnected():
                    return
                try:
                    raw = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                found = await run_in_threadpool(_event_for, request, services, token, raw)
                if found is False:
                    yield "event: signed-out\ndata: {}\n\n"
                    return
                if found:
                    name, data = found
                    yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
