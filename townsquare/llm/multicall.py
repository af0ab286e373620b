"""Requests that need several calls: "follow @ana and @ben", "like post 12 and tell me who wrote it".

``clauses(text)`` splits a request at the points where a new request may begin: sentence ends, ";",
"then", and "and"/"also"/"plus" between phrases, but not inside quotes, not inside a list of numbers
("12, 15 and 9") and not in "between X and Y". The tool layer (``tool_calling.ToolCaller.plan``) then
keeps the split only when every clause makes a complete call on its own (see there); otherwise the
request is one call.
"""

from __future__ import annotations

import re

from townsquare.llm.request import REQUEST_WORDS, Request

_SPLIT = re.compile(r"(?:[.!?;]\s+|,?\s+(?:and\s+then|then|and\s+also|also|and|plus)\s+|,\s+then\s+)", re.I)
_QUOTED = re.compile(r'"[^"]*"|“[^”]*”')
_NUMBER_END = re.compile(r"\d[\d,.]*%?$")
_NUMBER_START = re.compile(r"^[-$€£]?\d")
BACK_REFERENCES = {"it", "its", "them", "their", "that", "this", "those", "these", "him", "her", "his", "they"}


def clauses(text: str) -> list[str]:
    """The request split into clauses that may each be a request (at most 8); [text] when none."""
    quoted = [(m.start(), m.end()) for m in _QUOTED.finditer(text)]
    parts, start = [], 0
    for match in _SPLIT.finditer(text):
        if any(a <= match.start() < b for a, b in quoted):
            continue
        before, after = text[start:match.start()].strip(), text[match.end():].strip()
        if not before or not after:
            continue
        if _NUMBER_END.search(before) and _NUMBER_START.match(after):
            continue  # "12, 15 and 9": one list
        if re.search(r"\bbetween\b(?:\s+\S+){0,4}$", before, re.I):
            continue  # "between 3 and 8": one range
        parts.append(before)
        start = match.end()
    parts.append(text[start:].strip())
    parts = [p.strip(" ,.") for p in parts if p.strip(" ,.")]
    return parts if 1 < len(parts) <= 8 else [text]


def has_value(text: str) -> bool:
    """Whether a clause carries a value of its own: a number, quoted text, a @handle or #tag, or a
    capitalised word ("and Rome", "and Y for 15"); "and dogs" carries none (it extends the previous
    clause's phrase instead)."""
    request = Request.of(text)
    if request.numbers or _QUOTED.search(text) or re.search(r"[@#]\w", text):
        return True
    return any(word[:1].isupper() and word.lower() not in REQUEST_WORDS for word in request.words)


def refers_back(text: str) -> bool:
    """Whether a clause points at something said before ("tell me who wrote it")."""
    return bool(set(re.findall(r"[a-z]+", text.lower())) & BACK_REFERENCES)
