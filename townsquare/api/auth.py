"""Sign up, sign in, sign out and the signed-in person's own account (``/api/auth``, ``/api/me``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field
from sqlalchemy.orm import Session

from townsquare.api.schemas import MeOut, OkOut, StrictModel, parse_id, render_me
from townsquare.server import cookies, csrf
from townsquare.server.deps import _token_from_request, current_account, get_session
from townsquare.server.ratelimit import guarded_sign_in, limit_auth
from townsquare.social import accounts
from townsquare.social.models import Account
from townsquare.social.tokens import issue_token

router = APIRouter(tags=["accounts"])


def _start_web_session(request: Request, response: Response, token: str) -> str:
    """Set the session cookie (``Secure`` over HTTPS) and a CSRF token bound to the new session: the
    token is returned (``csrf_token``) because cookie-authenticated API writes must send it."""
    cookies.set_session_cookie(request, response, token)
    csrf_token = csrf.mint(csrf.secret_key(request.app), token)
    cookies.set_csrf_cookie(request, response, csrf_token)
    return csrf_token


class SignUpIn(StrictModel):
    handle: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    email: str | None = Field(None, max_length=254)
    display_name: str = Field("", max_length=200)
    session: bool = Field(False, description="Also start a web session (sets the ts_session cookie).")


class SignInIn(StrictModel):
    login: str = Field(max_length=254, description="Handle or email.")
    password: str = Field(max_length=1024)
    session: bool = Field(False, description="Issue a web session (cookie) instead of an API token.")


class AuthOut(StrictModel):
    account: MeOut
    token: str
    csrf_token: str | None = Field(None, description="With ``session: true``: send it as X-CSRF-Token on "
                                                     "writes authenticated by the session cookie.")


class ProfileIn(StrictModel):
    display_name: str | None = Field(None, max_length=200)
    bio: str | None = Field(None, max_length=5000)
    is_private: bool | None = None
    avatar_media_id: str | None = Field(None, description="An image you uploaded; \"\" removes the avatar.")


class PasswordIn(StrictModel):
    old_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


@router.post("/api/auth/signup", response_model=AuthOut, status_code=201, dependencies=[Depends(limit_auth)])
def sign_up(body: SignUpIn, request: Request, response: Response, session: Session = Depends(get_session)):
    """Create an account and sign in (an API token, or a web session with ``session: true``)."""
    account = accounts.sign_up(session, body.handle, body.password, email=body.email,
                               display_name=body.display_name)
    kind = "session" if body.session else "api"
    token = issue_token(session, account, kind=kind)
    csrf_token = _start_web_session(request, response, token) if body.session else None
    return {"account": render_me(account), "token": token, "csrf_token": csrf_token}


@router.post("/api/auth/signin", response_model=AuthOut, dependencies=[Depends(limit_auth)])
def sign_in(body: SignInIn, request: Request, response: Response, session: Session = Depends(get_session)):
    """Exchange a handle (or email) and password for a token; ``session: true`` also sets the cookie
    and returns the session's CSRF token."""
    kind = "session" if body.session else "api"
    account, token = guarded_sign_in(request, body.login,
                                     lambda: accounts.sign_in(session, body.login, body.password, kind=kind))
    csrf_token = _start_web_session(request, response, token) if body.session else None
    return {"account": render_me(account), "token": token, "csrf_token": csrf_token}


@router.post("/api/auth/signout", response_model=OkOut)
def sign_out(request: Request, response: Response, account: Account = Depends(current_account),
             session: Session = Depends(get_session)):
    """Revoke the token this request was made with (bearer or cookie) and clear the cookie."""
    accounts.sign_out(session, _token_from_request(request))
    cookies.clear_session_cookie(response)
    return {"ok": True}


@router.get("/api/me", response_model=MeOut)
def me(account: Account = Depends(current_account)):
    return render_me(account)


@router.patch("/api/me", response_model=MeOut)
def update_me(body: ProfileIn, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Change your profile: display name, bio, private flag, avatar (an image you uploaded)."""
    changes = body.model_dump(exclude_unset=True)
    kwargs = {k: v for k, v in changes.items() if k != "avatar_media_id"}
    if "avatar_media_id" in changes:
        raw = changes["avatar_media_id"]
        kwargs["avatar_media_id"] = parse_id(raw, what="media", in_body=True) if raw else None
    accounts.update_profile(session, account, **kwargs)
    return render_me(account)


@router.post("/api/me/password", response_model=OkOut, dependencies=[Depends(limit_auth)])
def change_password(body: PasswordIn, request: Request, account: Account = Depends(current_account),
                    session: Session = Depends(get_session)):
    """Change your password. Every other API token and web session of yours stops working; the one
    this request was made with stays signed in."""
    accounts.change_password(session, account, body.old_password, body.new_password,
                             keep_token=_token_from_request(request))
    return {"ok": True}
