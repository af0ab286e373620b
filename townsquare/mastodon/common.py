"""Helpers the Mastodon routes share: rendering context, looking up what an id names as the viewer
may see it, and lists that page by the native API's opaque cursors."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput
from townsquare.mastodon.entities import Render
from townsquare.mastodon.ids import parse_plain_id
from townsquare.mastodon.paging import Window, link_header
from townsquare.social import blocks, graph
from townsquare.social.models import Account, Post
from townsquare.social.paging import Page
from townsquare.social.paging import encode_cursor as encode_offset


def render(request: Request, session: Session, viewer: Account | None) -> Render:
    return Render.of(request, session, viewer)


def visible_account(session: Session, viewer: Account | None, raw_id: str) -> Account:
    """An active account the viewer may address (404 when unknown, suspended, or it blocks the viewer)."""
    account = graph.get_account(session, parse_plain_id(raw_id))
    return blocks.require_visible(session, viewer, account)


def post_key(session: Session):
    """``key_of`` for post lists: a post id's ``(created_at, id)``."""

    def key_of(post_id: int):
        row = session.execute(select(Post.created_at, Post.id).where(Post.id == post_id)).first()
        return (row[0], row[1]) if row else None

    return key_of


def cursor_list(request: Request, response: Response, w: Window, fetch: Callable[[str | None, int], Page],
                render_item: Callable) -> list:
    """A list paged by the native API's opaque cursor, carried in ``max_id``. A ``max_id`` that is
    not such a cursor (a client that made one from an id) ends the list instead of failing."""
    try:
        page = fetch(w.max_id, w.limit)
    except InvalidInput:
        return []
    items = [render_item(item) for item in page.items]
    if page.next_cursor:
        link_header(request, response, next_max=page.next_cursor)
    return items


def offset_cursor(offset: int) -> str | None:
    """The native search cursor for a Mastodon ``offset``."""
    return encode_offset([offset]) if offset > 0 else None
