"""The web app's router: static files and every page module, mounted by ``server/app.py`` (ROUTER_MODULES)."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse

from townsquare.errors import NotFound
from townsquare.web import (
    api_docs,
    live,
    pages_account,
    pages_admin,
    pages_ai,
    pages_auth,
    pages_explore,
    pages_feed,
    pages_inbox,
    pages_oauth,
    pages_people,
    pages_posts,
    pages_voice,
)
from townsquare.web.templating import STATIC_DIR

router = APIRouter(include_in_schema=False)

_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml", ".png": "image/png", ".ico": "image/x-icon"}


@router.get("/static/{name}")
def static_file(name: str) -> FileResponse:
    """The stylesheet, the script and the icon: one flat folder, nothing outside it can be named."""
    if "\x00" in name:
        raise NotFound("no such file")
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or not path.is_file() or path.suffix not in _STATIC_TYPES:
        raise NotFound("no such file")
    return FileResponse(path, media_type=_STATIC_TYPES[path.suffix],
                        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"})


# pages_ai first: its /@{handle}/ai routes are more specific than the profile tabs.
for module in (pages_ai, pages_auth, pages_posts, pages_feed, pages_people, pages_inbox, pages_explore,
               pages_oauth, pages_account, pages_admin, api_docs, live, pages_voice):
    router.include_router(module.router)
