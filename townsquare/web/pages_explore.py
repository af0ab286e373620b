"""Search (posts and people), hashtag pages, reporting, and the admin moderation queue."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from starlette.datastructures import FormData

from townsquare.errors import InvalidInput, NotFound
from townsquare.social import blocks, moderation, posts, search
from townsquare.social.models import Account, Comment, Post, Report
from townsquare.web import security
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, optional_id, sentence, start_param, text
from townsquare.web.people import PersonView, follow_states
from townsquare.web.views import avatar_urls, post_cards

router = APIRouter()

PAGE_SIZE = 20


# --- search ---------------------------------------------------------------------------------


@router.get("/search")
def search_page(ctx: Web = Depends(web_context), q: str = "", tab: str = "posts", cursor: str | None = None,
                start: str | None = None) -> Response:
    query = q.strip()
    tab = tab if tab in ("posts", "people") else "posts"
    context: dict = {"query": query, "tab": tab, "cards": [], "people": [], "hashtag": None, "next_url": None,
                     "error": None}
    if not query:
        return ctx.render("search.html", **context)
    first = start_param(start)
    if tab == "people":
        page, error = attempt(ctx, lambda: search.search_people(ctx.session, ctx.account, query, cursor=cursor,
                                                                 limit=PAGE_SIZE))
        if page is not None:
            avatars = avatar_urls(ctx.session, page.items)
            states = follow_states(ctx.session, ctx.account, page.items)
            context["people"] = [PersonView(a, avatars.get(a.id), states.get(a.id)) for a in page.items]
    else:
        page, error = attempt(ctx, lambda: search.search_posts(ctx.session, ctx.account, query, cursor=cursor,
                                                                limit=PAGE_SIZE))
        if page is not None:
            context["cards"] = post_cards(ctx.session, ctx.account, page.items, start=first)
        tag = query.lstrip("#")
        if cursor is None and query.startswith("#") and tag and " " not in tag:
            context["hashtag"], _ = attempt(ctx, lambda: search.hashtag_info(ctx.session, ctx.account, tag))
    if error is not None:
        context["error"] = sentence(error.message)
    elif page.next_cursor:
        context["next_url"] = "/search?" + urlencode({"q": query, "tab": tab, "cursor": page.next_cursor,
                                                      "start": first + len(page.items)})
    if ctx.fragment() and tab == "posts":
        return ctx.render("_cards.html", cards=context["cards"], next_url=context["next_url"], surface="search")
    return ctx.render("search.html", status=error.status if error is not None else 200, **context)


@router.get("/tags/{name}")
def hashtag_page(name: str, ctx: Web = Depends(web_context), cursor: str | None = None,
                 start: str | None = None) -> Response:
    try:
        info = search.hashtag_info(ctx.session, ctx.account, name)
    except InvalidInput:
        raise NotFound("no such hashtag")
    page = search.hashtag_posts(ctx.session, ctx.account, info.name, cursor=cursor, limit=PAGE_SIZE)
    first = start_param(start)
    cards = post_cards(ctx.session, ctx.account, page.items, start=first)
    next_url = (f"/tags/{info.name}?cursor={quote(page.next_cursor)}&start={first + len(cards)}"
                if page.next_cursor else None)
    if ctx.fragment():
        return ctx.render("_cards.html", cards=cards, next_url=next_url, surface="hashtag")
    return ctx.render("tag.html", tag=info, cards=cards, next_url=next_url)


@router.post("/tags/{name}/{action}")
def follow_hashtag(name: str, action: str, ctx: Web = Depends(web_context),
                   form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    if action == "follow":
        info = search.follow_hashtag(ctx.session, me, name)
    elif action == "unfollow":
        search.unfollow_hashtag(ctx.session, me, name)
        info = search.hashtag_info(ctx.session, me, name)
    else:
        raise NotFound("no such page")
    return ctx.redirect(f"/tags/{info.name}")


# --- reports --------------------------------------------------------------------------------


def _report_target(ctx: Web, post_id: int | None, account_id: int | None, comment_id: int | None):
    """(target_type, target_id, label) for the report form; 404 for what the person cannot see."""
    if post_id is not None:
        post = posts.get_post(ctx.session, ctx.account, post_id)
        return "post", post.id, f"this post by @{post.author.handle}"
    if comment_id is not None:
        comment = ctx.session.get(Comment, comment_id)
        if comment is None or comment.deleted_at is not None:
            raise NotFound("no such comment")
        posts.get_post(ctx.session, ctx.account, comment.post_id)
        return "comment", comment.id, f"this comment by @{comment.author.handle}"
    if account_id is not None:
        account = ctx.session.get(Account, account_id)
        if account is None or account.status == "deleted":
            raise NotFound("no such account")
        blocks.require_visible(ctx.session, ctx.account, account)  # the block rule: not there for you
        return "account", account.id, f"@{account.handle}"
    raise InvalidInput("choose what to report")


@router.get("/report")
def report_page(ctx: Web = Depends(web_context)) -> Response:
    ctx.require_account()
    params = ctx.request.query_params
    post_id, account_id, comment_id = (optional_id(params, "post"), optional_id(params, "account"),
                                       optional_id(params, "comment"))
    _, _, label = _report_target(ctx, post_id, account_id, comment_id)
    return ctx.render("report.html", post_id=post_id, account_id=account_id, comment_id=comment_id,
                      target_label=label, next=security.safe_next(params.get("next"),
                                                                  f"/p/{post_id}" if post_id else "/"))


@router.post("/report")
def send_report(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    post_id, account_id, comment_id = (optional_id(form, "post_id"), optional_id(form, "account_id"),
                                       optional_id(form, "comment_id"))
    target_type, target_id, label = _report_target(ctx, post_id, account_id, comment_id)
    reason, details = text(form, "reason"), text(form, "details")
    back = security.safe_next(text(form, "next"), "/")
    _, error = attempt(ctx, lambda: moderation.report(ctx.session, me, target_type, target_id, reason, details))
    if error is not None and error.status != 409:
        return ctx.render("report.html", status=error.status, error=sentence(error.message), post_id=post_id,
                          account_id=account_id, comment_id=comment_id, target_label=label, next=back,
                          details=details, selected_reason=reason)
    return ctx.redirect(back, flash="reported")


# --- admin: moderation queue ----------------------------------------------------------------


@dataclass(frozen=True)
class QueueItem:
    report: Report
    reporter: Account | None
    target: Account | None
    excerpt: str


@router.get("/admin/reports")
def moderation_queue(ctx: Web = Depends(web_context), status: str = "open", cursor: str | None = None) -> Response:
    admin = ctx.require_admin()
    if status not in moderation.REPORT_STATUSES:
        status = "open"
    page = moderation.list_reports(ctx.session, admin, status=status, cursor=cursor, limit=PAGE_SIZE)
    items = []
    for r in page.items:
        post = ctx.session.get(Post, r.post_id) if r.post_id else None
        comment = ctx.session.get(Comment, r.comment_id) if r.comment_id else None
        excerpt = post.text if post is not None else comment.text if comment is not None else ""
        items.append(QueueItem(r, ctx.session.get(Account, r.reporter_id),
                               ctx.session.get(Account, r.target_account_id), excerpt[:400]))
    next_url = f"/admin/reports?status={status}&cursor={quote(page.next_cursor)}" if page.next_cursor else None
    return ctx.render("admin_reports.html", reports=items, queue_status=status, next_url=next_url)


@router.post("/admin/reports/{report_id}/resolve")
def resolve_report(report_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    from townsquare.web.forms import parse_path_id

    admin = ctx.require_admin()
    moderation.resolve_report(ctx.session, admin, parse_path_id(report_id, "report"), text(form, "action"))
    return ctx.redirect("/admin/reports", flash="resolved")
