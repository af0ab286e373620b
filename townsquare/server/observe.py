"""One ASGI middleware for what every request reports: its id, its metrics and its access-log line.

It is the outermost layer, so the time it measures is the whole answer (body limits, CSRF, the
route, the error handlers), and the status it counts is the one the client got. Routes are counted
by their template (``/api/posts/{post_id}``), never by the raw path, so that the number of series
stays small; paths that match no route count as ``<unmatched>``. Streaming responses are counted
when their last chunk is sent.
"""

from __future__ import annotations

import time

from townsquare import metrics
from townsquare.server.logs import REQUEST_ID_HEADER, log_access, request_id_from, request_id_var

UNMATCHED = "<unmatched>"


def route_template(scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not path:
        return UNMATCHED
    if type(route).__name__ == "Mount":
        return path.rstrip("/") + "/{path}"
    return path


def client_of(scope) -> str:
    client = scope.get("client")
    return client[0] if client else "-"


class ObservabilityMiddleware:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = request_id_from(incoming)
        token = request_id_var.set(rid)
        scope.setdefault("state", {})["request_id"] = rid
        start = time.perf_counter()
        status = 500
        metrics.HTTP_IN_PROGRESS.inc()

        async def send_with_id(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"x-request-id"]
                headers.append((REQUEST_ID_HEADER.encode(), rid.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - start
            metrics.HTTP_IN_PROGRESS.dec()
            route = route_template(scope)
            method = scope.get("method", "-")
            try:
                metrics.HTTP_REQUESTS.labels(method, route, str(status)).inc()
                metrics.HTTP_LATENCY.labels(method, route).observe(elapsed)
            except Exception:  # a metric must never fail a request
                pass
            log_access(method, scope.get("path", ""), route, status, elapsed * 1e3, client_of(scope))
            request_id_var.reset(token)
