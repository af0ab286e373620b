"""``/api/docs``: Swagger UI for the native API, served from this server (the Swagger UI 5 files the
``fastapi-swagger`` package ships: version 5 reads OpenAPI 3.1), so the page works on a network
with no way out. No inline script: the page
passes the OpenAPI address in a data attribute to ``/static/api-docs.js``."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from townsquare.errors import NotFound

router = APIRouter(include_in_schema=False)

# The only Swagger UI files the page loads; nothing else in the package can be named.
_ASSETS = {"swagger-ui-bundle.js": "text/javascript; charset=utf-8", "swagger-ui.css": "text/css; charset=utf-8",
           "favicon-32x32.png": "image/png"}


def _swagger_dir() -> Path:
    return Path(str(files("fastapi_swagger") / "resources"))


@router.get("/api/docs")
def api_docs(request: Request) -> HTMLResponse:
    openapi = request.app.openapi_url or "/api/openapi.json"
    html = f"""<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{request.app.title} API</title>
  <link rel="icon" href="/api/docs/assets/favicon-32x32.png" type="image/png">
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
  <script src="/api/docs/assets/swagger-ui-bundle.js" defer></script>
  <script src="/static/api-docs.js" defer></script>
</head>
<body>
  <div id="swagger-ui" data-openapi-url="{openapi}"></div>
</body>
</html>"""
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})


@router.get("/api/docs/assets/{name}")
def api_docs_asset(name: str) -> FileResponse:
    if name not in _ASSETS:
        raise NotFound("no such file")
    return FileResponse(_swagger_dir() / name, media_type=_ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"})
