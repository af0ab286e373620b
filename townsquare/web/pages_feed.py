"""The ranked "For you" feed (with the reasons each post is there), feed controls, and the
"Who to follow" panel. All ranking rules live in ``townsquare/feed``; these pages render them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from townsquare.feed.config import POST_KINDS
from townsquare.feed.service import KIND_WEIGHT_RANGE, MODES
from townsquare.social.models import Post
from townsquare.social.posts import MAX_TEXT
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, sentence, text
from townsquare.web.people import who_to_follow
from townsquare.web.views import post_cards

router = APIRouter()

PAGE_SIZE = 20


@router.get("/")
@router.get("/for-you")
def for_you(request: Request, ctx: Web = Depends(web_context), cursor: str | None = None) -> Response:
    """Home: the ranked "For you" feed is the default tab ("Following" is ``/following``)."""
    viewer = ctx.account
    if viewer is None:
        return ctx.redirect("/signin" if request.url.path == "/" else "/signin?next=/for-you")
    page = ctx.services.feed.page(ctx.session, viewer, cursor, PAGE_SIZE)
    items = page.items
    # The feed numbers its items itself: positions continue across pages.
    cards = post_cards(ctx.session, viewer, [i.post for i in items], reasons=[i.reasons for i in items],
                       positions=[i.position for i in items], top_actions=[i.top_actions for i in items])
    next_url = f"{request.url.path}?cursor={quote(page.next_cursor)}" if page.next_cursor else None
    if ctx.fragment():
        return ctx.render("_cards.html", cards=cards, next_url=next_url, surface="for_you")
    notice = "Welcome to Townsquare! Follow a few people to fill your timeline." if request.query_params.get(
        "welcome") else None
    # The feed never recommends your own posts: what you just posted is shown above it instead.
    own = [] if cursor else _just_posted(ctx, viewer, {c.post.id for c in cards})
    return ctx.render("home.html", tab="for_you", cards=cards, next_url=next_url, form=None, notice=notice,
                      just_posted=post_cards(ctx.session, viewer, own),
                      max_post_chars=MAX_TEXT, ranked_by=page.ranked_by, feed_mode=page.mode,
                      suggestions=who_to_follow(ctx))


JUST_POSTED = timedelta(minutes=10)


def _just_posted(ctx: Web, viewer, shown: set[int]) -> list[Post]:
    since = datetime.now(UTC) - JUST_POSTED
    found = ctx.session.scalars(select(Post).where(
        Post.author_id == viewer.id, Post.created_at >= since, Post.deleted_at.is_(None),
        Post.removed_at.is_(None)).order_by(Post.created_at.desc()).limit(3))
    return [p for p in found if p.id not in shown]


# --- feed controls ------------------------------------------------------------------------------


def _settings_page(ctx: Web, values: dict, *, error: str | None = None, notice: str | None = None,
                   status: int = 200) -> Response:
    return ctx.render("feed_settings.html", status=status, values=values, modes=MODES, kinds=POST_KINDS,
                      weight_range=KIND_WEIGHT_RANGE, error=error, notice=notice)


@router.get("/settings/feed")
def feed_settings_page(request: Request, ctx: Web = Depends(web_context)) -> Response:
    viewer = ctx.require_account()
    notice = "Feed settings saved. Your next feed uses them." if request.query_params.get("saved") else None
    return _settings_page(ctx, ctx.services.feed.get_settings(ctx.session, viewer), notice=notice)


@router.post("/settings/feed")
def save_feed_settings(request: Request, ctx: Web = Depends(web_context),
                       form: FormData = Depends(checked_form)) -> Response:
    viewer = ctx.require_account()
    changes = {"mode": text(form, "mode") or None, "discovery": text(form, "discovery") or None,
               "kind_weights": {k: text(form, f"weight_{k}") for k in POST_KINDS if text(form, f"weight_{k}")}}
    _, error = attempt(ctx, lambda: ctx.services.feed.update_settings(ctx.session, viewer, changes))
    if error is not None:
        shown = ctx.services.feed.get_settings(ctx.session, viewer)
        return _settings_page(ctx, shown, error=sentence(error.message), status=error.status)
    return ctx.redirect("/settings/feed?saved=1")
