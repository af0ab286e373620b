"""The composition root: the app's long-lived, stateful parts, built once per process.

``Services`` holds the database, the write-behind event buffer, the feed service (with the unified
model's scorer and the ranked-feed cache), the people-you-may-know model, one LLM per role, the
safety shield and the sign-in rate limiter. The web app builds one (``server/app.py``) and hands it
to API routes, pages and the assistant's tools; CLI commands build their own. Nothing else
constructs these parts, so every surface of a process serves the same model and the same caches.

What several workers (or machines) must share goes through Redis when ``TOWNSQUARE_REDIS_URL`` is
set: ranked-feed cursors and rate-limit counters. A newly activated model is found by every process
on its own through the model registry (``FeedService.check_model``, ``pymk_model``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from townsquare.config import Settings
from townsquare.db.engine import Database
from townsquare.feed.cache import FeedCache, RedisFeedCache
from townsquare.feed.service import FeedService
from townsquare.mastodon.idempotency import IdempotencyStore
from townsquare.mastodon.stream import HUB_KEY as STREAM_HUB_KEY
from townsquare.mastodon.stream import StreamHub
from townsquare.server.ratelimit import AuthLimiter
from townsquare.social.event_buffer import EventBuffer
from townsquare.social.events import BUFFER_KEY

log = logging.getLogger(__name__)


class Services:
    def __init__(self, settings: Settings, db: Database | None = None) -> None:
        self.settings = settings
        self.db = db or Database(settings.sqlalchemy_url)
        self.events = EventBuffer(self.db)
        self.redis = _redis_client(settings.redis_url) if settings.redis_url else None
        self.auth_limiter = AuthLimiter(settings.redis_url, settings.redis_prefix)
        self.feed = FeedService(settings, db=self.db, cache=self._feed_cache())
        # The Mastodon API's live events (streaming) and remembered Idempotency-Keys: across workers
        # through Redis when it is set.
        self.stream = StreamHub(self.redis, settings.redis_prefix)
        self.mastodon_idempotency = IdempotencyStore(self.redis, settings.redis_prefix)
        self.llms: dict = {}  # role -> LLM, created on first use; tests put scripted ones here
        self.shield_override = None  # a shield set by a test or a deployment that wires its own
        self._shield = None
        self._lock = threading.Lock()
        self._pymk: tuple[float | None, object] | None = None  # (model file mtime, model or None)
        self._pymk_checked = 0.0
        self._preload: threading.Thread | None = None

    def _feed_cache(self):
        blend = self.feed_config_blend()
        if self.redis is not None:
            return RedisFeedCache(self.redis, blend.cache_ttl_s, self.settings.redis_prefix)
        return FeedCache(blend.cache_ttl_s, blend.cache_max_feeds)

    def feed_config_blend(self):
        from townsquare.feed.config import feed_config

        return feed_config(self.settings).blend

    # --- database sessions ---------------------------------------------------------------------
    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction (commit on success, rollback on error) whose observed events (opens,
        searches, impressions) and token use go through the write-behind buffer."""
        with self.db.session() as session:
            session.info[BUFFER_KEY] = self.events
            session.info[STREAM_HUB_KEY] = self.stream  # what it commits reaches the streaming API
            yield session

    # --- models ---------------------------------------------------------------------------------
    def llm(self, role: str):
        """The LLM for ``role`` (assistant, creator, ...): built once, on first use."""
        if role not in self.llms:
            with self._lock:
                if role not in self.llms:
                    from townsquare.llm.runtime import get_llm

                    self.llms[role] = get_llm(role, self.settings)
        return self.llms[role]

    def shield(self):
        if self.shield_override is not None:
            return self.shield_override
        if self._shield is None:
            with self._lock:
                if self._shield is None:
                    from townsquare.safety.shields import default_shield

                    self._shield = default_shield(self.settings)
        return self._shield

    def pymk_model(self):
        """The people-you-may-know link model, reloaded when ``townsquare feed train-pymk`` writes a
        new one (checked every ``model_reload_check_s``); None means the graph-only fallback."""
        from townsquare.feed import pymk

        now = time.monotonic()
        if self._pymk is not None and now < self._pymk_checked:
            return self._pymk[1]
        self._pymk_checked = now + float(self.settings.model_reload_check_s)
        mtime = _mtime(Path(self.settings.models_dir) / pymk.MODEL_FILE)
        if self._pymk is None or self._pymk[0] != mtime:
            with self._lock:
                if self._pymk is None or self._pymk[0] != mtime:
                    current = self._pymk[1] if self._pymk is not None else None
                    self._pymk = (mtime, pymk.load_link_model(self.settings, current=current))
        return self._pymk[1]

    def preload(self) -> threading.Thread:
        """Load the active recommendation model now, in the background, rather than at the first feed
        request (a serving process: ``/readyz`` reports ``rec_model`` ready once it serves)."""

        def load():
            try:
                _ = self.feed.scorer
            except Exception:
                log.exception("loading the recommendation model failed; the feed ranks by heuristics")

        with self._lock:
            if self._preload is None:
                self._preload = threading.Thread(target=load, name="model-preload", daemon=True)
                self._preload.start()
        return self._preload

    # --- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        """Write what waits in the event buffer (a clean stop loses nothing) and release resources."""
        self.events.close()
        self.stream.close()
        # LLMs stay: the runtime shares one loaded model per process between roles and apps.
        if self.redis is not None:
            self.redis.close()


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
