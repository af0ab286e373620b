"""Accounts: the signed-in person (verify/update credentials), profiles, their statuses, followers
and following, follow/block/mute, relationships, search, follow requests, blocks and mutes lists,
favourites."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.errors import Conflict, NotFound
from townsquare.mastodon.auth import maybe, need
from townsquare.mastodon.common import cursor_list, offset_cursor, post_key, render, visible_account
from townsquare.mastodon.entities import Render
from townsquare.mastodon.ids import parse_plain_id, parse_status_id
from townsquare.mastodon.paging import Window, keyed_page, link_header, page_links, wide_window, window
from townsquare.mastodon.params import body, boolean, strings, text, upload
from townsquare.server.deps import get_session
from townsquare.social import accounts as account_service
from townsquare.social import graph, search
from townsquare.social import media as media_service
from townsquare.social.models import Account, Hashtag, Post, PostHashtag, Reaction
from townsquare.social.visibility import visible_posts_query

router = APIRouter(include_in_schema=False)


def _post_id(raw: str) -> int:
    kind, n = parse_status_id(raw)
    if kind != "post":
        raise NotFound("Record not found")
    return n


@router.get("/api/v1/accounts/verify_credentials")
def verify_credentials(request: Request, account: Account = Depends(need("profile", "read:accounts")),
                       session: Session = Depends(get_session)):
    return render(request, session, account).credential_account(
        account, graph.pending_request_count(session, account))


@router.patch("/api/v1/accounts/update_credentials")
def update_credentials(request: Request, params: dict = Depends(body),
                       account: Account = Depends(need("write:accounts")), session: Session = Depends(get_session)):
    """``display_name``, ``note`` (bio), ``locked`` (private account), ``avatar`` (an image file)."""
    changes: dict = {}
    if "display_name" in params:
        changes["display_name"] = text(params, "display_name", max_len=200)
    if "note" in params:
        changes["bio"] = text(params, "note", max_len=5000)
    if "locked" in params:
        changes["is_private"] = boolean(params, "locked")
    avatar = upload(params, "avatar")
    if avatar is not None:
        settings = request.app.state.settings
        data = avatar.file.read(settings.max_upload_bytes + 1)
        media = media_service.store_upload(session, account, data, media_dir=settings.media_dir,
                                           max_bytes=settings.max_upload_bytes)
        changes["avatar_media_id"] = media.id
    account_service.update_profile(session, account, **changes)
    return render(request, session, account).credential_account(
        account, graph.pending_request_count(session, account))


@router.get("/api/v1/accounts/lookup")
def lookup(request: Request, acct: str = Query("", max_length=300), viewer: Account | None = Depends(maybe("read:accounts")),
           session: Session = Depends(get_session)):
    handle = acct.strip().lstrip("@")
    local, _, domain = handle.partition("@")
    if domain and domain.lower() != request.url.hostname:
        raise NotFound("Record not found")
    try:
        account = account_service.get_account_by_handle(session, local)
    except NotFound:
        raise NotFound("Record not found")
    return render(request, session, viewer).account(visible_account(session, viewer, str(account.id)))


@router.get("/api/v1/accounts/relationships")
def relationships(params: dict = Depends(body), viewer: Account = Depends(need("read:follows")),
                  session: Session = Depends(get_session)):
    ids = []
    for raw in strings(params, "id", max_items=graph.MAX_RELATIONSHIPS):
        try:
            ids.append(parse_plain_id(raw))
        except NotFound:
            continue
    return [Render.relationship(r) for r in graph.relationships(session, viewer, ids)]


@router.get("/api/v1/accounts/familiar_followers")
def familiar_followers(params: dict = Depends(body), viewer: Account = Depends(need("read:follows"))):
    return [{"id": raw, "accounts": []} for raw in strings(params, "id", max_items=40)]


@router.get("/api/v1/accounts/search")
def search_accounts(request: Request, q: str = Query(..., max_length=300), limit: int = Query(40, ge=1, le=80),
                    offset: int = Query(0, ge=0, le=10_000), viewer: Account | None = Depends(maybe("read:accounts")),
                    session: Session = Depends(get_session)):
    page = search.search_people(session, viewer, q, cursor=offset_cursor(offset), limit=limit)
    shown = render(request, session, viewer)
    return [shown.account(a) for a in page.items]


@router.get("/api/v1/accounts/{account_id}")
def get_account(account_id: str, request: Request, viewer: Account | None = Depends(maybe("read:accounts")),
                session: Session = Depends(get_session)):
    return render(request, session, viewer).account(visible_account(session, viewer, account_id))


@router.get("/api/v1/accounts/{account_id}/statuses")
def account_statuses(account_id: str, request: Request, response: Response, params: dict = Depends(body),
                     w: Window = Depends(window), viewer: Account | None = Depends(maybe("read:statuses")),
                     session: Session = Depends(get_session)):
    """The account's posts the viewer may see, newest first (comments and reposts are not listed here)."""
    account = visible_account(session, viewer, account_id)
    if boolean(params, "pinned"):
        return []
    stmt = visible_posts_query(viewer.id if viewer else None).where(Post.author_id == account.id)
    if boolean(params, "only_media"):
        stmt = stmt.where(Post.kind.in_(("photo", "video")))
    tagged = text(params, "tagged", max_len=101)
    if tagged:
        tag = session.scalar(select(Hashtag.id).where(Hashtag.name == tagged.lstrip("#").lower()))
        if tag is None:
            return []
        stmt = stmt.where(Post.id.in_(select(PostHashtag.post_id).where(PostHashtag.hashtag_id == tag)))
    posts = keyed_page(session, stmt, Post.created_at, Post.id, w, _post_id, post_key(session))
    items = render(request, session, viewer).posts(posts)
    page_links(request, response, items, w.limit)
    return items


def _connections(request: Request, response: Response, w: Window, session: Session, viewer: Account | None,
                 account_id: str, followers: bool):
    account = visible_account(session, viewer, account_id)
    lister = graph.list_followers if followers else graph.list_following
    shown = render(request, session, viewer)
    return cursor_list(request, response, w,
                       lambda cursor, limit: lister(session, viewer, account.id, cursor=cursor, limit=limit),
                       lambda entry: shown.account(entry.account))


@router.get("/api/v1/accounts/{account_id}/followers")
def followers(account_id: str, request: Request, response: Response, w: Window = Depends(wide_window),
              viewer: Account | None = Depends(maybe("read:accounts")), session: Session = Depends(get_session)):
    return _connections(request, response, w, session, viewer, account_id, True)


@router.get("/api/v1/accounts/{account_id}/following")
def following(account_id: str, request: Request, response: Response, w: Window = Depends(wide_window),
              viewer: Account | None = Depends(maybe("read:accounts")), session: Session = Depends(get_session)):
    return _connections(request, response, w, session, viewer, account_id, False)


@router.get("/api/v1/accounts/{account_id}/featured_tags")
def featured_tags(account_id: str, viewer: Account | None = Depends(maybe("read:accounts")),
                  session: Session = Depends(get_session)):
    visible_account(session, viewer, account_id)
    return []


@router.get("/api/v1/accounts/{account_id}/lists")
def account_lists(account_id: str, viewer: Account = Depends(need("read:lists")),
                  session: Session = Depends(get_session)):
    visible_account(session, viewer, account_id)
    return []


def _relationship(session: Session, viewer: Account, account_id: int) -> dict:
    return Render.relationship(graph.relationship(session, viewer, account_id))


def _idempotent(action, *, already=(Conflict,)):
    try:
        action()
    except already:
        pass


@router.post("/api/v1/accounts/{account_id}/follow")
def follow(account_id: str, viewer: Account = Depends(need("write:follows")), session: Session = Depends(get_session)):
    """Follow (or ask to follow a private account). Following again is not an error."""
    account = visible_account(session, viewer, account_id)
    _idempotent(lambda: graph.follow(session, viewer, account.id))
    return _relationship(session, viewer, account.id)


@router.post("/api/v1/accounts/{account_id}/unfollow")
def unfollow(account_id: str, viewer: Account = Depends(need("write:follows")), session: Session = Depends(get_session)):
    account = visible_account(session, viewer, account_id)
    _idempotent(lambda: graph.unfollow(session, viewer, account.id), already=(NotFound,))
    return _relationship(session, viewer, account.id)


@router.post("/api/v1/accounts/{account_id}/remove_from_followers")
def remove_from_followers(account_id: str, viewer: Account = Depends(need("write:follows")),
                          session: Session = Depends(get_session)):
    account = graph.get_account(session, parse_plain_id(account_id))
    _idempotent(lambda: graph.remove_follower(session, viewer, account.id), already=(NotFound,))
    return _relationship(session, viewer, account.id)


def _block_or_mute(session: Session, viewer: Account, account_id: str, action, already) -> dict:
    account = graph.get_account(session, parse_plain_id(account_id), active_only=False)
    _idempotent(lambda: action(session, viewer, account.id), already=already)
    return _relationship(session, viewer, account.id)


@router.post("/api/v1/accounts/{account_id}/block")
def block(account_id: str, viewer: Account = Depends(need("write:blocks")), session: Session = Depends(get_session)):
    return _block_or_mute(session, viewer, account_id, graph.block, (Conflict,))


@router.post("/api/v1/accounts/{account_id}/unblock")
def unblock(account_id: str, viewer: Account = Depends(need("write:blocks")), session: Session = Depends(get_session)):
    return _block_or_mute(session, viewer, account_id, graph.unblock, (NotFound,))


@router.post("/api/v1/accounts/{account_id}/mute")
def mute(account_id: str, viewer: Account = Depends(need("write:mutes")), session: Session = Depends(get_session)):
    return _block_or_mute(session, viewer, account_id, graph.mute, (Conflict,))


@router.post("/api/v1/accounts/{account_id}/unmute")
def unmute(account_id: str, viewer: Account = Depends(need("write:mutes")), session: Session = Depends(get_session)):
    return _block_or_mute(session, viewer, account_id, graph.unmute, (NotFound,))


# --- the person's own lists -------------------------------------------------------------------------


@router.get("/api/v1/blocks")
def blocks_list(request: Request, response: Response, w: Window = Depends(wide_window),
                viewer: Account = Depends(need("read:blocks")), session: Session = Depends(get_session)):
    shown = render(request, session, viewer)
    return cursor_list(request, response, w, lambda c, n: graph.list_blocks(session, viewer, cursor=c, limit=n),
                       lambda entry: shown.account(entry.account))


@router.get("/api/v1/mutes")
def mutes_list(request: Request, response: Response, w: Window = Depends(wide_window),
               viewer: Account = Depends(need("read:mutes")), session: Session = Depends(get_session)):
    shown = render(request, session, viewer)
    return cursor_list(request, response, w, lambda c, n: graph.list_mutes(session, viewer, cursor=c, limit=n),
                       lambda entry: shown.account(entry.account))


@router.get("/api/v1/follow_requests")
def follow_requests(request: Request, response: Response, w: Window = Depends(wide_window),
                    viewer: Account = Depends(need("read:follows")), session: Session = Depends(get_session)):
    shown = render(request, session, viewer)
    return cursor_list(request, response, w,
                       lambda c, n: graph.list_follow_requests(session, viewer, cursor=c, limit=n),
                       lambda entry: shown.account(entry.account))


@router.post("/api/v1/follow_requests/{account_id}/authorize")
def authorize_request(account_id: str, viewer: Account = Depends(need("write:follows")),
                      session: Session = Depends(get_session)):
    requester = parse_plain_id(account_id)
    graph.accept_follow_request(session, viewer, requester)
    return _relationship(session, viewer, requester)


@router.post("/api/v1/follow_requests/{account_id}/reject")
def reject_request(account_id: str, viewer: Account = Depends(need("write:follows")),
                   session: Session = Depends(get_session)):
    requester = parse_plain_id(account_id)
    graph.reject_follow_request(session, viewer, requester)
    return _relationship(session, viewer, requester)


@router.get("/api/v1/favourites")
def favourites(request: Request, response: Response, w: Window = Depends(window),
               viewer: Account = Depends(need("read:favourites")), session: Session = Depends(get_session)):
    """Posts the person reacted to (any reaction) that they may still see, most recent reaction first.
    Paged by the reaction, as on Mastodon (the Link header carries it)."""
    stmt = (visible_posts_query(viewer.id).add_columns(Reaction.id, Reaction.created_at)
            .join(Reaction, Reaction.post_id == Post.id).where(Reaction.account_id == viewer.id))

    def key_of(reaction_id: int):
        row = session.execute(select(Reaction.created_at, Reaction.id).where(
            Reaction.id == reaction_id, Reaction.account_id == viewer.id)).first()
        return (row[0], row[1]) if row else None

    def parse(raw: str) -> int:
        return parse_plain_id(raw)

    rows = keyed_page(session, stmt, Reaction.created_at, Reaction.id, w, parse, key_of, scalars=False)
    items = render(request, session, viewer).posts([r[0] for r in rows])
    if rows:
        link_header(request, response, next_max=str(rows[-1][1]) if len(rows) >= w.limit else None,
                    prev_min=str(rows[0][1]))
    return items


@router.get("/api/v1/bookmarks")
def bookmarks(viewer: Account = Depends(need("read:bookmarks"))):
    return []


@router.get("/api/v1/endorsements")
def endorsements(viewer: Account = Depends(need("read:accounts"))):
    return []

