"""Friendly error pages. The app's error handlers (server/errors.py) ask ``wants_html`` first: errors raised
by page routes, and by unknown addresses a browser asks for, render this page with the right status;
the API keeps its JSON errors."""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from townsquare.server.deps import SESSION_COOKIE
from townsquare.social.tokens import resolve_token
from townsquare.web.context import render_page, viewer_snapshot
from townsquare.web.i18n import N_

log = logging.getLogger(__name__)

_TITLES = {
    400: N_("That didn't work"),
    401: N_("Sign in to continue"),
    403: N_("You can't do that"),
    404: N_("Nothing here"),
    405: N_("That didn't work"),
    409: N_("Already done"),
    413: N_("That file is too big"),
    415: N_("That file type isn't supported"),
    422: N_("Please check what you entered"),
    429: N_("Slow down a little"),
    500: N_("Something went wrong on our side"),
    503: N_("Busy right now"),
}

# Paths that belong to machine clients (JSON APIs), never to the HTML error page.
_API_PREFIXES = ("/api/", "/oauth/", "/v1/", "/.well-known/", "/nodeinfo")


def wants_html(request: Request) -> bool:
    if getattr(request.state, "html_errors", False):
        return True
    path = request.url.path
    if path == "/api" or path.startswith(_API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def render_error_page(request: Request, status: int, message: str) -> Response:
    if status == 401:
        target = request.url.path if request.method == "GET" else "/"
        if request.url.query and request.method == "GET":
            target += "?" + request.url.query
        return RedirectResponse("/signin?next=" + quote(target, safe="/"), status_code=303)
    title = _TITLES.get(status, "That didn't work")
    if status >= 500:
        message = "Please try again in a moment."
    _resolve_viewer(request)
    return render_page(request, "error.html", status=status, status_code=status, title=title, message=message)


def _resolve_viewer(request: Request) -> None:
    """An unknown address never ran a page route: find the signed-in person here, so the error page
    is drawn with their navigation rather than as if they were signed out."""
    if hasattr(request.state, "viewer"):
        return
    request.state.viewer = None
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    try:
        with request.app.state.services.session() as session:
            account = resolve_token(session, token)
            if account is not None:
                request.state.viewer = viewer_snapshot(session, account)
    except Exception:  # the error page must render even when the database is the problem
        log.debug("no viewer for the error page", exc_info=True)


def html_error_page(request: Request, status: int, message: str) -> Response | None:
    """The friendly page for a browser (``server/errors.py`` asks), else None: the JSON error."""
    return render_error_page(request, status, message) if wants_html(request) else None



def too_large_page(scope, limit: int) -> Response | None:
    """The upload-limit page for a browser whose request body was too big to read (the body-limit
    middleware asks before any route runs); None for API clients, who get the JSON error."""
    request = Request(scope)
    if not wants_html(request):
        return None
    megabytes = limit / (1024 * 1024)
    shown = f"{megabytes:.0f} MB" if megabytes >= 1 else f"{limit // 1024} KB"
    message = (f"the upload is larger than this server's limit of {shown}; choose a smaller photo or video, "
               "or fewer files at once")
    return render_error_page(request, 413, message)
