"""Profiles (posts, counts, follow / requested / unfollow, block and mute), follow requests, and
editing one's own profile."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from townsquare.errors import NotFound
from townsquare.server.cursors import decode_cursor, encode_cursor
from townsquare.social import accounts, blocks, client_events, graph, posts
from townsquare.social import media as media_service
from townsquare.social.models import Account
from townsquare.web import security
from townsquare.web.context import Web, web_context
from townsquare.web.forms import (
    attempt,
    checked_form,
    flag,
    parse_path_id,
    read_upload,
    sentence,
    start_param,
    text,
    upload,
)
from townsquare.web.people import PersonView, follow_state, follow_states, who_to_follow
from townsquare.web.views import avatar_url, post_cards

router = APIRouter()

PAGE_SIZE = 20


SUGGESTED_PAGE_SIZE = 30


@router.get("/people/suggested")
def suggested_people(ctx: Web = Depends(web_context)) -> Response:
    """People you may know: more of them than the side panel has room for, with every reason."""
    ctx.require_account()
    return ctx.render("suggested.html", people=who_to_follow(ctx, limit=SUGGESTED_PAGE_SIZE), suggestions=None)


@router.get("/@{handle}")
def profile(handle: str, request: Request, ctx: Web = Depends(web_context), cursor: str | None = None,
            start: str | None = None) -> Response:
    viewer = ctx.account
    account = blocks.require_visible(ctx.session, viewer, accounts.get_account_by_handle(ctx.session, handle))
    rel = graph.relationship(ctx.session, viewer, account.id) if viewer and viewer.id != account.id else None
    state = follow_state(rel, viewer, account)
    first = start_param(start)
    cards, next_url = [], None
    if not (rel and (rel.blocking or rel.blocked_by)):
        key = decode_cursor(cursor, "ts", "id", types={"ts": datetime, "id": int})
        rows = posts.list_account_posts(ctx.session, viewer, account.id,
                                        before=(key["ts"], key["id"]) if key else None, limit=PAGE_SIZE + 1)
        shown = rows[:PAGE_SIZE]
        cards = post_cards(ctx.session, viewer, shown, start=first)
        if len(rows) > PAGE_SIZE:
            last = shown[-1]
            next_url = f"/@{account.handle}?cursor={encode_cursor({'ts': last.created_at, 'id': last.id})}" \
                       f"&start={first + len(shown)}"
    if ctx.fragment():
        return ctx.render("_cards.html", cards=cards, next_url=next_url, surface="profile")
    if viewer is not None and viewer.id != account.id and cursor is None:
        client_events.ingest(ctx.session, viewer, [client_events.ClientEvent(
            action="profile_visit", entity_type="account", entity_id=account.id, surface="profile")])
    requests = []
    if state == "self" and account.is_private:
        requests = graph.list_follow_requests(ctx.session, account, limit=50).items
    locked = account.is_private and state not in ("self", "following") and not cards
    from townsquare.studio.service import list_public_ais

    return ctx.render("profile.html", account=account, account_avatar=avatar_url(ctx.session, account), rel=rel,
                      state=state, cards=cards, next_url=next_url, locked=locked, follow_requests=requests,
                      notice=request.query_params.get("notice"), ais=list_public_ais(ctx.session, account.id, viewer))


@router.get("/@{handle}/{which}")
def connections(handle: str, which: str, ctx: Web = Depends(web_context), cursor: str | None = None) -> Response:
    """Followers / following lists (private accounts show them to their followers only: the service says)."""
    from townsquare.web.views import avatar_urls

    if which not in ("followers", "following"):
        raise NotFound("no such page")
    account = accounts.get_account_by_handle(ctx.session, handle)
    lister = graph.list_followers if which == "followers" else graph.list_following
    page = lister(ctx.session, ctx.account, account.id, cursor=cursor, limit=PAGE_SIZE)
    people = [entry.account for entry in page.items]
    avatars = avatar_urls(ctx.session, people)
    states = follow_states(ctx.session, ctx.account, people)
    next_url = f"/@{account.handle}/{which}?cursor={quote(page.next_cursor)}" if page.next_cursor else None
    title = f"People following @{account.handle}" if which == "followers" else f"People @{account.handle} follows"
    return ctx.render("people.html", account=account, which=which, title=title, next_url=next_url,
                      people=[PersonView(a, avatars.get(a.id), states.get(a.id)) for a in people])


def _relationship_action(handle: str, ctx: Web, form: FormData, action, flash: str | None = None) -> Response:
    actor = ctx.require_account()
    account = _any_account(ctx, handle)  # the service decides (e.g. unblocking a suspended account is fine)
    action(ctx.session, actor, account.id)
    return ctx.redirect(security.safe_next(text(form, "next"), f"/@{account.handle}"), flash=flash)


def _any_account(ctx: Web, handle: str) -> Account:
    account = ctx.session.scalar(select(Account).where(Account.handle == accounts.normalize_handle(handle)))
    if account is None or account.status == "deleted":
        raise NotFound(f"no account @{accounts.normalize_handle(handle)}")
    return account


@router.post("/@{handle}/follow")
def follow(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.follow)


@router.post("/@{handle}/unfollow")
def unfollow(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.unfollow)


@router.post("/@{handle}/block")
def block(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.block, "blocked")


@router.post("/@{handle}/unblock")
def unblock(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.unblock, "unblocked")


@router.post("/@{handle}/mute")
def mute(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.mute, "muted")


@router.post("/@{handle}/unmute")
def unmute(handle: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    return _relationship_action(handle, ctx, form, graph.unmute, "unmuted")


@router.post("/follow_requests/{account_id}/{decision}")
def answer_follow_request(account_id: str, decision: str, ctx: Web = Depends(web_context),
                          form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    requester_id = parse_path_id(account_id, "account")
    if decision == "accept":
        graph.accept_follow_request(ctx.session, actor, requester_id)
    elif decision == "reject":
        graph.reject_follow_request(ctx.session, actor, requester_id)
    else:
        raise NotFound("no such page")
    return ctx.redirect(f"/@{actor.handle}")


# --- edit profile -----------------------------------------------------------------------------


def _edit_page(ctx: Web, account: Account, *, values: dict | None = None, errors: dict | None = None,
               error: str | None = None, notice: str | None = None, status: int = 200) -> Response:
    values = values or {"display_name": account.display_name, "bio": account.bio, "is_private": account.is_private}
    return ctx.render("profile_edit.html", status=status, account=account,
                      account_avatar=avatar_url(ctx.session, account), form=values, errors=errors or {},
                      error=error, notice=notice, max_bio_chars=accounts.MAX_BIO)


@router.get("/settings/profile")
def edit_profile_page(request: Request, ctx: Web = Depends(web_context)) -> Response:
    account = ctx.require_account()
    notice = "Profile saved." if request.query_params.get("saved") else None
    return _edit_page(ctx, account, notice=notice)


@router.post("/settings/profile")
def edit_profile(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    account = ctx.require_account()
    settings = request.app.state.settings
    values = {"display_name": text(form, "display_name"), "bio": text(form, "bio"),
              "is_private": flag(form, "is_private")}
    file = upload(form, "avatar")
    data = read_upload(file, settings.max_upload_bytes) if file is not None else None

    def save():
        changes: dict = {"display_name": values["display_name"], "bio": values["bio"],
                         "is_private": values["is_private"]}
        if data is not None:
            media = media_service.store_upload(ctx.session, account, data, media_dir=settings.media_store,
                                               max_bytes=settings.max_upload_bytes)
            changes["avatar_media_id"] = media.id
        elif flag(form, "remove_avatar"):
            changes["avatar_media_id"] = None
        accounts.update_profile(ctx.session, account, **changes)

    _, err = attempt(ctx, save)
    if err is not None:
        ctx.session.refresh(account)
        message = sentence(err.message)
        field = "avatar" if data is not None and err.status in (413, 415) or "avatar" in err.message else \
            "bio" if "bio" in err.message else "display_name" if "name" in err.message else None
        return _edit_page(ctx, account, values=values, errors={field: message} if field else {},
                          error=None if field else message, status=err.status)
    return ctx.redirect("/settings/profile?saved=1")

