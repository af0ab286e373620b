"""The assistant states only what its tools found.

When the model writes the answer itself (after tools, or with no tool at all) it can make things up:
a small model asked "what did Alice post about nonexistentwordzz?" happily answers "Alice posted a
post about nonexistentwordzz". Before such an answer is shown, ``unsupported`` checks it against the
tool results of the turn (what the person may see, since tools run with their permissions):

- every post it cites ("post 12", "[post 12]") was returned by a tool;
- every person it names (an ``@handle``, or a capitalised word that is someone's handle or display
  name) appears in the tool results (the person asking may be named freely);
- a claim about what someone posted, wrote or shared needs posts in the tool results, and what the
  posts are said to be "about" must appear in them.

An answer that fails is replaced by ``fallback``: the tools' own summaries when tools ran (they
state what the services returned, nothing more), otherwise a search for the person's words, whose
summary says plainly when nothing was found ("I found no posts about ...").
"""

from __future__ import annotations

import json
import re

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from townsquare.assistant.tools import ToolContext, ToolResult, run_tool
from townsquare.errors import TownsquareError
from townsquare.social.models import Account

NOTHING_FOUND = "I couldn't find anything in Townsquare about that."

_MENTION = re.compile(r"@(\w{1,30})")
_POST_REF = re.compile(r"\bpost\s*#?(\d+)", re.IGNORECASE)
_NAME = re.compile(r"\b[A-Z][\w]{2,29}\b")
_CLAIM = re.compile(r"\b(posted|posts? (?:about|on|from|by)|wrote|written|shared|published|tweeted|replied|"
                    r"commented|mentioned|(?:said|says) that)\b", re.IGNORECASE)
_ABOUT = re.compile(r"\babout\s+[\"'“‘#]?([\w-]{3,})", re.IGNORECASE)
_NEGATION = re.compile(r"\b(no|not|nothing|none|couldn't|could not|didn't|did not|can't|cannot)\b", re.IGNORECASE)
_POST_KEYS = ("posts", "highlights", "post")


def _evidence(results: list[ToolResult]) -> str:
    return " ".join(r.text + " " + json.dumps(r.data, ensure_ascii=False, default=str) for r in results).lower()


def _has_posts(results: list[ToolResult]) -> bool:
    return any(r.citations or any(r.data.get(key) for key in _POST_KEYS) for r in results)


def _post_ids(results: list[ToolResult], evidence: str) -> set[int]:
    ids = {int(c) for r in results for c in r.citations}
    ids.update(int(n) for n in _POST_REF.findall(evidence))
    ids.update(int(n) for n in re.findall(r'"(?:id|post_id)": "(\d+)"', evidence))
    return ids


def _named_accounts(session: Session, answer: str) -> set[str]:
    """Handles of existing accounts that the answer names by handle or display name (capitalised)."""
    words = {w.lower() for w in _NAME.findall(answer)}
    if not words:
        return set()
    rows = session.execute(select(Account.handle, Account.display_name).where(or_(
        Account.handle.in_(words), func.lower(Account.display_name).in_(words)))).all()
    return {handle for handle, _ in rows} | {name.lower() for _, name in rows if name and name.lower() in words}


def unsupported(ctx: ToolContext, request: str, answer: str, results: list[ToolResult]) -> str | None:
    """Why ``answer`` states something the tool results do not support, or None when it does not."""
    evidence = _evidence(results)
    me = {ctx.account.handle.lower(), (ctx.account.display_name or "").lower()}
    known = _post_ids(results, evidence)
    for number in _POST_REF.findall(answer):
        if int(number) not in known:
            return f"it cites post {number}, which no tool returned"
    for handle in _MENTION.findall(answer):
        if handle.lower() not in me and handle.lower() not in evidence:
            return f"it names @{handle}, whom no tool returned"
    for name in _named_accounts(ctx.session, answer) - me:
        if name not in evidence:
            return f"it names {name}, whom no tool returned"
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", answer):
        if not _CLAIM.search(sentence) or _NEGATION.search(sentence):
            continue
        if not _has_posts(results):
            return "it says what someone posted, but no tool returned a post"
        for topic in _ABOUT.findall(sentence):
            if topic.lower() not in evidence:
                return f"it says posts are about {topic!r}, which no post returned mentions"
    return None


def fallback(ctx: ToolContext, request: str, results: list[ToolResult]) -> tuple[str, list[int]]:
    """A grounded answer: the tools' summaries, or else what a search for the request finds."""
    if results:
        return "\n\n".join(r.text for r in results), sorted({c for r in results for c in r.citations})
    try:
        found = run_tool(ctx, "search_posts", {"query": request})
    except (TownsquareError, TypeError, ValueError):
        return NOTHING_FOUND, []
    return found.text, list(found.citations)
