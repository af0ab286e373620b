"""Server-side cache of ranked feeds: a cursor is (feed id, offset) into a frozen ranked list, so
pages stay stable while new posts arrive. Entries expire after ``ttl`` seconds (LRU beyond
``max_feeds``); an expired cursor makes the service rank afresh (recently seen posts excluded)."""

from __future__ import annotations

import marshal
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple


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
