"""Feed preferences people express: "show less" (recorded from hide events)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput
from townsquare.social.models import ShowLess

SHOW_LESS_TARGETS = ("post", "account", "hashtag")


def record_show_less(session: Session, account_id: int, targets: list[tuple[str, int]]) -> None:
    """Remember ``(target_type, target_id)`` pairs as "show less" for the person (idempotent)."""
    rows = []
    for target_type, target_id in dict.fromkeys(targets):
        if target_type not in SHOW_LESS_TARGETS:
            raise InvalidInput(f"cannot hide a {target_type}; expected one of {', '.join(SHOW_LESS_TARGETS)}")
        rows.append({"account_id": account_id, "target_type": target_type, "target_id": target_id})
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(ShowLess).on_conflict_do_nothing(), rows)


def show_less(session: Session, account_id: int) -> dict[str, set[int]]:
    """Everything the person asked to see less of, by target type."""
    result: dict[str, set[int]] = {t: set() for t in SHOW_LESS_TARGETS}
    for target_type, target_id in session.execute(
        select(ShowLess.target_type, ShowLess.target_id).where(ShowLess.account_id == account_id)
    ):
        result.setdefault(target_type, set()).add(target_id)
    return result


def hidden_post_ids(session: Session, account_id: int) -> set[int]:
    return set(session.scalars(select(ShowLess.target_id).where(
        ShowLess.account_id == account_id, ShowLess.target_type == "post")))
