"""Write-behind for what requests only observe: read-path events and token ``last_used_at``.

Opening a post, searching, reporting impressions and dwell, or using a token are not writes the
person asked for; making them part of the request's transaction turned every read into a write,
and on SQLite every write waits for the single writer lock. So they are appended here and written
by one background thread in batches, in short transactions of their own:

- ``append(rows)`` never touches the database; rows are validated by the caller first
  (``social.events.event_row``).
- A batch is written every ``interval_s`` or as soon as ``batch_size`` rows wait. When
  ``max_rows`` rows wait (the database is down or far behind), ``append`` writes the backlog itself
  before returning: back-pressure instead of unbounded memory or dropped events.
- ``close()`` (the server's shutdown) writes everything that waits: a clean stop loses nothing.
  A crash (kill -9, power loss) loses what was appended in the last ``interval_s`` and not yet
  written: at most about half a second of impressions, opens and searches. Writes the person
  asked for (posts, likes, follows, comments, ...) never go through here.
- A batch the database refuses as a whole is retried row by row; a row that still fails its
  constraints (its actor was deleted in between) is dropped with a warning. Connection errors keep
  the rows for the next round.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from townsquare import metrics
from townsquare.social.models import Event, Token

log = logging.getLogger(__name__)


class EventBuffer:
    def __init__(self, db, *, interval_s: float = 0.5, batch_size: int = 500, max_rows: int = 50_000) -> None:
        self.db = db
        self.interval_s = interval_s
        self.batch_size = batch_size
        self.max_rows = max_rows
        self._rows: list[dict] = []
        self._touched: dict[int, datetime] = {}  # token id -> last used
        self._lock = threading.Lock()  # guards _rows and _touched
        self._write_lock = threading.Lock()  # one writer at a time (thread or back-pressure)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0
        self.dropped = 0
        self._since: float | None = None  # monotonic time the oldest waiting row arrived

    # --- producers (request threads) -----------------------------------------------------------
    def append(self, rows: list[dict]) -> None:
        if not rows:
            return
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
            self._rows.extend(rows)
            waiting = len(self._rows)
        self._ensure_thread()
        if waiting >= self.max_rows:
            self.flush()
        elif waiting >= self.batch_size:
            self._wake.set()

    def touch_token(self, token_id: int, when: datetime) -> None:
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
            self._touched[token_id] = when
        self._ensure_thread()

    def pending(self) -> int:
        with self._lock:
            return len(self._rows) + len(self._touched)

    def lag_s(self) -> float:
        """Seconds the oldest row still waiting has waited (0 when nothing waits): the write lag."""
        since = self._since
        return 0.0 if since is None else max(0.0, time.monotonic() - since)

    # --- the writer ----------------------------------------------------------------------------
    def flush(self) -> int:
        """Write everything that waits now; returns how many events were written."""
        with self._write_lock:
            with self._lock:
                rows, self._rows = self._rows, []
                touched, self._touched = self._touched, {}
                since, self._since = self._since, None
            if not rows and not touched:
                return 0
            dropped = self.dropped
            try:
                written = self._write(rows, touched)
            except (OperationalError, InterfaceError) as exc:  # database unreachable or busy: keep it all
                log.warning("event buffer: write failed, will retry: %s", str(exc).splitlines()[0])
                with self._lock:
                    self._rows[:0] = rows
                    for token_id, when in touched.items():
                        self._touched.setdefault(token_id, when)
                    self._since = since if self._since is None else min(since or self._since, self._since)
                return 0
            self.written += written
            metrics.BUFFER_WRITTEN.inc(written)
            if self.dropped > dropped:
                metrics.BUFFER_DROPPED.inc(self.dropped - dropped)
            return written

    def _write(self, rows: list[dict], touched: dict[int, datetime]) -> int:
        try:
            with self.db.session() as session:
                self._statements(session, rows, touched)
            return len(rows)
        except IntegrityError:
            pass
        written = 0  # one bad row must not cost the batch: row by row, dropping what still fails
        for row in rows:
            try:
                with self.db.session() as session:
                    self._statements(session, [row], {})
                written += 1
            except IntegrityError as exc:
                self.dropped += 1
                log.warning("event buffer: dropped an event the database refused: %s", str(exc).splitlines()[0])
        if touched:
            with self.db.session() as session:
                self._statements(session, [], touched)
        return written

    @staticmethod
    def _statements(session, rows: list[dict], touched: dict[int, datetime]) -> None:
        for start in range(0, len(rows), 1000):
            session.execute(insert(Event.__table__), rows[start:start + 1000])
        if touched:
            session.execute(update(Token.__table__).where(Token.__table__.c.id == bindparam("tid"))
                            .values(last_used_at=bindparam("ts")),
                            [{"tid": t, "ts": ts} for t, ts in sorted(touched.items())])

    def _ensure_thread(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="event-buffer", daemon=True)
                    self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # never let the writer thread die: the next round retries
                log.exception("event buffer: unexpected error")
                time.sleep(self.interval_s)

    def close(self) -> None:
        """Stop the thread and write what waits (the server's shutdown)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for _ in range(3):  # a transient error at shutdown: try again before giving up
            self.flush()
            if not self.pending():
                return
            time.sleep(0.2)
        log.error("event buffer: %d events could not be written at shutdown", self.pending())
