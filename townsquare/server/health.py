"""``/healthz`` (the process answers), ``/readyz`` (it can serve: database, Redis, models) and ``/metrics``.

``/readyz`` answers 200 with ``{"ready": true, "checks": {...}}`` when every required check passes
and 503 with the same body (``ready: false``, the failing check's ``error``) otherwise, so a load
balancer or an orchestrator stops sending traffic to a process that cannot serve and sends it again
once the dependency is back (no restart). The checks (``TOWNSQUARE_READY_CHECKS``, default all):

| check | ok when |
|---|---|
| ``database`` | ``SELECT 1`` answers within 3 s |
| ``redis`` | ``PING`` answers (only when ``TOWNSQUARE_REDIS_URL`` is set) |
| ``rec_model`` | no model is active (the feed ranks by heuristics), or a model is loaded and serving |
| ``llm`` | embedded: the model file exists; remote: the server's ``/models`` answers within 2 s |
| ``media`` | local: the media folder has room for one more upload of the maximum size; S3: the bucket answers |

Checks not listed in ``TOWNSQUARE_READY_CHECKS`` are still run and reported, but do not make the
process unready. Results of the slower checks (``llm``) are kept for 5 s, so a probe every second
costs the model server one request every 5 s per process.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from townsquare import __version__, metrics

router = APIRouter(include_in_schema=False)

CHECKS = ("database", "redis", "rec_model", "llm", "media")
DB_TIMEOUT_S = 3.0
LLM_TIMEOUT_S = 2.0
LLM_CACHE_S = 5.0
_started = time.time()


@router.get("/healthz")
def healthz():
    """The process is up and answers (no dependency is checked)."""
    return {"status": "ok", "version": __version__, "pid": os.getpid(), "uptime_s": round(time.time() - _started, 1)}


@router.get("/readyz")
def readyz(request: Request):
    services = request.app.state.services
    required = required_checks(services.settings.ready_checks)
    checks = {"database": check_database(services)}
    if services.redis is not None:
        checks["redis"] = check_redis(services)
    checks["rec_model"] = check_rec_model(services)
    checks["llm"] = check_llm(services)
    checks["media"] = check_media(services)
    for name, result in checks.items():
        result["required"] = name in required
    ready = all(r["ok"] for name, r in checks.items() if r["required"])
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503,
                        headers={"Cache-Control": "no-store"})


@router.get("/metrics")
def prometheus_metrics(request: Request):
    token = request.app.state.settings.metrics_token
    if token:
        given = request.headers.get("authorization", "")
        if not secrets.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse({"error": {"code": "unauthorized", "message": "send the metrics token"}},
                                status_code=401)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type, headers={"Cache-Control": "no-store"})


def required_checks(raw: str) -> set[str]:
    names = {part.strip() for part in (raw or "").split(",") if part.strip()}
    unknown = names - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown readiness check(s): {', '.join(sorted(unknown))} (known: {', '.join(CHECKS)})")
    return names


def _timed(fn, timeout_s: float) -> dict:
    """Run ``fn`` in a thread and give up after ``timeout_s`` (a hung connection must not hang the probe)."""
    out: dict = {}

    def run():
        start = time.perf_counter()
        try:
            extra = fn() or {}
            out.update(ok=True, **extra)
        except Exception as exc:  # the reason, on one line
            out.update(ok=False, error=f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
        out["ms"] = round((time.perf_counter() - start) * 1e3, 1)

    thread = threading.Thread(target=run, daemon=True, name="readiness-check")
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return {"ok": False, "error": f"no answer within {timeout_s:.0f}s", "ms": timeout_s * 1e3}
    return out


def check_database(services) -> dict:
    from sqlalchemy import text

    def ping():
        with services.db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return {"dialect": services.db.dialect}

    return _timed(ping, DB_TIMEOUT_S)


def check_redis(services) -> dict:
    return _timed(lambda: {"pong": bool(services.redis.ping())}, DB_TIMEOUT_S)


def check_rec_model(services) -> dict:
    from townsquare.rec import registry

    feed = services.feed
    try:
        active = registry.active_version(registry.rec_models_dir(services.settings))
    except Exception as exc:
        return {"ok": False, "error": f"cannot read the model registry: {exc}"}
    loaded = feed.model_version
    if active is None:
        return {"ok": True, "state": "none", "detail": "no trained model is active: the feed ranks by heuristics",
                "loaded": loaded}
    if feed.model_pending:
        services.preload()  # started at the process's start; here too when that was turned off
        return {"ok": False, "state": "loading", "active": active, "loaded": None,
                "error": f"model {active} is not loaded yet"}
    if loaded is None:  # the load failed (logged): the feed serves, ranked by heuristics
        return {"ok": True, "state": "failed", "active": active, "loaded": None,
                "detail": f"model {active} could not be loaded: the feed ranks by heuristics (see the log)"}
    state = "loaded" if loaded == active else "reloading"  # the previous model serves meanwhile
    return {"ok": True, "state": state, "active": active, "loaded": loaded}


def check_media(services) -> dict:
    settings = services.settings

    def probe():
        info = settings.media_store.check()
        free = info.get("free_bytes")
        if free is not None and free < settings.max_upload_bytes:
            raise RuntimeError(f"the media disk is full ({free} bytes free, uploads need up to "
                               f"{settings.max_upload_bytes})")
        return info

    return _timed(probe, DB_TIMEOUT_S)


_llm_cache: dict[tuple, tuple[float, dict]] = {}
_llm_lock = threading.Lock()


def check_llm(services) -> dict:
    from townsquare.llm.runtime import role_spec

    settings = services.settings
    try:
        roles = ("assistant", "creator", "guard") if settings.guard_model else ("assistant", "creator")
        kinds = {role_spec(settings, role) for role in roles}
    except Exception as exc:
        return {"ok": False, "error": str(exc)}
    result: dict = {"ok": True, "models": []}
    for kind, model in sorted(kinds):
        if kind == "embedded":
            one = _check_embedded(model)
        else:
            one = _check_remote(settings, model)
        result["models"].append(one)
        if not one["ok"]:
            result["ok"] = False
            result["error"] = one["error"]
    return result


def _check_embedded(model: str) -> dict:
    from townsquare.llm.embedded import bundled_model_path

    try:
        path = Path(model) if model else bundled_model_path()
    except Exception as exc:
        return {"ok": False, "backend": "embedded", "error": str(exc)}
    if not path.is_file():
        return {"ok": False, "backend": "embedded", "model": path.name, "error": f"model file {path} is missing"}
    return {"ok": True, "backend": "embedded", "model": path.name}


def _check_remote(settings, model: str) -> dict:
    key = (settings.llm_base_url, model)
    now = time.monotonic()
    with _llm_lock:
        cached = _llm_cache.get(key)
    if cached is not None and now - cached[0] < LLM_CACHE_S:
        return cached[1]

    def probe():
        import httpx

        headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
        response = httpx.get(settings.llm_base_url.rstrip("/") + "/models", headers=headers, timeout=LLM_TIMEOUT_S)
        if response.status_code != 200:
            raise RuntimeError(f"the server answered HTTP {response.status_code}")
        return {}

    out = {"backend": "remote", "model": model, "url": settings.llm_base_url,
           **_timed(probe, LLM_TIMEOUT_S + 0.5)}
    if not out["ok"]:
        out["error"] = f"LLM server at {settings.llm_base_url}: {out['error']}"
    with _llm_lock:
        _llm_cache[key] = (time.monotonic(), out)
    return out
