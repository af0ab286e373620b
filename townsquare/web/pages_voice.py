"""The hands-free page (``/hands-free``): talk to the assistant, show it what the camera sees, hear
the answer. Everything live runs in ``static/voice.js`` against ``/api/voice``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from townsquare.voice import activity, privacy
from townsquare.web.context import Web, web_context

router = APIRouter()


@router.get("/hands-free")
def hands_free_page(ctx: Web = Depends(web_context)) -> Response:
    me = ctx.account
    if me is None:
        return ctx.redirect("/signin?next=/hands-free")
    return ctx.render("hands_free.html", nav="hands-free", activity=activity.recent_actions(ctx.session, me.id),
                      keep_recordings=privacy.settings_of(ctx.session, me.id).keep_recordings)
