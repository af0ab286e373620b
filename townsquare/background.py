"""Single-flight background jobs: refresh something in a daemon thread without making a request
wait for it, and never run two refreshes of the same thing at once."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable

log = logging.getLogger(__name__)


class SingleFlight:
    """``start(key, job)`` runs ``job()`` in a daemon thread unless a job for ``key`` is running.
    A failing job is logged; the caller's data stays as it was and a later ``start`` retries."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._running: set[Hashable] = set()
        self._lock = threading.Lock()

    def start(self, key: Hashable, job: Callable[[], None]) -> bool:
        """Returns whether a new job was started."""
        with self._lock:
            if key in self._running:
                return False
            self._running.add(key)
        threading.Thread(target=self._run, args=(key, job), daemon=True, name=self.name).start()
        return True

    def running(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._running

    def _run(self, key: Hashable, job: Callable[[], None]) -> None:
        try:
            job()
        except Exception:
            log.exception("background job %s (%r) failed", self.name, key)
        finally:
            with self._lock:
                self._running.discard(key)
