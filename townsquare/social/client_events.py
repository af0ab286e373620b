"""Events reported by clients in batches: impressions, dwell, opens, shares, hides.

A batch is validated as a whole before anything is written (all or nothing). The actor is
always the signed-in person. A ``hide`` also records a "show less" preference for the feed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import InvalidInput
from townsquare.social.events import BUFFER_KEY, log_events, record_events
from townsquare.social.keyset import older_than
from townsquare.social.models import Account, Event, Hashtag, Post
from townsquare.social.preferences import record_show_less
from townsquare.social.visibility import visible_posts_clause

CLIENT_ACTIONS = ("impression", "dwell", "open", "share", "hide", "profile_visit")
CLIENT_ENTITY_TYPES = ("post", "account", "hashtag")
MAX_BATCH = 500
MAX_SURFACE = 24
MAX_CONTEXT_CHARS = 2000
MAX_PAST = timedelta(days=7)
MAX_FUTURE = timedelta(minutes=5)


@dataclass(frozen=True)
class ClientEvent:
    action: str
    entity_id: int
    entity_type: str = "post"
    surface: str | None = None
    position: int | None = None
    dwell_ms: int | None = None
    ts: datetime | None = None
    context: dict | None = None


def _check(index: int, event: ClientEvent, now: datetime) -> None:
    where = f"events[{index}]"
    if event.action not in CLIENT_ACTIONS:
        raise InvalidInput(f"{where}.action must be one of {', '.join(CLIENT_ACTIONS)}")
    if event.entity_type not in CLIENT_ENTITY_TYPES:
        raise InvalidInput(f"{where}.entity_type must be one of {', '.join(CLIENT_ENTITY_TYPES)}")
    if event.action == "impression" and event.position is None:
        raise InvalidInput(f"{where}: an impression needs a position")
    if event.action in ("impression", "dwell") and not event.surface:
        raise InvalidInput(f"{where}: an {event.action} needs a surface")
    if event.action == "dwell" and event.dwell_ms is None:
        raise InvalidInput(f"{where}: a dwell event needs dwell_ms")
    if event.action == "profile_visit" and event.entity_type != "account":
        raise InvalidInput(f"{where}: a profile_visit is about an account")
    if event.surface is not None and (len(event.surface) > MAX_SURFACE or not event.surface.replace("_", "").isalnum()):
        raise InvalidInput(f"{where}.surface must be a short name (letters, digits, _)")
    if event.position is not None and not 0 <= event.position <= 100_000:
        raise InvalidInput(f"{where}.position must be between 0 and 100000")
    if event.dwell_ms is not None and event.dwell_ms < 0:
        raise InvalidInput(f"{where}.dwell_ms must be >= 0")
    if event.ts is not None:
        ts = event.ts if event.ts.tzinfo else event.ts.replace(tzinfo=now.tzinfo)
        if ts > now + MAX_FUTURE or ts < now - MAX_PAST:
            raise InvalidInput(f"{where}.ts must be within the last 7 days")
    if event.context is not None and len(repr(event.context)) > MAX_CONTEXT_CHARS:
        raise InvalidInput(f"{where}.context is too large")


def _existing(session: Session, actor: Account, entity_type: str, ids: set[int]) -> set[int]:
    """The ids the actor may log events about. A post they may not read counts as unknown (the same
    answer as for an id that never existed, so a batch cannot probe for followers-only posts); a post
    gone since it was shown (deleted, removed) is still accepted."""
    if not ids:
        return set()
    if entity_type == "post":
        gone = or_(Post.deleted_at.is_not(None), Post.removed_at.is_not(None), Account.status != "active")
        query = (select(Post.id).join(Post.author)
                 .where(Post.id.in_(ids), or_(gone, visible_posts_clause(actor.id))))
        return set(session.scalars(query))
    model = {"account": Account, "hashtag": Hashtag}[entity_type]
    return set(session.scalars(select(model.id).where(model.id.in_(ids))))


def ingest(session: Session, actor: Account, events: list[ClientEvent]) -> int:
    """Validate the whole batch, then write it in one statement; returns how many were stored."""
    if not events:
        raise InvalidInput("send at least one event")
    if len(events) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} events per batch", code="batch_too_large")
    now = utcnow()
    for i, event in enumerate(events):
        _check(i, event, now)
    for entity_type in CLIENT_ENTITY_TYPES:
        wanted = {e.entity_id for e in events if e.entity_type == entity_type}
        missing = wanted - _existing(session, actor, entity_type, wanted)
        if missing:
            raise InvalidInput(f"unknown {entity_type} id(s): {', '.join(str(m) for m in sorted(missing)[:5])}",
                               code="unknown_entity")
    if actor.tracking_opt_out:  # the person turned impression and dwell tracking off: none is kept
        events = [e for e in events if e.action not in ("impression", "dwell")]
    rows = [{"actor_id": actor.id, "action": e.action, "entity_type": e.entity_type, "entity_id": e.entity_id,
             "surface": e.surface, "position": e.position, "dwell_ms": e.dwell_ms, "ts": e.ts or now,
             "context": e.context} for e in events]
    # A hide is a choice the person made (it also records "show less"): written with it, now. The
    # rest only report what was seen, and go through the write-behind buffer.
    stored = record_events(session, [r for r in rows if r["action"] != "hide"])
    stored += log_events(session, [r for r in rows if r["action"] == "hide"])
    hides = [(e.entity_type, e.entity_id) for e in events if e.action == "hide"]
    if hides:
        record_show_less(session, actor.id, hides)
    return stored


def my_events(session: Session, actor: Account, *, before: tuple[datetime, int] | None = None,
              limit: int = 50, action: str | None = None) -> list[Event]:
    """The person's own events, newest first (what still waits in the write-behind buffer first)."""
    buffer = session.info.get(BUFFER_KEY)
    if buffer is not None:
        buffer.flush()
    query = select(Event).where(Event.actor_id == actor.id)
    if action is not None:
        query = query.where(Event.action == action)
    condition = older_than(Event.ts, Event.id, before)
    if condition is not None:
        query = query.where(condition)
    return list(session.scalars(query.order_by(Event.ts.desc(), Event.id.desc()).limit(limit)))
