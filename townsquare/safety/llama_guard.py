"""Llama Guard 3's official prompt format and output parser.

The guard model classifies the LAST turn of a conversation, either the person's ("User") or the
assistant's ("Agent"). It answers ``safe``, or ``unsafe`` and, on the next line, the violated
categories, comma separated (e.g. ``S1,S10``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from townsquare.safety.categories import CATEGORIES

_HEADER = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    "Task: Check if there is unsafe content in '{role}' messages in conversations according our safety "
    "policy with the below categories.\n\n<BEGIN UNSAFE CONTENT CATEGORIES>\n{categories}\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n<BEGIN CONVERSATION>\n\n{conversation}\n\n<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST {role} message in the above conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated categories."
    "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)


def build_prompt(messages: Sequence[dict], categories: dict[str, str] | None = None) -> str:
    """The raw completion prompt for ``messages`` (OpenAI-style dicts with role/content).

    The role assessed is that of the last message: ``User`` for ``user``, ``Agent`` for ``assistant``.
    System and tool messages are not part of what the guard judges.
    """
    turns = [m for m in messages if m.get("role") in ("user", "assistant")]
    if not turns:
        raise ValueError("nothing to classify: no user or assistant message")
    role = "User" if turns[-1]["role"] == "user" else "Agent"
    conversation = "\n\n".join(
        f"{'User' if m['role'] == 'user' else 'Agent'}: {str(m.get('content') or '').strip()}" for m in turns
    )
    listed = "\n".join(f"{code}: {name}." for code, name in (categories or CATEGORIES).items())
    return _HEADER.format(role=role, categories=listed, conversation=conversation)


_CODE = re.compile(r"\bS(1[0-4]|[1-9])\b")


def parse_verdict(text: str) -> tuple[bool, list[str]]:
    """``(is_safe, categories)`` from the guard's answer. Anything unparseable counts as unsafe."""
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    if not lines:
        return False, []
    first = lines[0].lower()
    if first == "safe":
        return True, []
    if first.startswith("unsafe"):
        rest = " ".join([lines[0][len("unsafe"):], *lines[1:]])
        codes = [f"S{m}" for m in _CODE.findall(rest)]
        return False, list(dict.fromkeys(codes))
    return False, []
