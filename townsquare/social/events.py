"""The event log: every interaction is appended here; the unified model learns from it.

Two ways in:
- ``log_event`` / ``log_events``: in the caller's transaction, for events that record a write the
  person asked for (a post, a like, a follow): the event commits or rolls back with it.
- ``record_event`` / ``record_events``: for what a request only observes (an open, a search, an
  impression, dwell). When the session carries the app's write-behind buffer
  (``session.info["event_buffer"]``, see ``event_buffer.py``) the rows go there and a background
  thread writes them in batches, so a read never waits for the database's writer; otherwise (the
  CLI, a test's bare session) they are written in the session like ``log_events``.

Reads come back as per-person, time-ordered sequences through one scan of the ``(actor_id, ts)`` index.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import InvalidInput
from townsquare.social.models import ENTITY_TYPES, EVENT_ACTIONS, Event

MAX_DWELL_MS = 60 * 60 * 1000  # an hour; longer dwell reports are clipped, not trusted


@dataclass(frozen=True, slots=True)
class EventRecord:
    """One event as read back from the log."""

    id: int
    ts: datetime
    actor_id: int
    action: str
    entity_type: str
    entity_id: int | None
    surface: str | None
    position: int | None
    dwell_ms: int | None


def event_row(actor_id: int, action: str, entity_type: str, entity_id: int | None, *, ts: datetime | None = None,
         surface: str | None = None, position: int | None = None, dwell_ms: int | None = None,
         context: dict | None = None) -> dict:
    if action not in EVENT_ACTIONS:
        raise InvalidInput(f"unknown event action {action!r}; expected one of {', '.join(EVENT_ACTIONS)}")
    if entity_type not in ENTITY_TYPES:
        raise InvalidInput(f"unknown entity type {entity_type!r}; expected one of {', '.join(ENTITY_TYPES)}")
    if position is not None and position < 0:
        raise InvalidInput("position must be >= 0")
    if dwell_ms is not None:
        if dwell_ms < 0:
            raise InvalidInput("dwell_ms must be >= 0")
        dwell_ms = min(dwell_ms, MAX_DWELL_MS)
    return {
        "ts": ts or utcnow(), "actor_id": actor_id, "action": action, "entity_type": entity_type,
        "entity_id": entity_id, "surface": surface, "position": position, "dwell_ms": dwell_ms,
        "context": context,
    }


def _prepare(r: dict) -> dict:
    return event_row(r["actor_id"], r["action"], r.get("entity_type", "post"), r.get("entity_id"), ts=r.get("ts"),
                     surface=r.get("surface"), position=r.get("position"), dwell_ms=r.get("dwell_ms"),
                     context=r.get("context"))


def log_event(session: Session, actor_id: int, action: str, entity_type: str = "post",
              entity_id: int | None = None, **fields) -> None:
    """Append one event (in the caller's transaction)."""
    session.execute(insert(Event), [event_row(actor_id, action, entity_type, entity_id, **fields)])


def log_events(session: Session, rows: Iterable[dict]) -> int:
    """Append many events in one statement. Each row: actor_id, action, entity_type, entity_id, and
    optionally ts, surface, position, dwell_ms, context. All rows are validated before any is written."""
    prepared = [_prepare(r) for r in rows]
    if prepared:
        # Core insert on the table: one executemany (the ORM bulk path splits rows whose None
        # fields differ, e.g. impressions without dwell next to dwell events, into many statements).
        session.execute(insert(Event.__table__), prepared)
    return len(prepared)


BUFFER_KEY = "event_buffer"


def record_events(session: Session, rows: Iterable[dict]) -> int:
    """Log events that a request only observed: through the write-behind buffer when the session has
    one, else in the session. Rows as for ``log_events``; all are validated before any is kept."""
    buffer = session.info.get(BUFFER_KEY)
    if buffer is None:
        return log_events(session, rows)
    prepared = [_prepare(r) for r in rows]
    buffer.append(prepared)
    return len(prepared)


def record_event(session: Session, actor_id: int, action: str, entity_type: str = "post",
                 entity_id: int | None = None, **fields) -> None:
    """One observed event (see ``record_events``)."""
    record_events(session, [{"actor_id": actor_id, "action": action, "entity_type": entity_type,
                             "entity_id": entity_id, **fields}])


def iter_sequences(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                   actions: Iterable[str] | None = None,
                   batch_size: int = 10_000) -> Iterator[tuple[int, list[EventRecord]]]:
    """Yield ``(actor_id, events)`` per person, events in time order (ties by id), people by id."""
    query = select(Event.id, Event.ts, Event.actor_id, Event.action, Event.entity_type, Event.entity_id,
                   Event.surface, Event.position, Event.dwell_ms)
    if since is not None:
        query = query.where(Event.ts >= since)
    if until is not None:
        query = query.where(Event.ts < until)
    if actions is not None:
        query = query.where(Event.action.in_(list(actions)))
    query = query.order_by(Event.actor_id, Event.ts, Event.id).execution_options(yield_per=batch_size)
    current: int | None = None
    events: list[EventRecord] = []
    for row in session.execute(query):
        record = EventRecord(*row)
        if record.actor_id != current:
            if current is not None:
                yield current, events
            current, events = record.actor_id, []
        events.append(record)
    if current is not None:
        yield current, events
