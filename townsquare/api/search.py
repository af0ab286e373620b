"""Native API: search (posts and people) and hashtag pages / hashtag follows."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import PostOut, render_account
from townsquare.api.shapes import HashtagNameOut, HashtagOut, SearchOut, render_page, render_post_page
from townsquare.errors import InvalidInput
from townsquare.server.deps import current_account, get_session, optional_account
from townsquare.social import search
from townsquare.social.models import Account

router = APIRouter(prefix="/api", tags=["search"])


@router.get("/search", response_model=SearchOut)
def run_search(q: str = Query(..., max_length=search.MAX_QUERY_CHARS * 2), type: str = Query("posts"),
               page: PageQuery = Depends(page_query), me: Account | None = Depends(optional_account),
               session: Session = Depends(get_session)) -> dict:
    """Full-text search, ranked by relevance then recency. ``type``: ``posts``, ``people`` or ``hashtags``
    (names starting with the query)."""
    if type == "posts":
        result = search.search_posts(session, me, q, cursor=page.cursor, limit=page.limit)
        return {"type": type, **render_post_page(session, me, result)}
    if type == "people":
        result = search.search_people(session, me, q, cursor=page.cursor, limit=page.limit)
        return {"type": type, **render_page(result, render_account)}
    if type == "hashtags":
        result = search.search_hashtags(session, me, q, cursor=page.cursor, limit=page.limit)
        return {"type": type, **render_page(result, lambda name: {"name": name})}
    raise InvalidInput(f"type must be one of {', '.join(search.SEARCH_KINDS)}")


@router.get("/hashtags/followed", response_model=Page[HashtagNameOut])
def followed_hashtags(page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
                      session: Session = Depends(get_session)) -> dict:
    result = search.followed_hashtags(session, me, cursor=page.cursor, limit=page.limit)
    return render_page(result, lambda name: {"name": name})


@router.get("/hashtags/{name}", response_model=HashtagOut)
def hashtag(name: str, me: Account | None = Depends(optional_account), session: Session = Depends(get_session)) -> dict:
    """A hashtag: its name, how many posts I can see with it, whether I follow it."""
    return asdict(search.hashtag_info(session, me, name))


@router.get("/hashtags/{name}/posts", response_model=Page[PostOut])
def hashtag_posts(name: str, page: PageQuery = Depends(page_query), me: Account | None = Depends(optional_account),
                  session: Session = Depends(get_session)) -> dict:
    """Posts with the hashtag that I may see, newest first."""
    return render_post_page(session, me, search.hashtag_posts(session, me, name, cursor=page.cursor, limit=page.limit))


@router.post("/hashtags/{name}/follow", response_model=HashtagOut)
def follow_hashtag(name: str, me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    return asdict(search.follow_hashtag(session, me, name))


@router.delete("/hashtags/{name}/follow", response_model=HashtagOut)
def unfollow_hashtag(name: str, me: Account = Depends(current_account),
                     session: Session = Depends(get_session)) -> dict:
    search.unfollow_hashtag(session, me, name)
    return asdict(search.hashtag_info(session, me, name))
