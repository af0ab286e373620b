"""What the assistant remembers about a person: said explicitly ("remember that ...") or learned
from what they say about themselves ("I love trail running"). People list, edit and delete them;
the few most relevant to a message go into the prompt."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.assistant.models import Memory
from townsquare.db.base import utcnow
from townsquare.errors import Conflict, InvalidInput, NotFound

MAX_MEMORIES = 200
MAX_CHARS = 500

_REMEMBER = re.compile(r"^\s*(?:please\s+)?(?:can you\s+)?remember(?:\s+that)?\s+(?P<fact>.+?)\s*[.!]?\s*$",
                       re.IGNORECASE | re.DOTALL)
_PREFERENCE = re.compile(r"\bI(?:'m| am)?\s+(?:really\s+)?(?P<verb>love|like|enjoy|prefer|am into|'m into|hate|"
                         r"dislike|don't like)\s+(?P<what>[^.!?,;]{3,80})", re.IGNORECASE)


def explicit_memory(text: str) -> str | None:
    """The fact in "remember that ..." messages, or None."""
    match = _REMEMBER.match(text or "")
    return match.group("fact").strip() if match else None


def learned_preferences(text: str) -> list[str]:
    """Preferences stated in passing: "I love trail running" -> "Loves trail running"."""
    found = []
    for match in _PREFERENCE.finditer(text or ""):
        verb = match.group("verb").lower().replace("'m into", "am into")
        what = match.group("what").strip()
        label = {"love": "Loves", "like": "Likes", "enjoy": "Enjoys", "prefer": "Prefers", "am into": "Is into",
                 "hate": "Dislikes", "dislike": "Dislikes", "don't like": "Dislikes"}[verb]
        found.append(f"{label} {what}")
    return found


def _clean(text: str) -> str:
    text = " ".join(str(text or "").split())
    if not text:
        raise InvalidInput("a memory needs some text")
    if len(text) > MAX_CHARS:
        raise InvalidInput(f"a memory is at most {MAX_CHARS} characters")
    return text


def add_memory(session: Session, account_id: int, text: str, source: str = "explicit") -> Memory:
    text = _clean(text)
    existing = session.scalar(select(Memory).where(Memory.account_id == account_id, Memory.text == text))
    if existing is not None:
        return existing
    count = len(session.scalars(select(Memory.id).where(Memory.account_id == account_id)).all())
    if count >= MAX_MEMORIES:
        raise Conflict(f"you have {MAX_MEMORIES} memories; delete some first")
    memory = Memory(account_id=account_id, text=text, source=source)
    session.add(memory)
    session.flush()
    return memory


def list_memories(session: Session, account_id: int) -> list[Memory]:
    return list(session.scalars(select(Memory).where(Memory.account_id == account_id).order_by(Memory.id)))


def _own(session: Session, account_id: int, memory_id: int) -> Memory:
    memory = session.get(Memory, memory_id)
    if memory is None or memory.account_id != account_id:
        raise NotFound("no such memory")
    return memory


def edit_memory(session: Session, account_id: int, memory_id: int, text: str) -> Memory:
    memory = _own(session, account_id, memory_id)
    memory.text, memory.updated_at, memory.source = _clean(text), utcnow(), "explicit"
    return memory


def delete_memory(session: Session, account_id: int, memory_id: int) -> None:
    session.delete(_own(session, account_id, memory_id))


def relevant_memories(session: Session, account_id: int, message: str, k: int = 5, settings=None) -> list[str]:
    """Up to ``k`` memories, the most similar to ``message`` first (all of them when there are few)."""
    memories = list_memories(session, account_id)
    if len(memories) <= k:
        return [m.text for m in memories]
    from townsquare.llm.embeddings import embed_texts

    vectors = embed_texts([m.text for m in memories] + [message], settings=settings)
    scores = vectors[:-1] @ vectors[-1]
    order = sorted(range(len(memories)), key=lambda i: -scores[i])[:k]
    return [memories[i].text for i in order]
