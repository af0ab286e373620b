"""OAuth scopes as Mastodon defines them: ``read``, ``write``, ``follow``, ``push``, ``profile`` and
their sub-scopes (``read:statuses``, ``write:media``, ...).

A granted scope covers a required one when it is the same, its parent (``read`` covers
``read:statuses``), or the legacy ``follow`` scope for the follow, block and mute sub-scopes.
Tokens with ``scopes`` NULL (API tokens, web sessions) have full power.
"""

from __future__ import annotations

from townsquare.errors import InvalidInput

READ_SUB = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
            "notifications", "search", "statuses")
WRITE_SUB = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows", "lists",
             "media", "mutes", "notifications", "reports", "statuses")
FOLLOW_COVERS = frozenset({"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes",
                           "write:mutes"})
TOP = ("read", "write", "follow", "push", "profile")
KNOWN = frozenset(TOP) | {f"read:{s}" for s in READ_SUB} | {f"write:{s}" for s in WRITE_SUB}
DEFAULT = ("read",)  # Mastodon's default when an app or a request names none
MAX_CHARS = 1000


def parse(raw: str | None, *, default: tuple[str, ...] = DEFAULT) -> tuple[str, ...]:
    """The scopes of a space- (or plus-) separated string, known ones only, each once, in order."""
    if raw is not None and not isinstance(raw, str):
        raise InvalidInput("scope must be a string of space-separated scopes", code="invalid_scope")
    text = (raw or "").replace("+", " ").strip()
    if len(text) > MAX_CHARS:
        raise InvalidInput("too many scopes", code="invalid_scope")
    names = list(dict.fromkeys(text.split())) or list(default)
    unknown = [n for n in names if n not in KNOWN]
    if unknown:
        raise InvalidInput(f"unknown scope {unknown[0][:60]!r}", code="invalid_scope")
    return tuple(names)


def covers(granted: str, required: str) -> bool:
    if granted == required:
        return True
    if ":" in required and granted == required.split(":", 1)[0]:
        return True
    return granted == "follow" and required in FOLLOW_COVERS


def allows(granted: tuple[str, ...] | None, *any_of: str) -> bool:
    """Whether ``granted`` (None: full power) covers at least one of ``any_of``."""
    if granted is None:
        return True
    return any(covers(g, r) for g in granted for r in any_of)


def within(requested: tuple[str, ...], registered: tuple[str, ...]) -> bool:
    """Whether every requested scope is covered by the app's registered scopes."""
    return all(allows(registered, r) for r in requested)


def join(names: tuple[str, ...]) -> str:
    return " ".join(names)
