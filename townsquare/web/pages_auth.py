"""Sign up, sign in and sign out with a session cookie."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from townsquare.server.deps import SESSION_COOKIE
from townsquare.server.ratelimit import guarded_sign_in, limit_auth
from townsquare.social import accounts
from townsquare.social.tokens import issue_token
from townsquare.web import security
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, text
from townsquare.web.forms import sentence as _sentence

router = APIRouter()

# Which sign-up field an error code belongs to, so the message shows under it.
_SIGNUP_FIELDS = {
    "invalid_handle": "handle", "handle_taken": "handle", "weak_password": "password",
    "invalid_email": "email", "email_taken": "email",
}


@router.get("/signin")
def signin_page(ctx: Web = Depends(web_context), next: str = "/") -> Response:
    if ctx.account is not None:
        return ctx.redirect(security.safe_next(next))
    return ctx.render("signin.html", next=security.safe_next(next))


@router.post("/signin")
def signin(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    limit_auth(request)
    login, password = text(form, "login").strip(), text(form, "password")
    target = security.safe_next(text(form, "next"))
    if not login or not password:
        return ctx.render("signin.html", status=422, error="Enter your handle (or email) and your password.",
                          login=login, next=target)
    result, error = attempt(ctx, lambda: guarded_sign_in(
        request, login, lambda: accounts.sign_in(ctx.session, login, password, kind="session", name="web")))
    if error is not None:
        return ctx.render("signin.html", status=error.status, error=_sentence(error.message), login=login,
                          next=target)
    _, token = result
    response = ctx.redirect(target)
    security.set_session_cookie(request, response, token)
    return response


@router.get("/signup")
def signup_page(ctx: Web = Depends(web_context), next: str = "/") -> Response:
    if ctx.account is not None:
        return ctx.redirect("/")
    return ctx.render("signup.html", form={}, errors={}, next=security.safe_next(next))


@router.post("/signup")
def signup(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    limit_auth(request)
    values = {k: text(form, k).strip() for k in ("handle", "display_name", "email")}
    password = text(form, "password")
    target = security.safe_next(text(form, "next"))

    def create():
        account = accounts.sign_up(ctx.session, values["handle"], password, email=values["email"] or None,
                                   display_name=values["display_name"])
        return issue_token(ctx.session, account, kind="session", name="web")

    token, error = attempt(ctx, create)
    if error is not None:
        field = _SIGNUP_FIELDS.get(error.code)
        errors = {field: _sentence(error.message)} if field else {}
        return ctx.render("signup.html", status=error.status, form=values, errors=errors, next=target,
                          error=None if field else _sentence(error.message))
    response = ctx.redirect(target if target != "/" else "/?welcome=1")
    security.set_session_cookie(request, response, token)
    return response


@router.post("/signout")
def signout(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    token = request.cookies.get(SESSION_COOKIE, "")
    if token:
        accounts.sign_out(ctx.session, token)
    response = ctx.redirect("/signin")
    security.clear_session_cookie(response)
    return response

