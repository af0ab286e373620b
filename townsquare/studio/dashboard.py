"""The creator's dashboard: how fans use their AI."""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.studio.models import AIChat, AIMessage, AutoReply, CreatorAI


def _normalise(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9']+", text.lower()))[:200]


def dashboard(session: Session, ai: CreatorAI, top: int = 10) -> dict:
    chats = select(AIChat.id).where(AIChat.ai_id == ai.id)
    conversations = session.scalar(select(func.count()).select_from(AIChat).where(AIChat.ai_id == ai.id)) or 0
    rows = session.execute(select(AIMessage.role, AIMessage.status, AIMessage.content, AIMessage.created_at,
                                  AIMessage.verdict, AIMessage.chat_id)
                           .where(AIMessage.chat_id.in_(chats)).order_by(AIMessage.id.desc()).limit(5000)).all()
    questions = Counter(_normalise(r.content) for r in rows if r.role == "user" and r.status == "ok")
    declined = [{"text": r.content, "at": r.created_at.isoformat()} for r in rows
                if r.role == "user" and r.status == "declined"][:20]
    flagged = [{"text": r.content, "at": r.created_at.isoformat()} for r in rows
               if r.role == "user" and r.status == "flagged"][:20]
    # Questions the AI had no public post for: what fans want that the creator has not posted about.
    not_posted, asked = [], {}
    for r in reversed(rows):  # oldest first: each answer follows its question in the same chat
        if r.role == "user":
            asked[r.chat_id] = r
        elif (r.verdict or {}).get("grounded") is False and r.chat_id in asked:
            question = asked.pop(r.chat_id)
            not_posted.append({"text": question.content, "at": question.created_at.isoformat()})
    auto = session.execute(select(AutoReply.channel, func.count()).where(
        AutoReply.ai_id == ai.id, AutoReply.status.in_(("posted", "edited"))).group_by(AutoReply.channel)).all()
    return {
        "ai": {"id": str(ai.id), "name": ai.name, "paused": ai.paused, "visibility": ai.visibility},
        "conversations": conversations,
        "messages": sum(1 for r in rows if r.role == "user"),
        "top_questions": [{"text": q, "count": n} for q, n in questions.most_common(top) if q],
        "declined": declined,
        "flagged": flagged,
        "not_posted": not_posted[::-1][:20],
        "auto_replies": {channel: n for channel, n in auto},
    }
