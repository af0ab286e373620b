"""The person's activity: every side effect the assistant proposed for them, from any surface (typed,
hands-free, the OpenAI API), with what became of it. Nothing happens unseen: the hands-free page
shows this list next to the spoken conversation."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.assistant.models import PendingAction


def recent_actions(session: Session, account_id: int, limit: int = 20) -> list[dict]:
    rows = session.scalars(select(PendingAction).where(PendingAction.account_id == account_id)
                           .order_by(PendingAction.id.desc()).limit(limit))
    return [{"id": str(a.id), "conversation_id": str(a.conversation_id), "tool": a.tool, "summary": a.summary,
             "status": a.status, "result": (a.result or {}).get("text"), "created_at": a.created_at.isoformat(),
             "resolved_at": a.resolved_at.isoformat() if a.resolved_at else None} for a in rows]
