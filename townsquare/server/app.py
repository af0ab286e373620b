"""The FastAPI application: one app serves the web pages, the native API and the other API surfaces."""

from __future__ import annotations

import importlib
from contextlib import asynccontextmanager

from fastapi import FastAPI

from townsquare import __version__
from townsquare.config import Settings, load_settings
from townsquare.db.engine import Database
from townsquare.mastodon.cors import MastodonCORS
from townsquare.mastodon.errors import error_shape as mastodon_error_shape
from townsquare.server.body_limit import BodyLimitMiddleware
from townsquare.server.csrf import CSRFMiddleware
from townsquare.server.errors import install_error_handlers
from townsquare.server.observe import ObservabilityMiddleware
from townsquare.server.process_metrics import ProcessMetrics
from townsquare.services import Services
from townsquare.web.errors import html_error_page, too_large_page

# Modules with a module-level ``router`` (fastapi.APIRouter), mounted in this order.
ROUTER_MODULES: list[str] = [
    "townsquare.api.auth",
    "townsquare.api.accounts",
    "townsquare.api.media",
    "townsquare.api.posts",
    "townsquare.api.timeline",
    "townsquare.api.events",
    "townsquare.api.graph",
    "townsquare.api.messages",
    "townsquare.api.notifications",
    "townsquare.api.search",
    "townsquare.api.moderation",
    "townsquare.api.assistant",
    "townsquare.api.openai_compat",
    "townsquare.api.openai_audio",
    "townsquare.api.voice",
    "townsquare.api.voice_stream",
    "townsquare.api.studio",
    "townsquare.api.feed",
    "townsquare.server.health",
    # The Mastodon client API and OAuth (townsquare/mastodon, docs/mastodon.md).
    "townsquare.mastodon.oauth",
    "townsquare.mastodon.instance",
    "townsquare.mastodon.accounts",
    "townsquare.mastodon.statuses",
    "townsquare.mastodon.timelines",
    "townsquare.mastodon.notifications",
    "townsquare.mastodon.media",
    "townsquare.mastodon.search",
    "townsquare.mastodon.conversations",
    "townsquare.mastodon.misc",
    "townsquare.mastodon.streaming",
    "townsquare.web.routes",
]


def create_app(settings: Settings | None = None, db: Database | None = None) -> FastAPI:
    settings = settings or load_settings()
    settings.ensure_dirs()
    services = Services(settings, db)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        process = ProcessMetrics(services)
        process.start()
        if settings.preload_models:
            services.preload()  # in the background: /readyz says when the model serves
        yield
        process.stop()
        services.close()  # the event buffer writes what waits: a clean stop loses nothing

    app = FastAPI(
        lifespan=lifespan,
        title="Townsquare",
        version=__version__,
        description="An open AI social app. Native REST API under /api.",
        openapi_url="/api/openapi.json",
        docs_url=None,  # /api/docs is served with local assets by townsquare/web/api_docs.py
        redoc_url=None,
    )
    app.state.services = services
    # Shortcuts to the parts most routes need.
    app.state.settings, app.state.db, app.state.llms = settings, services.db, services.llms
    install_error_handlers(app, html_error_page, shapes=(mastodon_error_shape,))
    # Bodies beyond the upload limit are cut off while they arrive (chunked uploads included).
    app.add_middleware(BodyLimitMiddleware, limit_of=lambda: app.state.settings.max_upload_bytes,
                       html_page=too_large_page)
    app.add_middleware(CSRFMiddleware)  # cookie-authenticated API writes need the session's CSRF token
    app.add_middleware(MastodonCORS)  # browser Mastodon clients on other origins (Mastodon and OAuth paths)
    app.add_middleware(ObservabilityMiddleware)  # outermost: request id, metrics, access log
    for name in ROUTER_MODULES:
        app.include_router(importlib.import_module(name).router)
    return app
