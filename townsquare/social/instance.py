"""Instance settings an admin changes on ``/admin/settings`` (stored in ``instance_settings``; the
defaults live here). Each one is used by the app: the name and about text on the sign-in and sign-up
pages, whether anyone may sign up, and the training an admin starts with "Train now"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Forbidden, InvalidInput
from townsquare.social.models import InstanceSetting


@dataclass(frozen=True)
class Field:
    kind: type
    default: Any
    label: str
    low: float | None = None
    high: float | None = None
    max_len: int | None = None


FIELDS: dict[str, Field] = {
    "name": Field(str, "Townsquare", "Community name", max_len=60),
    "about": Field(str, "", "About this community (shown on the sign-in and sign-up pages)", max_len=1000),
    "registrations_open": Field(bool, True, "Anyone may create an account"),
    "train_epochs": Field(int, 10, "Training started from the admin pages: at most this many epochs", 1, 200),
    "train_max_minutes": Field(float, 20.0, "... and at most this many minutes", 1, 600),
}


def get_all(session: Session) -> dict[str, Any]:
    stored = dict(session.execute(select(InstanceSetting.key, InstanceSetting.value)).all())
    return {key: stored.get(key, field.default) for key, field in FIELDS.items()}


def get(session: Session, key: str) -> Any:
    row = session.get(InstanceSetting, key)
    return row.value if row is not None else FIELDS[key].default


def _coerce(key: str, raw: Any) -> Any:
    field = FIELDS[key]
    if field.kind is bool:
        return raw in (True, "1", "true", "on", "yes")
    if field.kind is str:
        value = str(raw or "").strip()
        if field.max_len and len(value) > field.max_len:
            raise InvalidInput(f"{field.label.split(' (')[0].lower()} must be at most {field.max_len} characters")
        return value
    try:
        value = field.kind(raw)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field.label.lower()}: {raw!r} is not a number")
    if (field.low is not None and value < field.low) or (field.high is not None and value > field.high):
        raise InvalidInput(f"{field.label.lower()}: must be between {field.low:g} and {field.high:g}")
    return value


def update(session: Session, changes: dict[str, Any]) -> dict[str, Any]:
    """Check every change first, then store them all (nothing is stored when one is wrong)."""
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise InvalidInput(f"unknown setting(s): {', '.join(sorted(unknown))}")
    clean = {key: _coerce(key, value) for key, value in changes.items()}
    if "name" in clean and not clean["name"]:
        raise InvalidInput("the community needs a name")
    for key, value in clean.items():
        row = session.get(InstanceSetting, key)
        if row is None:
            session.add(InstanceSetting(key=key, value=value, updated_at=utcnow()))
        else:
            row.value, row.updated_at = value, utcnow()
    session.flush()
    return get_all(session)


def require_registrations_open(session: Session) -> None:
    if not get(session, "registrations_open"):
        raise Forbidden("this community is not taking new accounts right now", code="registrations_closed")
