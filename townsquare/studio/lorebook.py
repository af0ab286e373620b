"""Lorebook (``character_book``) activation: which entries go into the prompt for a conversation.

Rules, following the Character Card V2 spec: disabled entries never fire; ``constant`` entries
always fire; others fire when one of their ``keys`` occurs in the scanned text (case-insensitive
unless ``case_sensitive``), and, when ``selective``, one of their ``secondary_keys`` too. With
``use_regex`` (Character Card V3) the keys are regular expressions, plain or ``/pattern/flags``
(``i`` ignores case); a key that is not a valid expression is matched as plain text. If the
fired entries exceed the token budget, the lowest ``priority`` ones are dropped first. What is
left is inserted in ascending ``insertion_order``.
"""

from __future__ import annotations

import re
from functools import lru_cache

DEFAULT_TOKEN_BUDGET = 512
MAX_REGEX_CHARS = 500
MAX_SCANNED_CHARS = 20_000  # regular expressions only ever see this much of the conversation


def _approx_tokens(text: str) -> int:
    return max(1, len(text) // 4)


@lru_cache(maxsize=1024)
def _regex(key: str, case_sensitive: bool) -> re.Pattern | None:
    flags = 0 if case_sensitive else re.IGNORECASE
    slashed = re.fullmatch(r"/(.+)/([a-z]*)", key, re.DOTALL)
    if slashed:
        key = slashed.group(1)
        flags |= re.IGNORECASE if "i" in slashed.group(2) else 0
    if len(key) > MAX_REGEX_CHARS:
        return None
    try:
        return re.compile(key, flags)
    except re.error:
        return None


def _occurs(keys: list[str], text: str, case_sensitive: bool, use_regex: bool = False) -> bool:
    haystack = text if case_sensitive else text.lower()
    for key in keys:
        if not key.strip():
            continue
        pattern = _regex(key, case_sensitive) if use_regex else None
        if pattern is not None:
            if pattern.search(text[-MAX_SCANNED_CHARS:]):
                return True
            continue
        if (key if case_sensitive else key.lower()) in haystack:
            return True
    return False


def entry_fires(entry: dict, text: str) -> bool:
    if not entry.get("enabled", True):
        return False
    if entry.get("constant"):
        return True
    case_sensitive, use_regex = bool(entry.get("case_sensitive")), bool(entry.get("use_regex"))
    if not _occurs(entry.get("keys") or [], text, case_sensitive, use_regex):
        return False
    secondary = entry.get("secondary_keys") or []
    if entry.get("selective") and secondary:
        return _occurs(secondary, text, case_sensitive, use_regex)
    return True


def select_entries(book: dict | None, scanned_text: str, token_budget: int | None = None) -> list[dict]:
    """The entries to insert, in insertion order, within the budget."""
    if not book:
        return []
    budget = token_budget or book.get("token_budget") or DEFAULT_TOKEN_BUDGET
    fired = [e for e in book.get("entries") or [] if entry_fires(e, scanned_text)]
    # Keep the highest priority first (constant entries before keyed ones at equal priority).
    by_priority = sorted(fired, key=lambda e: (-(e.get("priority") or 0), not e.get("constant"),
                                               e.get("insertion_order", 0)))
    kept, used = [], 0
    for entry in by_priority:
        cost = _approx_tokens(entry.get("content", ""))
        if used + cost > budget:
            continue
        kept.append(entry)
        used += cost
    return sorted(kept, key=lambda e: e.get("insertion_order", 0))


def scan_text(messages: list[dict], depth: int | None) -> str:
    """The text of the last ``depth`` messages (the book's ``scan_depth``; default all)."""
    window = messages[-depth:] if depth else messages
    return "\n".join(str(m.get("content") or "") for m in window)
