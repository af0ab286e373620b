"""Character cards as people actually have them, put in the shape ``cards.validate_card`` checks.

Nothing is refused for a field that can be kept:
- **V1 cards** (TavernAI: the fields at the top level, no ``spec``) become V2 cards.
- **SillyTavern V2 exports** copy the V1 fields at the top level next to ``data``; copies equal to
  ``data`` are dropped, anything else at the top level (``avatar``, ``chat``, ``create_date``,
  ``talkativeness``, a differing copy, ...) is kept in ``data.extensions.top_level``.
- **V3 cards** (``chara_card_v3``) keep their V3 fields; a V2 card carrying V3-only fields keeps
  them in ``extensions``.
- **Unknown keys** at any level (card data, lorebook, lorebook entry) go to that level's
  ``extensions`` under their own name (or ``extensions.unknown_fields`` if the name is taken).
- **Known fields with an unusable value** (``tags: "a, b"``, ``position: 0``, ``priority: null``)
  are moved to ``extensions.invalid_fields`` and the field gets its default; an entry that is not
  an object is kept in the book's ``extensions.invalid_entries``.
- **Lorebook entries** get the defaults of the fields V2 requires (``keys``, ``content``,
  ``extensions``, ``enabled``, ``insertion_order``); ``use_regex`` is understood (``lorebook.py``).

What is refused: a card that is not a JSON object, an unknown ``spec``, ``data`` that is not an
object, an empty name, and sizes over the limits in ``cards.py``.
"""

from __future__ import annotations

import copy
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.studio import cards

V1_FIELDS = ("name", "description", "personality", "scenario", "first_mes", "mes_example")


def _fits(value, expected) -> bool:
    wants_bool = expected is bool or (isinstance(expected, tuple) and bool in expected)
    if isinstance(value, bool) and not wants_bool:
        return False
    return isinstance(value, expected)


def _stash(extensions: dict, key: str, value, group: str = "unknown_fields") -> None:
    """Keep ``value`` in ``extensions``: under ``key`` when it is free, else under ``group``."""
    if group == "unknown_fields" and key not in extensions:
        extensions[key] = value
    else:
        bucket = extensions.setdefault(group, {})
        if isinstance(bucket, dict):
            bucket[key] = value


def _extensions(obj: dict) -> dict:
    ext = obj.get("extensions")
    if isinstance(ext, dict):
        return ext
    obj["extensions"] = {} if ext is None else {"invalid_fields": {"extensions": ext}}
    return obj["extensions"]


def _tidy(obj: dict, known: dict[str, Any], *, list_of_strings: tuple[str, ...] = ()) -> None:
    """Move unknown keys and unusable values of ``obj`` into its ``extensions``."""
    ext = _extensions(obj)
    for key in list(obj):
        if key == "extensions":
            continue
        value = obj[key]
        if key not in known:
            _stash(ext, key, obj.pop(key))
        elif value is None:
            obj.pop(key)
        elif not _fits(value, known[key]) or (key in list_of_strings and not all(isinstance(v, str) for v in value)):
            _stash(ext, key, obj.pop(key), "invalid_fields")


def _entry(entry: dict) -> dict:
    known = {**cards._ENTRY_REQUIRED, **cards._ENTRY_OPTIONAL}
    _tidy(entry, known, list_of_strings=("keys", "secondary_keys"))
    if entry.get("position") not in (None, "before_char", "after_char"):
        _stash(_extensions(entry), "position", entry.pop("position"), "invalid_fields")
    entry.setdefault("keys", [])
    entry.setdefault("content", "")
    entry.setdefault("enabled", True)
    entry.setdefault("insertion_order", 0)
    return entry


def _book(book: dict) -> dict:
    _tidy(book, cards._BOOK_FIELDS)
    entries, kept, broken = book.get("entries") or [], [], []
    for entry in entries:
        (kept if isinstance(entry, dict) else broken).append(_entry(entry) if isinstance(entry, dict) else entry)
    if broken:
        _stash(_extensions(book), "invalid_entries", broken, "invalid_fields")
    book["entries"] = kept
    return book


def _from_v1(card: dict) -> dict:
    data = {k: card[k] for k in V1_FIELDS if k in card}
    data["extensions"] = {}
    rest = {k: v for k, v in card.items() if k not in V1_FIELDS}
    if rest:
        data["extensions"]["top_level"] = rest
    return {"spec": cards.SPEC, "spec_version": cards.SPEC_VERSION, "data": data}


def normalise_card(card: Any) -> dict:
    """A copy of ``card`` in the shape of its spec, with nothing it can keep thrown away."""
    if not isinstance(card, dict):
        raise InvalidInput("a character card must be a JSON object")
    card = copy.deepcopy(card)
    if "spec" not in card and "data" not in card and "name" in card:
        card = _from_v1(card)
    spec = card.get("spec")
    if spec not in (cards.SPEC, cards.SPEC_V3):
        raise InvalidInput(f"not a character card: spec must be {cards.SPEC!r} or {cards.SPEC_V3!r}")
    data = card.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("card field data must be an object")
    v3 = spec == cards.SPEC_V3
    ext = _extensions(data)
    top_level = {}
    for key in list(card):
        if key in ("spec", "spec_version", "data"):
            continue
        value = card.pop(key)
        if key in V1_FIELDS and key not in data:
            data[key] = value  # a V1 field only at the top level: it is the card's
        elif not (key in V1_FIELDS and data.get(key) == value):  # an equal copy is dropped
            top_level[key] = value
    if top_level:
        previous = ext.get("top_level")
        ext["top_level"] = {**previous, **top_level} if isinstance(previous, dict) else top_level
    known = {k: t for k, (t, _) in cards._DATA_FIELDS.items()}
    known["character_book"] = dict
    if v3:
        known.update(cards.V3_DATA_FIELDS)
    _tidy(data, known, list_of_strings=("alternate_greetings", "tags", "group_only_greetings", "source"))
    if isinstance(data.get("character_book"), dict):
        _book(data["character_book"])
    if not isinstance(data.get("name"), str) or not data["name"].strip():
        raise InvalidInput("card field data.name must not be empty")
    card["spec_version"] = (str(card.get("spec_version") or cards.SPEC_VERSION_V3) if v3
                            else cards.SPEC_VERSION)
    if v3 and not card["spec_version"].startswith("3"):
        card["spec_version"] = cards.SPEC_VERSION_V3
    return card
