"""An in-process sliding-window rate limiter (per client address), for sign-in and sign-up.

One process serves the app by default; behind several workers each keeps its own window, which
still bounds guessing. The window is 60 s; the limit is read from the settings on every call
so it can be changed at run time (and in tests).
"""

from __future__ import annotations

import threading
import time
from collections import deque

from fastapi import Request

from townsquare.errors import RateLimited

WINDOW_S = 60.0


class SlidingWindowLimiter:
    def __init__(self, window_s: float = WINDOW_S, clock=time.monotonic) -> None:
        self.window_s = window_s
        self.clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> None:
        """Count one request for ``key``; RateLimited when it is over ``limit`` in the window."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window_s:
                hits.popleft()
            if len(hits) >= limit:
                retry = max(1, int(hits[0] + self.window_s - now + 0.999))
                raise RateLimited(f"too many attempts; try again in {retry} s")
            hits.append(now)
            if len(self._hits) > 10_000:  # forget idle clients so memory stays bounded
                for stale in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window_s]:
                    del self._hits[stale]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def limit_auth(request: Request) -> None:
    """FastAPI dependency: at most ``settings.auth_rate_limit_per_minute`` auth attempts per address."""
    state = request.app.state
    limiter = getattr(state, "auth_limiter", None)
    if limiter is None:
        limiter = state.auth_limiter = SlidingWindowLimiter()
    limiter.hit(client_address(request), max(1, int(state.settings.auth_rate_limit_per_minute)))
