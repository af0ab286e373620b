"""Your account: password (change, and reset by e-mail), the tracking opt-out, your data as a zip, and
deleting the account (with a grace period). The rules live in ``social/lifecycle.py``,
``social/password_reset.py`` and ``social/export.py``; these pages parse, call and render."""

from __future__ import annotations

import logging
from datetime import date, timedelta

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from townsquare.server.deps import SESSION_COOKIE
from townsquare.server.ratelimit import limit_auth
from townsquare.social import accounts, lifecycle, password_reset
from townsquare.social.export import build_export
from townsquare.social.mail import MailUnavailable, mail_configured, send_mail
from townsquare.web import security
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, flag, sentence, text
from townsquare.web.i18n import LANG_COOKIE, LANGUAGES, N_

router = APIRouter()
log = logging.getLogger(__name__)

NOTICES = {
    "password": N_("Your password was changed. Your other sign-ins were ended."),
    "tracking_off": N_("Done: Townsquare no longer records what you scroll past or how long you look, and what it "
                    "had is deleted."),
    "language": N_("Language saved."),
    "tracking_on": N_("Impressions and reading time are recorded again, to rank your feed better."),
}


def _account_page(ctx: Web, *, status: int = 200, error: str | None = None, notice: str | None = None,
                  delete_error: str | None = None) -> Response:
    settings = ctx.request.app.state.settings
    return ctx.render("settings_account.html", status=status, error=error, delete_error=delete_error,
                      viewer_account_opt_out=ctx.account.tracking_opt_out,
                      notice=notice or NOTICES.get(ctx.request.query_params.get("done", "")),
                      grace_days=settings.account_deletion_grace_days)


@router.get("/settings/account")
def account_page(ctx: Web = Depends(web_context)) -> Response:
    ctx.require_account()
    return _account_page(ctx)


@router.post("/settings/password")
def change_password(request: Request, ctx: Web = Depends(web_context),
                    form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    current = request.cookies.get(SESSION_COOKIE, "")
    _, error = attempt(ctx, lambda: accounts.change_password(ctx.session, me, text(form, "current_password"),
                                                             text(form, "new_password"), keep_token=current))
    if error is not None:
        return _account_page(ctx, status=error.status, error=sentence(error.message))
    return ctx.redirect("/settings/account?done=password")


@router.post("/settings/tracking")
def set_tracking(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    opt_out = flag(form, "opt_out")
    lifecycle.set_tracking_opt_out(ctx.session, me, opt_out)
    return ctx.redirect("/settings/account?done=" + ("tracking_off" if opt_out else "tracking_on"))


@router.post("/settings/language")
def set_language(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    """The interface language: kept on the account (every device), "" follows the browser."""
    me = ctx.require_account()
    code = text(form, "language")
    me.locale = code if code in LANGUAGES else None
    response = ctx.redirect("/settings/account?done=language")
    response.delete_cookie(LANG_COOKIE, path="/")
    return response


@router.get("/lang/{code}")
def pick_language(code: str, ctx: Web = Depends(web_context), next: str = "/") -> Response:
    """The language picker for people who are not signed in: a cookie, for a year."""
    response = ctx.redirect(security.safe_next(next))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 86400, samesite="lax", path="/")
    return response


@router.get("/settings/export.zip")
def export_data(request: Request, ctx: Web = Depends(web_context)) -> Response:
    """Your data as a zip (see social/export.py for what is in it)."""
    me = ctx.require_account()
    data = build_export(ctx.session, me, request.app.state.settings.media_store)
    day = f"{date.today():%Y-%m-%d}"
    return Response(data, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="townsquare-{me.handle}-{day}.zip"',
        "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"})


@router.post("/settings/delete")
def delete_account(request: Request, ctx: Web = Depends(web_context),
                   form: FormData = Depends(checked_form)) -> Response:
    """Delete your account: hidden now, removed after the grace period; signing in before then undoes it."""
    me = ctx.require_account()
    if not accounts.password_matches(me, text(form, "password")):
        return _account_page(ctx, status=403, delete_error="That password is not right: your account is not deleted.")
    grace = timedelta(days=request.app.state.settings.account_deletion_grace_days)
    due = lifecycle.schedule_deletion(ctx.session, me, grace=grace)
    response = ctx.render("goodbye.html", due=due, handle=me.handle)
    security.clear_session_cookie(response)
    return response


# --- password reset by e-mail ---------------------------------------------------------------------


@router.get("/password/forgot")
def forgot_page(ctx: Web = Depends(web_context)) -> Response:
    return ctx.render("password_forgot.html", configured=mail_configured(ctx.request.app.state.settings))


@router.post("/password/forgot")
def forgot(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    """Send a reset link if an account matches; the answer is the same whether one does or not."""
    limit_auth(request)
    settings = request.app.state.settings
    if not mail_configured(settings):
        return ctx.render("password_forgot.html", status=503, configured=False)
    login = text(form, "login").strip()
    if not login:
        return ctx.render("password_forgot.html", status=422, configured=True,
                          error="Enter the e-mail address or handle of your account.")
    account = password_reset.find_account(ctx.session, login)
    secret = password_reset.create_link(ctx.session, account, timedelta(minutes=settings.password_reset_minutes)) \
        if account is not None else None
    if secret is not None:
        base = settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")
        subject, body = password_reset.reset_mail(account.handle, f"{base}/password/reset?token={secret}",
                                                  settings.password_reset_minutes)
        try:
            send_mail(settings, account.email, subject, body)
        except MailUnavailable as exc:  # said to the admin's log, not to whoever typed the address
            log.warning("password reset mail not sent: %s", exc.message)
    return ctx.render("password_forgot.html", configured=True, sent=True)


@router.get("/password/reset")
def reset_page(ctx: Web = Depends(web_context), token: str = "") -> Response:
    valid = password_reset.valid_link(ctx.session, token) is not None
    return ctx.render("password_reset.html", status=200 if valid else 410, token=token, valid=valid)


@router.post("/password/reset")
def reset(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    limit_auth(request)
    token, password = text(form, "token"), text(form, "password")
    if password != text(form, "password_again"):
        return ctx.render("password_reset.html", status=422, token=token, valid=True,
                          error="The two passwords are not the same.")
    account, error = attempt(ctx, lambda: password_reset.reset_password(ctx.session, token, password))
    if error is not None:
        still_valid = error.code != "invalid_reset_link"
        return ctx.render("password_reset.html", status=error.status, token=token, valid=still_valid,
                          error=sentence(error.message))
    return ctx.redirect("/signin?reset=1")
