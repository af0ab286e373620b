"""Server-side cache of ranked feeds: a cursor is (feed id, offset) into a frozen ranked list, so
pages stay stable while new posts arrive. Entries expire after ``ttl`` seconds (LRU beyond
``max_feeds``); an expired cursor makes the service rank afresh (recently seen posts excluded)."""

from __future__ import annotations

import logging
import marshal
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

try:
    from redis.exceptions import ConnectionError as _RedisConnectionError
    from redis.exceptions import TimeoutError as _RedisTimeoutError

    REDIS_DOWN: tuple[type[Exception], ...] = (_RedisConnectionError, _RedisTimeoutError)
except ImportError:  # pragma: no cover - redis is a dependency
    REDIS_DOWN = (ConnectionError, TimeoutError)

log = logging.getLogger(__name__)


class RankedItem(NamedTuple):
    """One ranked item, built of tuples and atoms only (no dict, no list, no numpy number):
    ``RankedFeed`` keeps its items marshalled."""

    post_id: int
    author_id: int
    value: float
    sources: tuple[tuple[str, object], ...]  # (source name, detail: None, number, hashtag, account ids)
    in_network: bool
    hashtags: tuple[str, ...]
    top_actions: tuple[tuple[str, float, float], ...]  # (action, p, contribution)

    @classmethod
    def make(cls, post_id: int, author_id: int, value: float, sources: dict, in_network: bool,
             hashtags: tuple[str, ...], top_actions: list[dict]) -> RankedItem:
        return cls(post_id, author_id, value, tuple(sources.items()), in_network, hashtags,
                   tuple((a["action"], a["p"], a["contribution"]) for a in top_actions))

    def source_map(self) -> dict:
        return dict(self.sources)

    def top_action_dicts(self) -> list[dict]:
        return [{"action": a, "p": p, "contribution": c} for a, p, c in self.top_actions]


@dataclass(slots=True)
class RankedFeed:
    """One ranked list, frozen for its cursors. The items are kept marshalled in one ``bytes``
    object, which the garbage collector never tracks: cached lists as Python tuples stayed tracked
    until a full collection had walked them a level at a time, and a cache of them (up to 5,000
    feeds x 200 items) made every full collection a stall on the feed's p99."""

    viewer_id: int
    ranked_by: str  # "model" | "heuristic"
    packed: bytes  # marshal of [RankedItem fields as a tuple, ...]
    size: int
    author_affinity: dict[int, float] = field(default_factory=dict)
    topic_affinity: dict[str, float] = field(default_factory=dict)
    feed_id: str = field(default_factory=lambda: secrets.token_urlsafe(9))
    created: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, viewer_id: int, ranked_by: str, items: list[RankedItem], **kw) -> RankedFeed:
        return cls(viewer_id, ranked_by, marshal.dumps([tuple(it) for it in items]), len(items), **kw)

    def slice(self, offset: int, limit: int) -> list[RankedItem]:
        return [RankedItem._make(row) for row in marshal.loads(self.packed)[offset:offset + limit]]

    @property
    def items(self) -> list[RankedItem]:
        return self.slice(0, self.size)


class FeedCache:
    def __init__(self, ttl_s: float = 1800, max_feeds: int = 5000) -> None:
        self.ttl_s, self.max_feeds = ttl_s, max_feeds
        self._feeds: OrderedDict[str, RankedFeed] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, feed: RankedFeed) -> None:
        with self._lock:
            self._feeds[feed.feed_id] = feed
            self._feeds.move_to_end(feed.feed_id)
            while len(self._feeds) > self.max_feeds:
                self._feeds.popitem(last=False)

    def get(self, feed_id: str, viewer_id: int) -> RankedFeed | None:
        with self._lock:
            feed = self._feeds.get(feed_id)
            if feed is None:
                return None
            if time.monotonic() - feed.created > self.ttl_s:
                del self._feeds[feed_id]
                return None
            if feed.viewer_id != viewer_id:  # a cursor is personal
                return None
            self._feeds.move_to_end(feed_id)
            return feed

    def drop(self, feed_id: str) -> None:
        with self._lock:
            self._feeds.pop(feed_id, None)

    def drop_viewer(self, viewer_id: int) -> None:
        with self._lock:
            for fid in [f for f, feed in self._feeds.items() if feed.viewer_id == viewer_id]:
                del self._feeds[fid]

    def clear(self) -> None:
        with self._lock:
            self._feeds.clear()

    def __len__(self) -> int:
        return len(self._feeds)


class RedisFeedCache:
    """The same cache in Redis, shared by every worker: a cursor made by one worker pages on any
    other. One key per feed (marshalled, with the TTL), and a set per viewer to drop their feeds.
    Redis is trusted like the database (marshal data is only read back from it)."""

    def __init__(self, client, ttl_s: float = 1800, prefix: str = "townsquare") -> None:
        self.client, self.ttl_s, self.prefix = client, int(ttl_s), prefix

    def _key(self, feed_id: str) -> str:
        return f"{self.prefix}:feed:{feed_id}"

    def _viewer_key(self, viewer_id: int) -> str:
        return f"{self.prefix}:feeds-of:{viewer_id}"

    def put(self, feed: RankedFeed) -> None:
        blob = marshal.dumps((feed.viewer_id, feed.ranked_by, feed.packed, feed.size, feed.author_affinity,
                              feed.topic_affinity))
        pipe = self.client.pipeline()
        pipe.set(self._key(feed.feed_id), blob, ex=self.ttl_s)
        pipe.sadd(self._viewer_key(feed.viewer_id), feed.feed_id)
        pipe.expire(self._viewer_key(feed.viewer_id), self.ttl_s)
        try:
            pipe.execute()
        except REDIS_DOWN as exc:  # the page is still served; its cursor will start a fresh ranking
            log.warning("feed cache: Redis unavailable, cursor not stored: %s", exc)

    def get(self, feed_id: str, viewer_id: int) -> RankedFeed | None:
        try:
            blob = self.client.get(self._key(feed_id))
        except REDIS_DOWN as exc:  # as if the cursor had expired: a fresh ranking, marked "restarted"
            log.warning("feed cache: Redis unavailable, ranking afresh: %s", exc)
            return None
        if blob is None:
            return None
        owner, ranked_by, packed, size, author_affinity, topic_affinity = marshal.loads(blob)
        if owner != viewer_id:  # a cursor is personal
            return None
        return RankedFeed(owner, ranked_by, packed, size, author_affinity, topic_affinity, feed_id)

    def drop(self, feed_id: str) -> None:
        try:
            self.client.delete(self._key(feed_id))
        except REDIS_DOWN as exc:  # it expires on its own (TTL)
            log.warning("feed cache: Redis unavailable, feed not dropped: %s", exc)

    def drop_viewer(self, viewer_id: int) -> None:
        try:
            ids = self.client.smembers(self._viewer_key(viewer_id))
            keys = [self._key(i.decode() if isinstance(i, bytes) else i) for i in ids]
            self.client.delete(*keys, self._viewer_key(viewer_id))
        except REDIS_DOWN as exc:
            log.warning("feed cache: Redis unavailable, feeds not dropped: %s", exc)

    def clear(self) -> None:
        keys = list(self.client.scan_iter(f"{self.prefix}:feed:*")) + list(
            self.client.scan_iter(f"{self.prefix}:feeds-of:*"))
        if keys:
            self.client.delete(*keys)

    def __len__(self) -> int:
        return sum(1 for _ in self.client.scan_iter(f"{self.prefix}:feed:*"))
