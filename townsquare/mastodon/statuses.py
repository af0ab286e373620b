"""Statuses: post (with media, replies, direct messages, an ``Idempotency-Key``), read, edit, delete,
context (the comment thread), favourite, reblog and who did.

How a status maps onto Townsquare (docs/mastodon.md): a top-level status is a post (``public`` or
``private`` = followers-only; ``unlisted`` becomes followers-only, the narrower audience); a reply is a
comment on the post; a ``direct`` status is a direct message to the one account it mentions; a reblog
is a repost; a favourite is a reaction (``like``, and any reaction shows as favourited).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.errors import Conflict, InvalidInput, NotFound
from townsquare.mastodon.auth import maybe, need
from townsquare.mastodon.common import render
from townsquare.mastodon.entities import Render
from townsquare.mastodon.ids import parse_plain_id
from townsquare.mastodon.lookup import Found, find, render_found, reposter_visible
from townsquare.mastodon.params import body, strings, text
from townsquare.server.deps import get_session
from townsquare.social import comments, messages, posts, reactions
from townsquare.social.blocks import blocked_either_way
from townsquare.social.media import owned_media
from townsquare.social.models import Account, Media, Reaction, Repost
from townsquare.social.posts import parse_mentions, viewer_states

router = APIRouter(include_in_schema=False)

VISIBILITY_IN = {"public": "public", "unlisted": "followers", "private": "followers"}
MAX_STATUS_CHARS = 20_000
MAX_LISTED = 80


def _media(session: Session, account: Account, raw_ids: list[str]) -> list[Media]:
    ids = []
    for raw in raw_ids:
        try:
            ids.append(parse_plain_id(raw))
        except NotFound:
            raise InvalidInput(f"media id {raw[:40]!r} is not valid")
    return owned_media(session, account, ids)


def _compose_text(params: dict) -> str:
    status = text(params, "status", max_len=MAX_STATUS_CHARS) or ""
    spoiler = (text(params, "spoiler_text", max_len=1000) or "").strip()
    # Townsquare has no content warnings: the warning leads the text, so nothing is lost.
    return f"CW: {spoiler}\n\n{status}" if spoiler else status


def _refuse_unsupported(params: dict) -> None:
    if params.get("poll"):
        raise InvalidInput("polls are not supported on Townsquare")
    if params.get("scheduled_at"):
        raise InvalidInput("scheduled posts are not supported on Townsquare")
    if params.get("quoted_status_id"):
        raise InvalidInput("quote posts are not supported on Townsquare")


def _direct(session: Session, viewer: Account, text_: str, reply_to: Found | None, media: list) -> tuple:
    if media:
        raise InvalidInput("direct messages carry text only on Townsquare")
    if reply_to is not None:
        if reply_to.kind != "message":
            raise InvalidInput("a direct reply must answer a direct message")
        message = messages.reply(session, viewer, reply_to.conversation.id, text_)
    else:
        handles = [h for h in parse_mentions(text_) if h != viewer.handle]
        if len(handles) != 1:
            raise InvalidInput("a direct message mentions exactly one account (Townsquare's messages are "
                               "one-to-one)")
        recipient = session.scalar(select(Account).where(Account.handle == handles[0], Account.status != "deleted"))
        if recipient is None:
            raise NotFound(f"no account @{handles[0]}")
        message = messages.send_message(session, viewer, recipient.id, text_)
    conversation = messages.get_conversation(session, viewer, message.conversation_id)
    return message, conversation


@router.post("/api/v1/statuses")
def create_status(request: Request, params: dict = Depends(body), viewer: Account = Depends(need("write:statuses")),
                  session: Session = Depends(get_session)):
    services = request.app.state.services
    key = (request.headers.get("idempotency-key") or "").strip()
    shown = render(request, session, viewer)
    if key:
        earlier = services.mastodon_idempotency.get(viewer.id, key)
        if earlier:
            try:
                return render_found(shown, find(session, viewer, earlier))
            except NotFound:
                pass  # it never committed, or was deleted since: post again
    _refuse_unsupported(params)
    text_ = _compose_text(params)
    media = _media(session, viewer, strings(params, "media_ids", max_items=10, max_len=40))
    visibility = text(params, "visibility", max_len=20) or "public"
    reply_raw = text(params, "in_reply_to_id", max_len=40)
    reply_to = find(session, viewer, reply_raw) if reply_raw else None
    if visibility == "direct":
        message, conversation = _direct(session, viewer, text_, reply_to, media)
        status = shown.messages([(message, conversation)])[0]
    elif visibility not in VISIBILITY_IN:
        raise InvalidInput("visibility must be public, unlisted, private or direct")
    elif reply_to is not None:
        if media:
            raise InvalidInput("replies are comments on Townsquare and carry text only")
        if reply_to.kind == "message":
            raise InvalidInput("answer a direct message with visibility direct")
        parent = reply_to.comment.id if reply_to.kind == "comment" else None
        comment = comments.add_comment(session, viewer, reply_to.post.id, text_, parent_id=parent)
        status = shown.comment(comment)
    else:
        kinds = {m.kind for m in media}
        kind = "text" if not media else "video" if kinds == {"video"} else "photo"
        post = posts.create_post(session, viewer, kind=kind, text=text_, visibility=VISIBILITY_IN[visibility],
                                 media_ids=[m.id for m in media])
        status = shown.post(post)
    if key:
        session.commit()  # remembered only once it is there
        services.mastodon_idempotency.put(viewer.id, key, status["id"])
    return status


@router.get("/api/v1/statuses")
def many_statuses(request: Request, params: dict = Depends(body), viewer: Account | None = Depends(maybe("read:statuses")),
                  session: Session = Depends(get_session)):
    shown, out = render(request, session, viewer), []
    for raw in strings(params, "id", max_items=MAX_LISTED, max_len=40):
        try:
            out.append(render_found(shown, find(session, viewer, raw)))
        except NotFound:
            continue
    return out


@router.get("/api/v1/statuses/{status_id}")
def get_status(status_id: str, request: Request, viewer: Account | None = Depends(maybe("read:statuses")),
               session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    if found.kind == "post" and viewer is not None:
        posts.open_post(session, viewer, found.post.id, surface="mastodon")  # logs the open, as the page does
    return render_found(render(request, session, viewer), found)


def _source_text(found: Found) -> str:
    return {"post": lambda: found.post.text, "comment": lambda: found.comment.text,
            "repost": lambda: "", "message": lambda: found.message.text}[found.kind]()


@router.delete("/api/v1/statuses/{status_id}")
def delete_status(status_id: str, request: Request, viewer: Account = Depends(need("write:statuses")),
                  session: Session = Depends(get_session)):
    """Delete a post or a comment (returns it with its ``text``, for "delete and redraft"); a reblog
    is undone; direct messages cannot be deleted."""
    found = find(session, viewer, status_id)
    shown = render(request, session, viewer)
    status = render_found(shown, found) | {"text": _source_text(found)}
    if found.kind == "post":
        posts.delete_post(session, viewer, found.post.id)
    elif found.kind == "comment":
        comments.delete_comment(session, viewer, found.comment.id)
    elif found.kind == "repost":
        if found.repost.account_id != viewer.id:
            raise InvalidInput("only the reposter can undo a repost")
        reactions.unrepost(session, viewer, found.post.id)
    else:
        raise InvalidInput("direct messages cannot be deleted on Townsquare")
    return status


@router.put("/api/v1/statuses/{status_id}")
def edit_status(status_id: str, request: Request, params: dict = Depends(body),
                viewer: Account = Depends(need("write:statuses")), session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    _refuse_unsupported(params)
    new_text = _compose_text(params)
    if "media_ids" in params and found.kind == "post":
        wanted = [m.id for m in _media(session, viewer, strings(params, "media_ids", max_items=10, max_len=40))]
        if wanted != [pm.media_id for pm in found.post.media]:
            raise InvalidInput("the media of a post cannot be changed on Townsquare")
    if found.kind == "post":
        post = posts.edit_post(session, viewer, found.post.id, text=new_text)
        return render(request, session, viewer).post(post)
    if found.kind == "comment":
        comment = comments.edit_comment(session, viewer, found.comment.id, new_text)
        return render(request, session, viewer).comment(comment)
    raise InvalidInput("only posts and replies can be edited")


@router.get("/api/v1/statuses/{status_id}/source")
def status_source(status_id: str, viewer: Account = Depends(need("read:statuses")),
                  session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    return {"id": status_id, "text": _source_text(found), "spoiler_text": ""}


@router.get("/api/v1/statuses/{status_id}/history")
def status_history(status_id: str, request: Request, viewer: Account | None = Depends(maybe("read:statuses")),
                   session: Session = Depends(get_session)):
    """Townsquare keeps no earlier versions: the history is the current one."""
    status = render_found(render(request, session, viewer), find(session, viewer, status_id))
    return [{k: status[k] for k in ("content", "spoiler_text", "sensitive", "account", "media_attachments",
                                    "emojis")} | {"created_at": status["edited_at"] or status["created_at"]}]


@router.get("/api/v1/statuses/{status_id}/context")
def status_context(status_id: str, request: Request, viewer: Account | None = Depends(maybe("read:statuses")),
                   session: Session = Depends(get_session)):
    """The thread: a post's comments (depth first, as shown on its page) as descendants; for a comment,
    the post and the comments above it as ancestors and its replies as descendants."""
    found = find(session, viewer, status_id)
    if found.kind not in ("post", "comment"):
        return {"ancestors": [], "descendants": []}
    shown = render(request, session, viewer)
    roots = comments.comment_thread(session, viewer, found.post.id, limit=10_000)
    order, parent_of = [], {}

    def walk(node, parent_id):
        parent_of[node.comment.id] = parent_id
        order.append(node)
        for child in node.replies:
            walk(child, node.comment.id)

    for root in roots:
        walk(root, None)
    alive = [n for n in order if not n.deleted]
    if found.kind == "post":
        return {"ancestors": [], "descendants": shown.comments([n.comment for n in alive])}
    chain, cursor = [], parent_of.get(found.comment.id)
    by_id = {n.comment.id: n for n in order}
    while cursor is not None:
        if not by_id[cursor].deleted:
            chain.append(by_id[cursor].comment)
        cursor = parent_of.get(cursor)
    below, inside = [], False
    for node in order:  # the subtree of this comment: after it in depth-first order, until a sibling
        if node.comment.id == found.comment.id:
            inside = True
            continue
        if inside:
            ancestor = parent_of.get(node.comment.id)
            while ancestor is not None and ancestor != found.comment.id:
                ancestor = parent_of.get(ancestor)
            if ancestor is None:
                break
            if not node.deleted:
                below.append(node.comment)
    return {"ancestors": [shown.post(found.post)] + shown.comments(chain[::-1]),
            "descendants": shown.comments(below)}


def _post_only(found: Found, what: str) -> None:
    if found.kind == "repost":
        found.kind = "post"  # acting on a reblog acts on the post it carries, as on Mastodon
    if found.kind != "post":
        raise InvalidInput(f"only posts can be {what} on Townsquare")


@router.post("/api/v1/statuses/{status_id}/favourite")
def favourite(status_id: str, request: Request, viewer: Account = Depends(need("write:favourites")),
              session: Session = Depends(get_session)):
    """A ``like`` reaction; a post you already reacted to (with any reaction) stays as it is."""
    found = find(session, viewer, status_id)
    _post_only(found, "favourited")
    state = viewer_states(session, viewer, [found.post.id]).get(found.post.id)
    if state is None or not state.reaction:
        try:
            reactions.react(session, viewer, found.post.id, "like", surface="mastodon")
        except Conflict:
            pass
    return render(request, session, viewer).post(posts.get_post(session, viewer, found.post.id))


@router.post("/api/v1/statuses/{status_id}/unfavourite")
def unfavourite(status_id: str, request: Request, viewer: Account = Depends(need("write:favourites")),
                session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    _post_only(found, "favourited")
    try:
        reactions.unreact(session, viewer, found.post.id, surface="mastodon")
    except NotFound:
        pass
    return render(request, session, viewer).post(posts.get_post(session, viewer, found.post.id))


@router.post("/api/v1/statuses/{status_id}/reblog")
def reblog(status_id: str, request: Request, viewer: Account = Depends(need("write:statuses")),
           session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    _post_only(found, "reblogged")
    try:
        row = reactions.repost(session, viewer, found.post.id, surface="mastodon")
    except Conflict:
        row = session.scalar(select(Repost).where(Repost.account_id == viewer.id, Repost.post_id == found.post.id))
    post = posts.get_post(session, viewer, found.post.id)
    return render(request, session, viewer).reblog(row, post, viewer)


@router.post("/api/v1/statuses/{status_id}/unreblog")
def unreblog(status_id: str, request: Request, viewer: Account = Depends(need("write:statuses")),
             session: Session = Depends(get_session)):
    found = find(session, viewer, status_id)
    _post_only(found, "reblogged")
    try:
        reactions.unrepost(session, viewer, found.post.id)
    except NotFound:
        pass
    return render(request, session, viewer).post(posts.get_post(session, viewer, found.post.id))


@router.get("/api/v1/statuses/{status_id}/favourited_by")
def favourited_by(status_id: str, request: Request, viewer: Account | None = Depends(maybe("read:accounts")),
                  session: Session = Depends(get_session)):
    """Who reacted: shown to the post's author only (who learns it from notifications anyway);
    Townsquare lists who liked a post to nobody else."""
    found = find(session, viewer, status_id)
    if found.kind != "post" or viewer is None or found.post.author_id != viewer.id:
        return []
    rows = session.scalars(select(Account).join(Reaction, Reaction.account_id == Account.id)
                           .where(Reaction.post_id == found.post.id, Account.status == "active")
                           .order_by(Reaction.created_at.desc()).limit(MAX_LISTED))
    shown = render(request, session, viewer)
    return [shown.account(a) for a in rows if not blocked_either_way(session, viewer.id, a.id)]


@router.get("/api/v1/statuses/{status_id}/reblogged_by")
def reblogged_by(status_id: str, request: Request, viewer: Account | None = Depends(maybe("read:accounts")),
                 session: Session = Depends(get_session)):
    """Who reposted, among those whose reposts the viewer may see (public accounts, people the viewer
    follows, never across a block)."""
    found = find(session, viewer, status_id)
    if found.kind not in ("post", "repost"):
        return []
    rows = session.scalars(select(Account).join(Repost, Repost.account_id == Account.id)
                           .where(Repost.post_id == found.post.id).order_by(Repost.created_at.desc())
                           .limit(MAX_LISTED))
    shown: Render = render(request, session, viewer)
    return [shown.account(a) for a in rows if reposter_visible(session, viewer, a)]


def _not_supported(what: str):
    def route(status_id: str, viewer: Account = Depends(need("write:statuses", "write:bookmarks")),
              session: Session = Depends(get_session)):
        find(session, viewer, status_id)
        raise InvalidInput(f"{what} are not supported on Townsquare")

    return route


for _action, _what in (("bookmark", "bookmarks"), ("unbookmark", "bookmarks"), ("pin", "pinned posts"),
                       ("unpin", "pinned posts"), ("mute", "muted conversations"), ("unmute", "muted conversations")):
    router.add_api_route(f"/api/v1/statuses/{{status_id}}/{_action}", _not_supported(_what), methods=["POST"])

