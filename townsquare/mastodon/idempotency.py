"""``Idempotency-Key`` for ``POST /api/v1/statuses``: a client that retries a post (a timeout, a
flaky network) with the same key gets the status it already made instead of a second one.

Keys are remembered for an hour per account, in Redis when several workers share it
(``TOWNSQUARE_REDIS_URL``), else in this process. A key is stored only after its status committed;
a retry that finds the status gone (or never committed) posts again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

TTL_S = 3600
MAX_KEYS = 20_000
MAX_KEY_CHARS = 200


class IdempotencyStore:
    def __init__(self, redis=None, prefix: str = "townsquare") -> None:
        self.redis, self.prefix = redis, prefix
        self._memory: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()

    def _key(self, account_id: int, key: str) -> str:
        return f"{self.prefix}:idem:{account_id}:{key[:MAX_KEY_CHARS]}"

    def get(self, account_id: int, key: str) -> str | None:
        name = self._key(account_id, key)
        if self.redis is not None:
            value = self.redis.get(name)
            return value.decode() if isinstance(value, bytes) else value
        with self._lock:
            found = self._memory.get(name)
            if found is None or found[0] < time.monotonic():
                self._memory.pop(name, None)
                return None
            return found[1]

    def put(self, account_id: int, key: str, status_id: str) -> None:
        name = self._key(account_id, key)
        if self.redis is not None:
            self.redis.set(name, status_id, ex=TTL_S)
            return
        with self._lock:
            self._memory[name] = (time.monotonic() + TTL_S, status_id)
            self._memory.move_to_end(name)
            while len(self._memory) > MAX_KEYS:
                self._memory.popitem(last=False)
