"""Public profiles and an account's posts (``/api/accounts``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, make_page, page_query
from townsquare.api.schemas import AccountOut, PostOut, parse_id, render_account, render_posts
from townsquare.server.deps import get_session, optional_account
from townsquare.social import accounts, blocks, posts
from townsquare.social.models import Account

router = APIRouter(tags=["accounts"])


def _visible_account(session: Session, viewer: Account | None, account_id: int) -> Account:
    """An active account, unless it blocked the viewer: then it is simply not there for them
    (``social/blocks.py``; someone you blocked stays visible to you, so that you can unblock them)."""
    return blocks.require_visible(session, viewer, accounts.get_account(session, account_id))


@router.get("/api/accounts/lookup", response_model=AccountOut)
def lookup(handle: str = Query(..., max_length=64), session: Session = Depends(get_session),
           viewer: Account | None = Depends(optional_account)):
    """An account by handle (with or without the leading @, any case)."""
    account = accounts.get_account_by_handle(session, handle)
    return render_account(_visible_account(session, viewer, account.id))


@router.get("/api/accounts/{account_id}", response_model=AccountOut)
def get_account(account_id: str, session: Session = Depends(get_session),
                viewer: Account | None = Depends(optional_account)):
    return render_account(_visible_account(session, viewer, parse_id(account_id, what="account")))


@router.get("/api/accounts/{account_id}/posts", response_model=Page[PostOut])
def account_posts(account_id: str, page: PageQuery = Depends(page_query), session: Session = Depends(get_session),
                  viewer: Account | None = Depends(optional_account)):
    """The account's posts that you may see, newest first."""
    account = _visible_account(session, viewer, parse_id(account_id, what="account"))
    rows = posts.list_account_posts(session, viewer, account.id, before=page.ts_id(), limit=page.limit + 1)
    result = make_page(rows, page.limit, key=lambda p: {"ts": p.created_at, "id": p.id})
    result["items"] = render_posts(session, viewer, result["items"])
    return result
