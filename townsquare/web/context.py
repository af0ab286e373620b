"""What every page route gets: the request, the database session, the signed-in person, and helpers
to render a template, redirect, and read a CSRF-checked form."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from townsquare.errors import Forbidden, Unauthorized
from townsquare.server.deps import get_session, optional_account
from townsquare.social.models import Account
from townsquare.web import security
from townsquare.web.i18n import N_, lang_for
from townsquare.web.templating import CURRENT_LANG, environment

FLASH_COOKIE = "ts_flash"
# One-time messages shown after a redirect; the cookie holds only the key, never text.
FLASH_MESSAGES = {
    "reported": N_("Thanks — your report was sent to the moderators."),
    "resolved": N_("Report resolved."),
    "blocked": N_("Blocked."),
    "muted": N_("Muted. You won't see their posts in your timeline."),
    "unmuted": N_("Unmuted."),
    "unblocked": N_("Unblocked."),
    "hidden": N_("Got it — you'll see less like this."),
    "deleted": N_("Your post was deleted."),
    "posted": N_("Your post is live."),
}


# Pages drawn on auth_base.html, which shows the community's name and about text.
AUTH_TEMPLATES = {"signin.html", "signup.html", "password_forgot.html", "password_reset.html", "goodbye.html"}


@dataclass(frozen=True)
class Viewer:
    """A snapshot of the signed-in person for the page chrome (also usable after the session is gone)."""

    id: int
    handle: str
    display_name: str
    avatar_url: str | None
    is_admin: bool
    unread_notifications: int = 0
    unread_messages: int = 0
    tracking_opt_out: bool = False
    locale: str | None = None  # the interface language the person chose


@dataclass
class Web:
    request: Request
    session: Session
    account: Account | None
    viewer: Viewer | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def lang(self):
        """The page's language (``web/i18n.py``), for text made in Python rather than in a template."""
        return lang_for(self.request, self.viewer)

    @property
    def services(self):
        """The app's stateful services (``townsquare/services.py``): feed, models, shields."""
        return self.request.app.state.services

    # ----- rendering -----
    def render(self, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        if template in AUTH_TEMPLATES and "instance" not in context:
            from townsquare.social.instance import get_all

            context["instance"] = get_all(self.session)  # the community's name and about text
        if self.account is not None and not template.startswith("_") and "followed_tags" not in context:
            from townsquare.social.search import followed_hashtags

            context["followed_tags"] = followed_hashtags(self.session, self.account, limit=8).items
        return render_page(self.request, template, status=status, **context)

    def fragment(self) -> bool:
        """True when the page script asks for just the next page of items (load more)."""
        return self.request.headers.get("x-fragment") == "1"

    def redirect(self, url: str, status: int = 303, flash: str | None = None) -> RedirectResponse:
        """Redirect after a form (303); ``flash`` names a one-time message the next page shows."""
        response = RedirectResponse(url, status_code=status)
        if flash in FLASH_MESSAGES:
            response.set_cookie(FLASH_COOKIE, flash, max_age=60, httponly=True, samesite="lax", path="/")
        return response

    # ----- auth -----
    def require_account(self) -> Account:
        if self.account is None:
            raise Unauthorized("sign in to see this page")
        return self.account

    def require_admin(self) -> Account:
        account = self.require_account()
        if not account.is_admin:
            raise Forbidden("only admins can open the moderation queue")
        return account

    # ----- forms -----
    async def form(self) -> FormData:
        """The submitted form, after checking its CSRF token (403 when it is missing or wrong)."""
        form = await self.request.form()
        submitted = form.get(security.CSRF_FIELD) or self.request.headers.get(security.CSRF_HEADER)
        if not security.csrf_ok(self.request, submitted if isinstance(submitted, str) else None):
            raise Forbidden("this form has expired or did not come from this site; reload the page and try again",
                            code="csrf_failed")
        return form


def render_page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    token = security.csrf_token_for(request)
    viewer = getattr(request.state, "viewer", None)
    flash_key = request.cookies.get(FLASH_COOKIE)
    flash = FLASH_MESSAGES.get(flash_key or "") if not template.startswith("_") else None
    lang = lang_for(request, viewer)
    current = CURRENT_LANG.set(lang)
    try:
        html = environment.get_template(template).render(
            request=request, viewer=viewer, csrf_token=token, path=request.url.path, flash=flash, lang=lang.code,
            **context
        )
    finally:
        CURRENT_LANG.reset(current)
    response = HTMLResponse(html, status_code=status, headers=security.PAGE_HEADERS)
    security.set_csrf_cookie(request, response)
    if flash_key and not template.startswith("_"):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def viewer_snapshot(session: Session, account: Account) -> Viewer:
    from townsquare.web.views import avatar_url, unread_counts

    notes, messages = unread_counts(session, account)
    return Viewer(id=account.id, handle=account.handle, display_name=account.display_name or account.handle,
                  avatar_url=avatar_url(session, account), is_admin=account.is_admin,
                  unread_notifications=notes, unread_messages=messages,
                  tracking_opt_out=bool(account.tracking_opt_out), locale=account.locale)


def web_context(
    request: Request,
    session: Session = Depends(get_session),
    account: Account | None = Depends(optional_account),
) -> Web:
    request.state.html_errors = True  # errors on pages render the friendly error page, not JSON
    viewer = viewer_snapshot(session, account) if account is not None else None
    request.state.viewer = viewer
    return Web(request=request, session=session, account=account, viewer=viewer)
