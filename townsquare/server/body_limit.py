"""Refuse request bodies larger than the upload limit, also when no Content-Length is sent.

Multipart uploads are parsed (and spooled) before a route sees them, so the route alone cannot
stop a huge chunked upload. This ASGI middleware counts body bytes as they arrive and answers
413 with the JSON error as soon as the limit (``max_upload_bytes`` plus room for the multipart
envelope) is passed.
"""

from __future__ import annotations

import json

ENVELOPE_BYTES = 1024 * 1024
DRAIN_BYTES = 512 * 1024 * 1024  # the most a browser's too-large upload is read before its page


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app, limit_of, html_page=None) -> None:
        self.app = app
        self.limit_of = limit_of  # () -> bytes allowed; read per request so settings can change
        # (scope, limit) -> a response for a browser (the friendly error page), or None for JSON.
        self.html_page = html_page

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = int(self.limit_of()) + ENVELOPE_BYTES
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._too_large(scope, receive, send, limit)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive():
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if exceeded:
                return  # the app's own answer to the cut-off body is replaced by the 413
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_large(scope, receive, send, limit)

    async def _too_large(self, scope, receive, send, limit: int) -> None:
        page = self.html_page(scope, limit - ENVELOPE_BYTES) if self.html_page is not None else None
        if page is not None:
            # A browser shows a reset connection rather than a page answered before its upload
            # ended: read the rest (and drop it), up to a bound, then answer.
            drained = 0
            while drained < DRAIN_BYTES:
                message = await receive()
                drained += len(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body"):
                    break
            page.headers["connection"] = "close"
            await page(scope, receive, send)
            return
        body = json.dumps({"error": {"code": "too_large",
                                     "message": f"the request body is larger than {limit} bytes"}}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})
