"""The streaming API: ``GET /api/v1/streaming/<stream>`` (server-sent events) and the WebSocket at
``/api/v1/streaming`` (``{"type": "subscribe", "stream": "user"}``), with Mastodon's streams ``user``,
``user:notification``, ``public`` (``:local``, ``:media``), ``hashtag`` (``:local``) and ``direct``,
and its events ``update``, ``status.update``, ``delete``, ``notification`` and ``conversation``.

Events come from ``stream.StreamHub`` (real commits, across workers through Redis). For each
connection every event is read again through the API's rules as its viewer: a post is sent only when
the viewer may see it (``can_view_post``), not from someone they block, are blocked by or muted, and
for ``user`` only from people they follow (and themselves). The token is checked again at every
event: revoking an app closes its streams.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from townsquare.errors import Forbidden, InvalidInput, NotFound, TownsquareError, Unauthorized
from townsquare.mastodon.auth import Caller, bearer_token, check_scopes, identify
from townsquare.mastodon.conversations import render_conversation
from townsquare.mastodon.entities import Render
from townsquare.mastodon.lookup import reposter_visible
from townsquare.mastodon.notes import render_notifications
from townsquare.social.messages import ConversationSummary, other_id
from townsquare.social.models import Account, Conversation, Message, Notification, Post, Repost
from townsquare.social.posts import post_hashtags
from townsquare.social.relations import hidden_author_ids, is_following
from townsquare.social.tokens import resolve_access
from townsquare.social.visibility import can_view_post

router = APIRouter(include_in_schema=False)

HEARTBEAT_S = 15.0
PUBLIC = ("public", "public:local", "public:media", "public:local:media", "public:remote", "public:remote:media")
HASHTAG = ("hashtag", "hashtag:local")
PERSONAL = ("user", "user:notification", "direct")
STREAMS = PUBLIC + HASHTAG + PERSONAL
SSE_PATHS = {"user": "user", "user/notification": "user:notification", "public": "public",
             "public/local": "public:local", "public/remote": "public:remote", "hashtag": "hashtag",
             "hashtag/local": "hashtag:local", "direct": "direct"}


@dataclass
class Connection:
    """One client's subscriptions, and how to see events as its viewer."""

    services: object
    secret: str
    base: str
    media_dir: Path
    subscriptions: set[tuple[str, str | None]] = field(default_factory=set)

    def check(self, caller: Caller, stream: str, tag: str | None) -> tuple[str, str | None]:
        if stream not in STREAMS:
            raise NotFound(f"Unknown stream type {stream[:40]!r}")
        if stream in HASHTAG:
            tag = (tag or "").strip().lstrip("#").lower()
            if not tag or len(tag) > 100:
                raise InvalidInput("the hashtag stream needs a tag")
        else:
            tag = None
        if stream in PERSONAL:
            if caller.account is None:
                raise Unauthorized("Missing access token")
            check_scopes(caller, ("read:notifications",) if stream == "user:notification"
                         else ("read:statuses", "read:notifications"))
        else:
            check_scopes(caller, ("read:statuses",))
        return stream, tag

    # --- one event, as this viewer sees it ------------------------------------------------------
    def outputs(self, raw: dict) -> list[tuple[list[str], str, str]] | None:
        """``[(stream names, event, payload)]`` for one hub event; None when the token died."""
        with self.services.session() as session:
            viewer = None
            if self.secret:
                access = resolve_access(session, self.secret)
                if access is None:
                    return None
                viewer = access.account
            shown = Render(session, viewer, self.base, self.media_dir)
            try:
                return self._outputs(session, shown, viewer, raw)
            except TownsquareError:
                return []

    def _streams(self, names: tuple[str, ...]) -> list[tuple[str, str | None]]:
        return [s for s in self.subscriptions if s[0] in names]

    def _outputs(self, session, shown: Render, viewer: Account | None, raw: dict) -> list:
        kind = raw.get("type")
        if kind in ("post", "edit", "repost"):
            return self._status_event(session, shown, viewer, raw)
        if kind == "delete":
            return self._delete_event(session, viewer, raw)
        if kind == "notification" and viewer is not None and raw.get("recipient") == viewer.id:
            subs = self._streams(("user", "user:notification"))
            note = session.get(Notification, raw["id"])
            rendered = render_notifications(shown, [note]) if subs and note is not None else []
            return [([s[0]], "notification", json.dumps(rendered[0])) for s in subs] if rendered else []
        if kind == "message" and viewer is not None:
            subs = self._streams(("user", "direct"))
            conversation = session.get(Conversation, raw.get("conversation"))
            message = session.get(Message, raw["id"])
            if not subs or conversation is None or message is None or viewer.id not in (conversation.low_id,
                                                                                        conversation.high_id):
                return []
            from townsquare.social.messages import get_conversation

            get_conversation(session, viewer, conversation.id)  # the block rule
            other = session.get(Account, other_id(conversation, viewer.id))
            summary = ConversationSummary(conversation, other, message, 0 if message.sender_id == viewer.id else 1)
            payload = json.dumps(render_conversation(shown, summary))
            return [([s[0]], "conversation", payload) for s in subs]
        return []

    def _status_event(self, session, shown: Render, viewer: Account | None, raw: dict) -> list:
        reposter = None
        if raw["type"] == "repost":
            repost = session.get(Repost, raw["id"])
            post = session.get(Post, repost.post_id) if repost is not None else None
            reposter = session.get(Account, repost.account_id) if repost is not None else None
            if reposter is None or not reposter_visible(session, viewer, reposter):
                return []
        else:
            post = session.get(Post, raw["id"])
        if post is None or not can_view_post(session, viewer, post):
            return []
        hidden = hidden_author_ids(session, viewer.id) if viewer is not None else set()
        if post.author_id in hidden or (reposter is not None and reposter.id in hidden):
            return []
        event = "status.update" if raw["type"] == "edit" else "update"
        streams: list[str] = []
        if viewer is not None and self._streams(("user",)):
            source = reposter.id if reposter is not None else post.author_id
            if source == viewer.id or is_following(session, viewer.id, source):
                streams.append("user")
        if reposter is None and post.visibility == "public":
            media = post.kind in ("photo", "video")
            for name, _ in self._streams(PUBLIC):
                if "remote" not in name and (media or not name.endswith(":media")):
                    streams.append(name)
        targets = [[name] for name in dict.fromkeys(streams)]
        if reposter is None:
            tags = set(post_hashtags(session, [post.id]).get(post.id, []))
            targets += [[name, tag] for name, tag in self._streams(HASHTAG) if tag in tags]
        if not targets:
            return []
        payload = shown.reblog(repost, post, reposter) if reposter is not None else shown.post(post)
        body = json.dumps(payload)
        return [(target, event, body) for target in targets]

    def _delete_event(self, session, viewer: Account | None, raw: dict) -> list:
        public = raw.get("visibility") == "public"
        author = raw.get("author")
        if not public and not (viewer is not None and (viewer.id == author or is_following(session, viewer.id, author))):
            return []
        names = [s[0] for s in self.subscriptions if s[0] not in ("user:notification", "direct")]
        if not public:
            names = [n for n in names if n == "user"]
        return [([n], "delete", str(raw["id"])) for n in dict.fromkeys(names)]


def _connection(services, request_url, media_dir: Path, secret: str) -> Connection:
    base = f"{'https' if request_url.scheme in ('https', 'wss') else 'http'}://{request_url.netloc}"
    return Connection(services, secret, base, media_dir)


def _caller(services, secret: str) -> Caller:
    with services.session() as session:
        return identify(session, secret)


# --- server-sent events -------------------------------------------------------------------------------


async def _sse(request: Request, stream: str, tag: str | None):
    services = request.app.state.services
    secret = bearer_token(request)
    found = await run_in_threadpool(_caller, services, secret)
    conn = _connection(services, request.url, request.app.state.settings.media_dir, secret)
    conn.subscriptions.add(conn.check(found, stream, tag))
    hub = services.stream
    sub = hub.subscribe()

    async def events():
        try:
            yield ":)\n\n"
            while True:
                try:
                    raw = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
                except TimeoutError:
                    yield ":thump\n\n"
                    continue
                out = await run_in_threadpool(conn.outputs, raw)
                if out is None:
                    return  # the token was revoked
                for _streams, event, payload in out:
                    yield f"event: {event}\ndata: {payload}\n\n"
        finally:
            hub.unsubscribe(sub)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/api/v1/streaming")
async def sse_by_parameter(request: Request, stream: str = "user", tag: str | None = None):
    return await _sse(request, stream[:40], tag)


def _sse_route(stream: str):
    async def route(request: Request, tag: str | None = None):
        return await _sse(request, stream, tag)

    return route


for _path, _stream in SSE_PATHS.items():
    router.add_api_route(f"/api/v1/streaming/{_path}", _sse_route(_stream), methods=["GET"])


# --- WebSocket ------------------------------------------------------------------------------------------


@router.websocket("/api/v1/streaming")
async def websocket_stream(websocket: WebSocket):
    """One connection, many streams: ``{"type": "subscribe"|"unsubscribe", "stream": ..., "tag": ...}``.
    The token comes as ``access_token``, in ``Authorization``, or as the ``Sec-WebSocket-Protocol``
    (as Mastodon's web app sends it)."""
    services = websocket.app.state.services
    protocol = websocket.headers.get("sec-websocket-protocol", "").split(",")[0].strip()
    header = websocket.headers.get("authorization", "")
    secret = (header[7:].strip() if header.lower().startswith("bearer ") else
              websocket.query_params.get("access_token", "") or protocol)
    try:
        found = await run_in_threadpool(_caller, services, secret)
    except TownsquareError:
        await websocket.close(code=4001)
        return
    await websocket.accept(subprotocol=protocol or None)
    conn = _connection(services, websocket.url, websocket.app.state.settings.media_dir, secret)

    async def send_error(message: str, status: int) -> None:
        await websocket.send_text(json.dumps({"error": message, "status": status}))

    initial = websocket.query_params.get("stream")
    if initial:
        try:
            conn.subscriptions.add(conn.check(found, initial[:40], websocket.query_params.get("tag")))
        except TownsquareError as exc:
            await send_error(exc.message, exc.status)
    hub = services.stream
    sub = hub.subscribe()

    async def reader() -> None:
        while True:
            text = await websocket.receive_text()
            try:
                message = json.loads(text)
                if not isinstance(message, dict):
                    raise ValueError
                action, stream = message.get("type"), str(message.get("stream", ""))[:40]
                tag = message.get("tag") if isinstance(message.get("tag"), str) else None
                checked = conn.check(found, stream, tag)
                if action == "subscribe":
                    conn.subscriptions.add(checked)
                elif action == "unsubscribe":
                    conn.subscriptions.discard(checked)
                else:
                    raise ValueError
            except (ValueError, TypeError):
                await send_error("Invalid message: send {\"type\": \"subscribe\", \"stream\": ...}", 400)
            except (Unauthorized, Forbidden, NotFound, InvalidInput) as exc:
                await send_error(exc.message, exc.status)

    async def writer() -> None:
        while True:
            try:
                raw = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_S)
            except TimeoutError:
                continue
            if not conn.subscriptions:
                continue
            out = await run_in_threadpool(conn.outputs, raw)
            if out is None:
                await websocket.close(code=4001)
                return
            for streams, event, payload in out:
                await websocket.send_text(json.dumps({"stream": streams, "event": event, "payload": payload}))

    tasks = [asyncio.create_task(reader()), asyncio.create_task(writer())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    except WebSocketDisconnect:
        pass
    finally:
        for task in tasks:
            task.cancel()
        hub.unsubscribe(sub)
