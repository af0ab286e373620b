"""Rendering service pages (``townsquare.social.paging.Page``) as the API's ``{"items", "next_cursor"}``.

Accounts and posts render with ``api/schemas.py`` so every endpoint shows them the same way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from townsquare.api.schemas import render_posts
from townsquare.social.models import Account
from townsquare.social.paging import Page


def render_page(page: Page, render: Callable[[Any], Any]) -> dict:
    return {"items": [render(item) for item in page.items], "next_cursor": page.next_cursor}


def render_post_page(session: Session, viewer: Account | None, page: Page) -> dict:
    """A page of posts, rendered in one batch (media, hashtags, the viewer's own reaction)."""
    return {"items": render_posts(session, viewer, list(page.items)), "next_cursor": page.next_cursor}
