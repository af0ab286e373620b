"""Home timeline, compose, the post page with its comments, and the no-script fallbacks for
like / repost / delete / hide (the page script calls the JSON API for those instead)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from townsquare.server.cursors import decode_cursor, encode_cursor
from townsquare.social import comments, posts, reactions, timeline
from townsquare.social import media as media_service
from townsquare.social.comments import comment_thread
from townsquare.social.posts import MAX_TEXT
from townsquare.web import security
from townsquare.web.context import Web, web_context
from townsquare.web.forms import (
    attempt,
    checked_form,
    flag,
    optional_id,
    parse_path_id,
    read_upload,
    sentence,
    start_param,
    text,
    uploads,
)
from townsquare.web.people import who_to_follow
from townsquare.web.views import avatar_urls, post_cards

router = APIRouter()

PAGE_SIZE = 20
MAX_FILES = posts.MAX_PHOTOS + 1  # one more than allowed, so the service can say "at most 4"
MAX_COMMENT_CHARS = getattr(comments, "MAX_TEXT", 5000)


# --- the Following timeline (home's second tab) --------------------------------------------------------------------------


@router.get("/following")
def home(request: Request, ctx: Web = Depends(web_context), cursor: str | None = None,
         start: str | None = None) -> Response:
    if ctx.account is None:
        return ctx.redirect("/signin?next=/following")
    key = decode_cursor(cursor, "ts", "src", "id", types={"ts": datetime, "src": int, "id": int})
    before = (key["ts"], key["src"], key["id"]) if key else None
    entries = timeline.home_timeline(ctx.session, ctx.account, before=before, limit=PAGE_SIZE + 1)
    first = start_param(start)
    shown = entries[:PAGE_SIZE]
    cards = post_cards(ctx.session, ctx.account, [e.post for e in shown], start=first,
                       reposted_by=[e.reposted_by for e in shown])
    next_url = None
    if len(entries) > PAGE_SIZE:
        last = shown[-1]
        next_url = f"/following?cursor={encode_cursor({'ts': last.ts, 'src': last.source, 'id': last.entry_id})}" \
                   f"&start={first + len(shown)}"
    if ctx.fragment():
        return ctx.render("_cards.html", cards=cards, next_url=next_url, surface="home")
    return ctx.render("home.html", tab="following", cards=cards, next_url=next_url, form=None,
                      max_post_chars=MAX_TEXT, suggestions=who_to_follow(ctx))


# --- compose --------------------------------------------------------------------------------


@router.get("/compose")
def compose_page(ctx: Web = Depends(web_context)) -> Response:
    ctx.require_account()
    return ctx.render("compose.html", form=None, max_post_chars=MAX_TEXT, compose_next="/")


@router.post("/compose")
def compose(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    """One form for every kind: a file makes a photo/video post, a link makes a link post, else text."""
    author = ctx.require_account()
    settings = request.app.state.settings
    values = {
        "text": text(form, "text"), "link_url": text(form, "link_url").strip(),
        "link_title": text(form, "link_title").strip(), "followers_only": flag(form, "followers_only"),
        "kind": text(form, "kind"),
    }
    files = [read_upload(f, settings.max_upload_bytes) for f in uploads(form, "media")[:MAX_FILES]]
    # Alt text, one field per chosen file, in the same order (the composer's preview adds them).
    alts = [a.strip() if isinstance(a, str) else "" for a in form.getlist("alt")][:len(files)]
    alts += [""] * (len(files) - len(alts))

    def publish():
        visibility = "followers" if values["followers_only"] else "public"
        if files:
            stored = [media_service.store_upload(ctx.session, author, data, media_dir=settings.media_store,
                                                 max_bytes=settings.max_upload_bytes, description=alt)
                      for data, alt in zip(files, alts, strict=True)]
            # The first file decides the kind; the posts service refuses mixes and too many files.
            kind = "photo" if stored[0].kind == "image" else "video"
            return posts.create_post(ctx.session, author, kind=kind, text=values["text"], visibility=visibility,
                                     media_ids=[m.id for m in stored])
        if values["link_url"]:
            return posts.create_post(ctx.session, author, kind="link", text=values["text"], visibility=visibility,
                                     link_url=values["link_url"], link_title=values["link_title"] or None)
        return posts.create_post(ctx.session, author, kind="text", text=values["text"], visibility=visibility)

    post, error = attempt(ctx, publish)
    if error is not None:
        return ctx.render("compose.html", status=error.status, form=values, compose_error=sentence(error.message),
                          max_post_chars=MAX_TEXT, compose_next=security.safe_next(text(form, "next")))
    return ctx.redirect(security.safe_next(text(form, "next"), "/") if post is not None else "/")


# --- the post page --------------------------------------------------------------------------


def _post_page(ctx: Web, post_id: int, *, status: int = 200, comment_error: str | None = None,
               comment_text: str = "", log_open: bool = True) -> Response:
    if log_open:
        post = posts.open_post(ctx.session, ctx.account, post_id, surface="post")
    else:
        post = posts.get_post(ctx.session, ctx.account, post_id)
    card = post_cards(ctx.session, ctx.account, [post])[0]
    thread = comment_thread(ctx.session, ctx.account, post.id, limit=200)
    authors = []
    stack = list(thread)
    while stack:
        node = stack.pop()
        authors.append(node.comment.author)
        stack.extend(node.replies)
    return ctx.render("post.html", status=status, card=card, thread=thread,
                      comment_avatars=avatar_urls(ctx.session, authors), comment_error=comment_error,
                      comment_text=comment_text, max_comment_chars=MAX_COMMENT_CHARS)


@router.get("/p/{post_id}")
def post_page(post_id: str, ctx: Web = Depends(web_context)) -> Response:
    return _post_page(ctx, parse_path_id(post_id, "post"))


@router.get("/posts/{post_id}")
def old_post_address(post_id: str) -> Response:
    """``/posts/N`` (what models and other apps tend to write) is the post page ``/p/N``."""
    return RedirectResponse(f"/p/{parse_path_id(post_id, 'post')}", status_code=301)


@router.post("/p/{post_id}/comments")
def add_comment(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    pid = parse_path_id(post_id, "post")
    body = text(form, "text")
    parent_id = optional_id(form, "parent_id")
    comment, error = attempt(ctx, lambda: comments.add_comment(ctx.session, actor, pid, body, parent_id=parent_id))
    if error is not None:
        if error.status == 404 and parent_id is None:
            raise error
        return _post_page(ctx, pid, status=error.status, comment_error=sentence(error.message), comment_text=body,
                          log_open=False)
    return ctx.redirect(f"/p/{pid}#c{comment.id}")


@router.post("/p/{post_id}/comments/{comment_id}/delete")
def delete_comment(post_id: str, comment_id: str, ctx: Web = Depends(web_context),
                   form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    pid = parse_path_id(post_id, "post")
    comments.delete_comment(ctx.session, actor, parse_path_id(comment_id, "comment"))
    return ctx.redirect(f"/p/{pid}")


# --- no-script fallbacks for the buttons on a card ------------------------------------------


def _back(form: FormData, default: str) -> str:
    return security.safe_next(text(form, "next"), default)


@router.post("/p/{post_id}/like")
def toggle_like(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    pid = parse_path_id(post_id, "post")
    state = posts.viewer_states(ctx.session, actor, [pid]).get(pid)
    if state is not None and state.reaction:
        reactions.unreact(ctx.session, actor, pid)
    else:
        reactions.react(ctx.session, actor, pid, "like")
    return ctx.redirect(_back(form, f"/p/{pid}"))


@router.post("/p/{post_id}/react")
def choose_reaction(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    """The reaction picker without script: the same kind again removes it, another kind replaces it."""
    actor = ctx.require_account()
    pid = parse_path_id(post_id, "post")
    kind = text(form, "kind")
    state = posts.viewer_states(ctx.session, actor, [pid]).get(pid)
    if state is not None and state.reaction == kind:
        reactions.unreact(ctx.session, actor, pid)
    else:
        reactions.react(ctx.session, actor, pid, kind)
    return ctx.redirect(_back(form, f"/p/{pid}"))


@router.post("/p/{post_id}/repost")
def toggle_repost(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    pid = parse_path_id(post_id, "post")
    state = posts.viewer_states(ctx.session, actor, [pid]).get(pid)
    if state is not None and state.reposted:
        reactions.unrepost(ctx.session, actor, pid)
    else:
        reactions.repost(ctx.session, actor, pid)
    return ctx.redirect(_back(form, f"/p/{pid}"))


@router.post("/p/{post_id}/delete")
def delete_post(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    actor = ctx.require_account()
    posts.delete_post(ctx.session, actor, parse_path_id(post_id, "post"))
    return ctx.redirect(f"/@{actor.handle}", flash="deleted")


@router.post("/p/{post_id}/hide")
def hide_post(post_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    """"Show less like this": the feed logs a hide and lowers the post, its author and its hashtags."""
    actor = ctx.require_account()
    ctx.services.feed.show_less(ctx.session, actor, parse_path_id(post_id, "post"))
    return ctx.redirect(_back(form, "/"), flash="hidden")
