"""Messages (conversation list, a conversation, send) and notifications."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from townsquare.social import accounts, blocks, messages, notifications
from townsquare.social.models import Account, Notification, Post
from townsquare.social.visibility import can_view_post
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, sentence, text
from townsquare.web.i18n import N_
from townsquare.web.views import avatar_url, avatar_urls

router = APIRouter()

PAGE_SIZE = 20


# --- messages -------------------------------------------------------------------------------


@router.get("/messages")
def inbox(ctx: Web = Depends(web_context), cursor: str | None = None, error: str | None = None) -> Response:
    me = ctx.require_account()
    page = messages.list_conversations(ctx.session, me, cursor=cursor, limit=PAGE_SIZE)
    next_url = f"/messages?cursor={quote(page.next_cursor)}" if page.next_cursor else None
    return ctx.render("messages.html", conversations=page.items, next_url=next_url,
                      avatars=avatar_urls(ctx.session, [c.other for c in page.items if c.other is not None]),
                      error=error)


@router.get("/messages/new")
def new_message(to: str = "", ctx: Web = Depends(web_context)) -> Response:
    ctx.require_account()
    handle = accounts.normalize_handle(to)
    if not handle:
        return ctx.redirect("/messages")
    return ctx.redirect(f"/messages/{quote(handle)}")


def _conversation_page(ctx: Web, other: Account, *, cursor: str | None = None, error: str | None = None,
                       draft: str = "", status: int = 200) -> Response:
    me = ctx.require_account()
    conversation = messages.find_conversation(ctx.session, me.id, other.id)
    shown: list = []
    older_url = None
    if conversation is not None:
        page = messages.list_messages(ctx.session, me, conversation.id, cursor=cursor, limit=50)
        shown = list(reversed(page.items))  # oldest first on screen
        if page.next_cursor:
            older_url = f"/messages/{other.handle}?cursor={quote(page.next_cursor)}"
        if cursor is None and messages.mark_read(ctx.session, me, conversation.id):
            viewer = ctx.request.state.viewer
            ctx.request.state.viewer = dataclasses.replace(
                viewer, unread_messages=messages.unread_message_count(ctx.session, me))
    template = "_chat_messages.html" if ctx.fragment() else "conversation.html"
    return ctx.render(template, status=status, other=other, other_avatar=avatar_url(ctx.session, other),
                      messages=shown, older_url=older_url, error=error, draft=draft)


@router.get("/messages/{handle}")
def conversation(handle: str, ctx: Web = Depends(web_context), cursor: str | None = None) -> Response:
    me = ctx.require_account()
    other = blocks.require_visible(ctx.session, me, accounts.get_account_by_handle(ctx.session, handle))
    if other.id == me.id:
        return ctx.redirect("/messages")
    return _conversation_page(ctx, other, cursor=cursor)


@router.post("/messages/{handle}")
def send(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    other = blocks.require_visible(ctx.session, me, accounts.get_account_by_handle(ctx.session, handle))
    body = text(form, "text")
    _, error = attempt(ctx, lambda: messages.send_message(ctx.session, me, other.id, body))
    if error is not None:
        return _conversation_page(ctx, other, error=sentence(error.message), draft=body, status=error.status)
    return ctx.redirect(f"/messages/{other.handle}")


# --- notifications --------------------------------------------------------------------------

_NOTE_TEXT = {
    "follow": (N_("followed you"), "user"),
    "follow_request": (N_("asked to follow you"), "user"),
    "follow_accepted": (N_("accepted your follow request"), "check"),
    "like": (N_("liked your post"), "heart"),
    "comment": (N_("commented on your post"), "comment"),
    "reply": (N_("replied to your comment"), "comment"),
    "repost": (N_("reposted your post"), "repost"),
    "mention": (N_("mentioned you"), "comment"),
    "message": (N_("sent you a message"), "mail"),
}


@dataclass(frozen=True)
class NoteView:
    kind: str
    icon: str
    text: str
    actor: Account | None
    actor_name: str
    actor_avatar: str | None
    excerpt: str
    url: str
    unread: bool
    created_at: datetime


def _note_views(ctx: Web, items: list[Notification]) -> list[NoteView]:
    me = ctx.account
    avatars = avatar_urls(ctx.session, [n.actor for n in items if n.actor is not None])
    views = []
    for n in items:
        label, icon = _NOTE_TEXT.get(n.kind, ("did something", "bell"))
        actor = n.actor
        post = ctx.session.get(Post, n.post_id) if n.post_id else None
        if post is not None and not can_view_post(ctx.session, me, post):
            post = None  # never show what the person may no longer see
        excerpt = (post.text[:140] if post is not None else "")
        if n.kind in ("follow", "follow_accepted") and actor is not None:
            url = f"/@{actor.handle}"
        elif n.kind == "follow_request":
            url = f"/@{me.handle}"
        elif n.kind == "message" and actor is not None:
            url = f"/messages/{actor.handle}"
        elif post is not None:
            url = f"/p/{post.id}" + (f"#c{n.comment_id}" if n.comment_id else "")
        else:
            url = "/notifications"
        views.append(NoteView(kind=n.kind, icon=icon, text=label, actor=actor,
                              actor_name=(actor.display_name or actor.handle) if actor else "Townsquare",
                              actor_avatar=avatars.get(actor.id) if actor else None, excerpt=excerpt, url=url,
                              unread=n.read_at is None, created_at=n.created_at))
    return views


# The filter tabs of the notifications page: name -> (label, kinds shown; None is every kind).
NOTE_FILTERS = {
    "all": (N_("All"), None),
    "mentions": (N_("Mentions and replies"), ("mention", "comment", "reply")),
    "activity": (N_("Likes and reposts"), ("like", "repost")),
    "people": (N_("Follows"), ("follow", "follow_request", "follow_accepted")),
    "messages": (N_("Messages"), ("message",)),
}


@router.get("/notifications")
def notifications_page(ctx: Web = Depends(web_context), cursor: str | None = None,
                       show: str = "all") -> Response:
    me = ctx.require_account()
    if show not in NOTE_FILTERS:
        show = "all"
    page = notifications.list_notifications(ctx.session, me, cursor=cursor, limit=PAGE_SIZE,
                                            kinds=NOTE_FILTERS[show][1])
    items = _note_views(ctx, page.items)
    next_url = (f"/notifications?show={show}&cursor={quote(page.next_cursor)}" if page.next_cursor else None)
    if ctx.fragment():
        return ctx.render("_notifications_more.html", items=items, next_url=next_url)
    if cursor is None and show == "all" and any(v.unread for v in items):
        # Seen now: the list still highlights what was new, the badge clears.
        notifications.mark_all_read(ctx.session, me)
        ctx.request.state.viewer = dataclasses.replace(ctx.request.state.viewer, unread_notifications=0)
    return ctx.render("notifications.html", items=items, next_url=next_url, show=show, filters=NOTE_FILTERS)


@router.post("/notifications/read")
def mark_all_read(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    notifications.mark_all_read(ctx.session, ctx.require_account())
    return ctx.redirect("/notifications")
