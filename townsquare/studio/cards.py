"""Character Cards V2 (``chara_card_v2``) and V3 (``chara_card_v3``), as JSON or embedded in a PNG.

``validate_card`` checks a card strictly against its spec (known fields with the right types,
anything else in an ``extensions`` object, kept untouched on round-trip); it is what export
guarantees. Cards as people have them (SillyTavern exports with the V1 fields copied at the top
level, V1 cards, unknown keys, lorebook entries with ``use_regex``) are first put in that shape
by ``card_import.normalise_card``, which moves what it does not know into ``extensions`` instead
of refusing it. The PNG form carries the card as base64 JSON in ``tEXt`` chunks: ``ccv3`` (V3,
read first) and ``chara`` (V2).
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import struct
import zlib
from typing import Any

from townsquare.errors import InvalidInput

SPEC = "chara_card_v2"
SPEC_VERSION = "2.0"
SPEC_V3 = "chara_card_v3"
SPEC_VERSION_V3 = "3.0"
MAX_CARD_BYTES = 2 * 1024 * 1024
MAX_PNG_BYTES = 8 * 1024 * 1024
MAX_LORE_ENTRIES = 5000
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# field -> (type, default); every field of `data` in the V2 spec.
_DATA_FIELDS: dict[str, tuple[type, Any]] = {
    "name": (str, ""),
    "description": (str, ""),
    "personality": (str, ""),
    "scenario": (str, ""),
    "first_mes": (str, ""),
    "mes_example": (str, ""),
    "creator_notes": (str, ""),
    "system_prompt": (str, ""),
    "post_history_instructions": (str, ""),
    "alternate_greetings": (list, []),
    "tags": (list, []),
    "creator": (str, ""),
    "character_version": (str, ""),
    "extensions": (dict, {}),
}
_OPTIONAL_DATA_FIELDS = {"character_book"}
# Fields V3 adds to ``data`` (``group_only_greetings`` is required there; it gets a default).
V3_DATA_FIELDS: dict[str, type | tuple[type, ...]] = {
    "group_only_greetings": list,
    "nickname": str,
    "creator_notes_multilingual": dict,
    "source": list,
    "assets": list,
    "creation_date": (int, float),
    "modification_date": (int, float),
}
_BOOK_FIELDS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "description": str,
    "scan_depth": int,
    "token_budget": int,
    "recursive_scanning": bool,
    "extensions": dict,
    "entries": list,
}
_ENTRY_REQUIRED: dict[str, type | tuple[type, ...]] = {
    "keys": list,
    "content": str,
    "extensions": dict,
    "enabled": bool,
    "insertion_order": (int, float),
}
_ENTRY_OPTIONAL: dict[str, type | tuple[type, ...]] = {
    "case_sensitive": bool,
    "name": str,
    "priority": (int, float),
    "id": (int, str),
    "comment": str,
    "selective": bool,
    "secondary_keys": list,
    "constant": bool,
    "position": str,
    "use_regex": bool,  # V3: the keys are regular expressions
}


def _type_name(expected) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return expected.__name__


def _check_type(path: str, value, expected) -> None:
    # bool is an int in Python; a number field must not accept true/false.
    is_bool = isinstance(value, bool)
    wants_bool = expected is bool or (isinstance(expected, tuple) and bool in expected)
    if not isinstance(value, expected) or (is_bool and not wants_bool):
        raise InvalidInput(f"card field {path} must be {_type_name(expected)}")


def _check_strings(path: str, values: list) -> None:
    for i, item in enumerate(values):
        if not isinstance(item, str):
            raise InvalidInput(f"card field {path}[{i}] must be a string")


def _validate_book(book: Any) -> None:
    _check_type("data.character_book", book, dict)
    for key, value in book.items():
        if key not in _BOOK_FIELDS:
            raise InvalidInput(f"unknown card field data.character_book.{key} (put extras in extensions)")
        _check_type(f"data.character_book.{key}", value, _BOOK_FIELDS[key])
    for key in ("extensions", "entries"):
        if key not in book:
            raise InvalidInput(f"card field data.character_book.{key} is required")
    entries = book["entries"]
    if len(entries) > MAX_LORE_ENTRIES:
        raise InvalidInput(f"the lorebook has {len(entries)} entries; at most {MAX_LORE_ENTRIES} are allowed")
    for i, entry in enumerate(entries):
        path = f"data.character_book.entries[{i}]"
        _check_type(path, entry, dict)
        for key, expected in _ENTRY_REQUIRED.items():
            if key not in entry:
                raise InvalidInput(f"card field {path}.{key} is required")
            _check_type(f"{path}.{key}", entry[key], expected)
        for key, value in entry.items():
            if key in _ENTRY_REQUIRED:
                continue
            if key not in _ENTRY_OPTIONAL:
                raise InvalidInput(f"unknown card field {path}.{key} (put extras in extensions)")
            if value is not None:
                _check_type(f"{path}.{key}", value, _ENTRY_OPTIONAL[key])
        _check_strings(f"{path}.keys", entry["keys"])
        _check_strings(f"{path}.secondary_keys", entry.get("secondary_keys") or [])
        if entry.get("position") not in (None, "before_char", "after_char"):
            raise InvalidInput(f"card field {path}.position must be before_char or after_char")


def validate_card(card: Any) -> dict:
    """Check ``card`` against its spec (V2 or V3) and return a deep copy with missing defaults filled in."""
    if not isinstance(card, dict):
        raise InvalidInput("a character card must be a JSON object")
    spec = card.get("spec")
    if spec not in (SPEC, SPEC_V3):
        raise InvalidInput(f"not a character card: spec must be {SPEC!r} or {SPEC_V3!r}")
    v3 = spec == SPEC_V3
    version = card.get("spec_version")
    if (not v3 and version != SPEC_VERSION) or (v3 and not str(version or "").startswith("3")):
        raise InvalidInput(f"unsupported spec_version {version!r} for {spec}")
    for key in card:
        if key not in ("spec", "spec_version", "data"):
            raise InvalidInput(f"unknown card field {key} (put extras in data.extensions)")
    data = card.get("data")
    if not isinstance(data, dict):
        raise InvalidInput("card field data must be an object")
    for key, value in data.items():
        if key in _DATA_FIELDS:
            _check_type(f"data.{key}", value, _DATA_FIELDS[key][0])
        elif v3 and key in V3_DATA_FIELDS:
            _check_type(f"data.{key}", value, V3_DATA_FIELDS[key])
        elif key not in _OPTIONAL_DATA_FIELDS:
            raise InvalidInput(f"unknown card field data.{key} (put extras in data.extensions)")
    _check_strings("data.alternate_greetings", data.get("alternate_greetings", []))
    _check_strings("data.tags", data.get("tags", []))
    if v3:
        _check_strings("data.group_only_greetings", data.get("group_only_greetings", []))
        _check_strings("data.source", data.get("source", []))
    if not str(data.get("name", "")).strip():
        raise InvalidInput("card field data.name must not be empty")
    if "character_book" in data and data["character_book"] is not None:
        _validate_book(data["character_book"])
    normalised = copy.deepcopy(card)
    for key, (_, default) in _DATA_FIELDS.items():
        normalised["data"].setdefault(key, copy.deepcopy(default))
    if v3:
        normalised["data"].setdefault("group_only_greetings", [])
    return normalised


def as_v2(card: dict) -> dict:
    """A V2 copy of a V3 card (for the ``chara`` chunk that V2 readers look for)."""
    data = {k: v for k, v in card["data"].items() if k not in V3_DATA_FIELDS}
    return {"spec": SPEC, "spec_version": SPEC_VERSION, "data": copy.deepcopy(data)}


def parse_card_json(raw: bytes | str) -> dict:
    """Parse a card given as JSON text, as people have them (see ``card_import``), and validate it."""
    from townsquare.studio.card_import import normalise_card

    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_CARD_BYTES:
        raise InvalidInput(f"the card is {len(raw)} bytes; at most {MAX_CARD_BYTES} are allowed")
    try:
        card = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"the card is not valid JSON: {exc}") from None
    return validate_card(normalise_card(card))


def card_to_json(card: dict) -> str:
    return json.dumps(validate_card(card), ensure_ascii=False, indent=2)


# --- PNG -------------------------------------------------------------------------------------


def _chunks(png: bytes):
    """Yield (type, data) for each chunk, checking lengths and CRCs."""
    if not png.startswith(PNG_SIGNATURE):
        raise InvalidInput("not a PNG file")
    offset = len(PNG_SIGNATURE)
    while offset < len(png):
        if offset + 8 > len(png):
            raise InvalidInput("the PNG is truncated")
        length, kind = struct.unpack(">I4s", png[offset : offset + 8])
        end = offset + 8 + length + 4
        if end > len(png):
            raise InvalidInput("the PNG is truncated")
        data = png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[end - 4 : end])
        if zlib.crc32(kind + data) & 0xFFFFFFFF != crc:
            raise InvalidInput(f"the PNG is corrupt (bad CRC in a {kind.decode('latin-1')} chunk)")
        yield kind, data
        offset = end
        if kind == b"IEND":
            return
    raise InvalidInput("the PNG has no IEND chunk")


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _text_chunks(png: bytes) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for kind, data in _chunks(png):
        if kind == b"tEXt" and b"\x00" in data:
            keyword, _, text = data.partition(b"\x00")
            found.setdefault(keyword.lower(), text)
    return found


def parse_card_png(png: bytes) -> dict:
    """Read the card from a PNG's ``ccv3`` text chunk (V3), else its ``chara`` chunk."""
    if len(png) > MAX_PNG_BYTES:
        raise InvalidInput(f"the PNG is {len(png)} bytes; at most {MAX_PNG_BYTES} are allowed")
    chunks = _text_chunks(png)
    for keyword in (b"ccv3", b"chara"):
        if keyword in chunks:
            try:
                raw = base64.b64decode(chunks[keyword], validate=True)
            except (binascii.Error, ValueError):
                raise InvalidInput(f"the PNG's {keyword.decode()} chunk is not valid base64") from None
            return parse_card_json(raw)
    raise InvalidInput("the PNG carries no character card (no 'ccv3' or 'chara' text chunk)")


def _payload(card: dict) -> bytes:
    return base64.b64encode(json.dumps(card, ensure_ascii=False).encode())


def card_to_png(card: dict, image_png: bytes) -> bytes:
    """``image_png`` with the card embedded, replacing earlier cards: a V2 card as ``chara``; a V3 card
    as ``ccv3`` plus a V2 copy as ``chara``."""
    card = validate_card(card)
    embedded = [(b"chara", _payload(as_v2(card) if card["spec"] == SPEC_V3 else card))]
    if card["spec"] == SPEC_V3:
        embedded.append((b"ccv3", _payload(card)))
    out = [PNG_SIGNATURE]
    for kind, data in _chunks(image_png):
        if kind == b"tEXt" and data.partition(b"\x00")[0].lower() in (b"chara", b"ccv3"):
            continue
        if kind == b"IEND":
            out += [_chunk(b"tEXt", keyword + b"\x00" + payload) for keyword, payload in embedded]
        out.append(_chunk(kind, data))
    return b"".join(out)
