"""The OAuth consent page (``/oauth/authorize``) and the list of apps a person let in
(``/settings/apps``), where each can be revoked. The rules are in ``townsquare/oauth/service.py``.

The consent page shows the app's name, its website and what each requested scope allows; approving
makes a one-time code and sends the browser back to the app's redirect URI with it (or shows it,
for the out-of-band URN). Errors about the app or its redirect URI are shown here and never
redirected (the URI is not trusted yet); other errors go back to the app as ``?error=``.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.datastructures import FormData

from townsquare.errors import Forbidden
from townsquare.oauth import service as oauth
from townsquare.web.context import Web, web_context
from townsquare.web.forms import checked_form, parse_path_id, text
from townsquare.web.security import PAGE_HEADERS

router = APIRouter()

FIELDS = ("client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge", "code_challenge_method")
NOT_REDIRECTED = ("invalid_client", "invalid_redirect_uri")
SCOPE_WORDS = {
    "read": "Read everything you can see: your timeline, posts, notifications, messages and profile",
    "write": "Post, comment, react, repost, message, upload media and edit your profile for you",
    "follow": "Follow, unfollow, block and mute accounts for you",
    "push": "Receive push notifications (Townsquare sends none yet)",
    "profile": "See your name, handle and picture",
    "read:accounts": "See accounts and profiles", "read:blocks": "See whom you block",
    "read:bookmarks": "See your bookmarks", "read:favourites": "See the posts you reacted to",
    "read:filters": "See your filters", "read:follows": "See whom you follow",
    "read:lists": "See your lists", "read:mutes": "See whom you mute",
    "read:notifications": "Read your notifications", "read:search": "Search as you",
    "read:statuses": "Read posts and your timelines",
    "write:accounts": "Edit your profile", "write:blocks": "Block and unblock accounts",
    "write:bookmarks": "Bookmark posts", "write:conversations": "Manage your conversations",
    "write:favourites": "React to posts", "write:filters": "Edit your filters",
    "write:follows": "Follow and unfollow accounts", "write:lists": "Edit your lists",
    "write:media": "Upload photos and videos", "write:mutes": "Mute and unmute accounts",
    "write:notifications": "Dismiss your notifications", "write:reports": "Report posts and accounts",
    "write:statuses": "Post, comment, repost and delete posts",
}


def _params(source) -> dict[str, str | None]:
    out = {}
    for name in FIELDS:
        value = source.get(name)
        out[name] = value if isinstance(value, str) and value != "" else None
    return out


def _back_to_app(redirect_uri: str, **query: str | None) -> RedirectResponse:
    sep = "&" if urlsplit(redirect_uri).query else "?"
    return RedirectResponse(redirect_uri + sep + urlencode({k: v for k, v in query.items() if v is not None}),
                            status_code=303)


def _check(ctx: Web, params: dict) -> oauth.AuthorizationRequest | Response:
    try:
        return oauth.check_request(ctx.session, **params)
    except oauth.OAuthError as exc:
        if exc.code in NOT_REDIRECTED or params["redirect_uri"] in (None, oauth.OOB):
            return ctx.render("error.html", status=400, status_code=400, title="This app's request is not valid",
                              message=exc.message)
        return _back_to_app(params["redirect_uri"], error=exc.code, error_description=exc.message,
                            state=params["state"])


def _form_action_csp(redirect_uri: str) -> dict[str, str]:
    """The page's CSP, with the app's redirect URI allowed as where the form may lead (browsers
    check a form's redirects against ``form-action``)."""
    parts = urlsplit(redirect_uri)
    target = f"{parts.scheme}://{parts.netloc}" if parts.netloc else f"{parts.scheme}:"
    csp = PAGE_HEADERS["Content-Security-Policy"].replace("form-action 'self'", f"form-action 'self' {target}")
    return {"Content-Security-Policy": csp}


@router.get("/oauth/authorize")
def authorize_page(request: Request, ctx: Web = Depends(web_context)) -> Response:
    params = _params(request.query_params)
    checked = _check(ctx, params)
    if isinstance(checked, Response):
        return checked
    if ctx.account is None:
        return ctx.redirect("/signin?" + urlencode({"next": f"/oauth/authorize?{request.url.query}"}))
    response = ctx.render("oauth_authorize.html", app=checked.app, params=params,
                          scopes=[(s, SCOPE_WORDS.get(s, s)) for s in checked.scopes],
                          website=checked.app.website if (checked.app.website or "").startswith(("http://", "https://"))
                          else None)
    response.headers.update(_form_action_csp(checked.redirect_uri))
    return response


@router.post("/oauth/authorize")
def authorize(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    account = ctx.require_account()
    params = _params(form)
    checked = _check(ctx, params)
    if isinstance(checked, Response):
        return checked
    if text(form, "decision") != "approve":
        if checked.redirect_uri == oauth.OOB:
            return ctx.redirect("/settings/apps")
        return _back_to_app(checked.redirect_uri, error="access_denied",
                            error_description="the person did not allow it", state=checked.state)
    code = oauth.grant_code(ctx.session, account, checked)
    if checked.redirect_uri == oauth.OOB:
        return ctx.render("oauth_code.html", app=checked.app, code=code)
    return _back_to_app(checked.redirect_uri, code=code, state=checked.state)


@router.get("/settings/apps")
def apps_page(request: Request, ctx: Web = Depends(web_context)) -> Response:
    account = ctx.require_account()
    notice = "Access revoked." if request.query_params.get("revoked") else None
    apps = oauth.authorized_apps(ctx.session, account)
    return ctx.render("settings_apps.html", apps=apps, notice=notice, words=SCOPE_WORDS)


@router.post("/settings/apps/{app_id}/revoke")
def revoke_app(app_id: str, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    account = ctx.require_account()
    if account is None:
        raise Forbidden("sign in first")
    oauth.revoke_app(ctx.session, account, parse_path_id(app_id, "app"))
    return ctx.redirect("/settings/apps?revoked=1")
