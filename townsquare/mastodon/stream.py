"""The live events behind the streaming API, fed by what really happens in the app.

**Where events come from.** Every database session of the app (``Services.session``) carries the
hub. When a transaction commits, the posts, reposts, notifications and direct messages it created,
and the posts it deleted or edited, become events — whatever made them: the native API, the web
pages, the Mastodon API, the assistant, a creator AI's auto-reply. Nothing is published for a
transaction that rolls back.

**How they travel.** An event is a small JSON object naming a row (``{"type": "post", "id": 42}``),
never its content. With ``TOWNSQUARE_REDIS_URL`` set it is published on a Redis channel and every
worker's listener thread hands it to the connections it serves; without Redis it goes straight to
the connections of this process.

**Who gets what.** Each connection turns an event into what its viewer may see, by reading the row
again through the same rules as the API (``streaming.py``): the content is never in the event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from townsquare.social.models import Message, Notification, Post, Repost

log = logging.getLogger(__name__)

HUB_KEY = "stream_hub"
PENDING_KEY = "stream_pending"


class Subscriber:
    def __init__(self, loop: asyncio.AbstractEventLoop, maxsize: int = 1000) -> None:
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue(maxsize)

    def offer(self, item: dict) -> None:
        try:
            self.queue.put_nowait(item)
        except asyncio.QueueFull:  # a client that stopped reading loses events, never the server's memory
            pass


class StreamHub:
    def __init__(self, redis=None, prefix: str = "townsquare") -> None:
        self.redis = redis
        self.channel = f"{prefix}:stream"
        self._subscribers: set[Subscriber] = set()
        self._lock = threading.Lock()
        self._listener: threading.Thread | None = None
        self._stop = threading.Event()

    # --- producers ---------------------------------------------------------------------------
    def publish(self, events: list[dict]) -> None:
        if not events:
            return
        if self.redis is not None:
            try:
                self.redis.publish(self.channel, json.dumps(events))
                return
            except Exception:
                log.exception("stream: Redis publish failed; delivering in this process only")
        self._deliver(events)

    def _deliver(self, events: list[dict]) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for sub in subscribers:
            for item in events:
                try:
                    sub.loop.call_soon_threadsafe(sub.offer, item)
                except RuntimeError:  # its loop is closed: the connection is gone
                    pass

    # --- consumers -----------------------------------------------------------------------------
    def subscribe(self) -> Subscriber:
        sub = Subscriber(asyncio.get_running_loop())
        with self._lock:
            self._subscribers.add(sub)
        if self.redis is not None:
            self._ensure_listener()
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        with self._lock:
            self._subscribers.discard(sub)

    def _ensure_listener(self) -> None:
        with self._lock:
            if self._listener is not None:
                return
            ready = threading.Event()
            self._listener = threading.Thread(target=self._listen, args=(ready,), name="stream-redis", daemon=True)
            self._listener.start()
        ready.wait(5)

    def _listen(self, ready: threading.Event) -> None:
        while not self._stop.is_set():
            pubsub = None
            try:
                pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(self.channel)
                ready.set()
                while not self._stop.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message.get("type") == "message":
                        self._deliver(json.loads(message["data"]))
            except Exception:
                if self._stop.is_set():
                    return  # closing: the Redis client may already be gone
                log.exception("stream: Redis listener failed; reconnecting")
                self._stop.wait(1.0)
            finally:
                ready.set()
                if pubsub is not None:
                    try:
                        pubsub.close()
                    except Exception:
                        pass

    def close(self) -> None:
        """Stop the listener thread (before the Redis client it reads from is closed)."""
        self._stop.set()
        if self._listener is not None:
            self._listener.join(timeout=3)


# --- capture: what a committed transaction did ------------------------------------------------------


def _changed(obj, attr: str) -> bool:
    history = inspect(obj).attrs[attr].history
    return bool(history.added) and history.added[0] is not None


@event.listens_for(Session, "after_flush")
def _collect(session: Session, _context) -> None:
    if HUB_KEY not in session.info:
        return
    pending = session.info.setdefault(PENDING_KEY, [])
    for obj in session.new:
        if isinstance(obj, Post):
            pending.append({"type": "post", "id": obj.id})
        elif isinstance(obj, Repost):
            pending.append({"type": "repost", "id": obj.id})
        elif isinstance(obj, Notification):
            pending.append({"type": "notification", "id": obj.id, "recipient": obj.recipient_id})
        elif isinstance(obj, Message):
            pending.append({"type": "message", "id": obj.id, "conversation": obj.conversation_id})
    for obj in session.dirty:
        if isinstance(obj, Post):
            if _changed(obj, "deleted_at") or _changed(obj, "removed_at"):
                pending.append({"type": "delete", "id": obj.id, "author": obj.author_id,
                                "visibility": obj.visibility})
            elif _changed(obj, "edited_at"):
                pending.append({"type": "edit", "id": obj.id})


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    events = session.info.pop(PENDING_KEY, None)
    hub = session.info.get(HUB_KEY)
    if events and hub is not None:
        try:
            hub.publish(events)
        except Exception:  # streaming must never fail a request that committed
            log.exception("stream: publish failed")


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(PENDING_KEY, None)
