"""Character cards as people have them: SillyTavern V2 exports, V1 cards, V3 cards and the ccv3 PNG
chunk, lorebooks with use_regex, unknown keys. Nothing is refused for a field that can be kept."""

import base64
import io
import json
import struct
import zlib

import pytest
from PIL import Image

from townsquare.social import accounts
from townsquare.studio import service
from townsquare.studio.cards import card_to_png, parse_card_json, parse_card_png, validate_card
from townsquare.studio.lorebook import select_entries

SILLYTAVERN_V2 = {
    "name": "Seraphina", "description": "A guardian of the forest.", "personality": "caring",
    "scenario": "In a glade.", "first_mes": "*She smiles* Welcome.", "mes_example": "<START>\n{{user}}: hi",
    "creatorcomment": "Made with love", "avatar": "none", "chat": "Seraphina - 2024-5-1 @12h 0m 0s 0ms",
    "talkativeness": "0.5", "fav": False, "tags": ["fantasy"], "create_date": "2024-5-1 @12h 00m 00s 000ms",
    "spec": "chara_card_v2", "spec_version": "2.0",
    "data": {
        "name": "Seraphina", "description": "A guardian of the forest.", "personality": "caring",
        "scenario": "In a glade.", "first_mes": "*She smiles* Welcome.", "mes_example": "<START>\n{{user}}: hi",
        "creator_notes": "Made with love", "system_prompt": "", "post_history_instructions": "",
        "tags": ["fantasy"], "creator": "anon", "character_version": "1.2", "alternate_greetings": [],
        "extensions": {"talkativeness": "0.5", "fav": False, "world": "Eldoria",
                       "depth_prompt": {"prompt": "", "depth": 4, "role": "system"}},
        "character_book": {
            "name": "Eldoria", "entries": [{
                "id": 0, "keys": ["glade", "forest"], "secondary_keys": [], "comment": "the glade",
                "content": "The glade is protected by ancient magic.", "constant": False, "selective": True,
                "insertion_order": 100, "enabled": True, "position": "before_char", "use_regex": True,
                "extensions": {"position": 0, "exclude_recursion": False, "probability": 100,
                               "useProbability": True, "depth": 4, "selectiveLogic": 0, "group": "",
                               "match_whole_words": None, "case_sensitive": None, "vectorized": False},
                "probability": 100, "selectiveLogic": 0}],
            "extensions": {}},
    },
}

V3 = {
    "spec": "chara_card_v3", "spec_version": "3.0",
    "data": {
        "name": "Kestrel", "description": "A sky courier.", "personality": "brisk", "scenario": "",
        "first_mes": "Parcel for you?", "mes_example": "", "creator_notes": "", "system_prompt": "Stay in role.",
        "post_history_instructions": "", "alternate_greetings": ["Oi!"], "tags": ["sky"], "creator": "ana",
        "character_version": "3", "extensions": {}, "nickname": "Kes", "group_only_greetings": ["Hello all"],
        "creator_notes_multilingual": {"es": "Mensajera del cielo."}, "source": ["https://example.org/kes"],
        "creation_date": 1714560000, "modification_date": 1714570000,
        "assets": [{"type": "icon", "uri": "ccdefault:", "name": "main", "ext": "png"}],
        "character_book": {"extensions": {}, "entries": [
            {"keys": ["/storm(s|y)?/i"], "content": "Storms ground all couriers.", "extensions": {},
             "enabled": True, "insertion_order": 1, "use_regex": True},
            {"keys": ["Wind"], "content": "Wind is capitalised here.", "extensions": {}, "enabled": True,
             "insertion_order": 2, "use_regex": False, "case_sensitive": True},
            {"keys": ["(unbalanced"], "content": "Bad regex: matched as text.", "extensions": {},
             "enabled": True, "insertion_order": 3, "use_regex": True},
        ]},
    },
}


def _png(*chunks: tuple[bytes, dict]) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    png = buffer.getvalue()
    extra = b""
    for keyword, card in chunks:
        data = keyword + b"\x00" + base64.b64encode(json.dumps(card).encode())
        extra += struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    return png[:-12] + extra + png[-12:]


def test_a_sillytavern_v2_export_imports_with_nothing_lost():
    card = parse_card_json(json.dumps(SILLYTAVERN_V2))
    data = card["data"]
    assert set(card) == {"spec", "spec_version", "data"} and data["name"] == "Seraphina"
    top = data["extensions"]["top_level"]
    # Equal V1 copies are dropped; everything else at the top level is kept.
    assert "name" not in top and top["creatorcomment"] == "Made with love" and top["chat"].startswith("Seraphina")
    entry = data["character_book"]["entries"][0]
    assert entry["use_regex"] is True and entry["extensions"]["probability"] == 100
    # Unknown entry keys go into the entry's extensions; where the name is taken, under unknown_fields.
    assert "probability" not in entry and "selectiveLogic" not in entry
    assert entry["extensions"]["unknown_fields"] == {"probability": 100, "selectiveLogic": 0}
    assert validate_card(card) == card


def test_a_v1_card_becomes_v2():
    card = parse_card_json(json.dumps({"name": "Old Tom", "description": "A sailor.", "first_mes": "Ahoy",
                                       "chat": "x", "avatar": "none"}))
    assert card["spec"] == "chara_card_v2" and card["data"]["first_mes"] == "Ahoy"
    assert card["data"]["extensions"]["top_level"] == {"chat": "x", "avatar": "none"}


def test_unknown_keys_and_unusable_values_go_to_extensions():
    raw = {"spec": "chara_card_v2", "spec_version": "2.0", "data": {
        "name": "Bo", "tags": "a, b", "favourite_colour": "red", "alternate_greetings": [1, "hi"],
        "nickname": "B", "extensions": None,
        "character_book": {"colour": 1, "scan_depth": "4", "entries": [
            {"keys": ["x"], "content": "X.", "position": 0, "priority": None, "mood": "sunny"}, "not an entry"]}}}
    data = parse_card_json(json.dumps(raw))["data"]
    ext = data["extensions"]
    assert ext["favourite_colour"] == "red" and ext["nickname"] == "B"  # V3-only on a V2 card: kept aside
    assert ext["invalid_fields"] == {"tags": "a, b", "alternate_greetings": [1, "hi"]}
    assert data["tags"] == [] and data["alternate_greetings"] == []
    book = data["character_book"]
    assert book["extensions"]["colour"] == 1 and book["extensions"]["invalid_fields"] == {
        "scan_depth": "4", "invalid_entries": ["not an entry"]}
    (entry,) = book["entries"]
    assert entry["enabled"] is True and entry["insertion_order"] == 0 and "priority" not in entry
    assert entry["extensions"] == {"mood": "sunny", "invalid_fields": {"position": 0}}


def test_v3_cards_import_and_export_as_v3(db):
    card = parse_card_json(json.dumps(V3))
    assert card == validate_card(V3)
    with db.session() as s:
        ana = accounts.create_account(s, "ana", None)
        ai = service.import_card(s, ana, json.dumps(V3).encode())
        assert ai.name == "Kestrel" and ai.instructions == "Stay in role."
        exported = service.export_card(ai, ana)
    assert exported["spec"] == "chara_card_v3" and exported["data"]["assets"] == V3["data"]["assets"]
    assert {k: v for k, v in exported["data"].items() if k != "creator"} == {
        k: v for k, v in V3["data"].items() if k != "creator"}


def test_the_ccv3_png_chunk_wins_over_chara_and_both_are_written():
    png = _png((b"chara", SILLYTAVERN_V2), (b"ccv3", V3))
    assert parse_card_png(png)["data"]["name"] == "Kestrel"
    assert parse_card_png(_png((b"chara", SILLYTAVERN_V2)))["data"]["name"] == "Seraphina"
    written = card_to_png(V3, png)
    assert written.count(b"tEXtccv3\x00") == 1 and written.count(b"tEXtchara\x00") == 1
    assert parse_card_png(written) == validate_card(V3)
    chara = next(d for k, d in _text(written) if k == b"chara")
    v2 = json.loads(base64.b64decode(chara))
    assert v2["spec"] == "chara_card_v2" and "assets" not in v2["data"] and v2["data"]["name"] == "Kestrel"


def _text(png: bytes):
    offset = 8
    while offset < len(png):
        length, kind = struct.unpack(">I4s", png[offset:offset + 8])
        data = png[offset + 8:offset + 8 + length]
        if kind == b"tEXt":
            keyword, _, text = data.partition(b"\x00")
            yield keyword, text
        offset += 12 + length


@pytest.mark.parametrize("text, fired", [
    ("A STORMY night", ["Storms ground all couriers."]),
    ("storms again", ["Storms ground all couriers."]),
    ("the wind is up", []),
    ("the Wind is up", ["Wind is capitalised here."]),
    ("an (unbalanced remark", ["Bad regex: matched as text."]),
    ("calm skies", []),
])
def test_use_regex_entries_fire_on_their_expressions(text, fired):
    book = parse_card_json(json.dumps(V3))["data"]["character_book"]
    assert [e["content"] for e in select_entries(book, text)] == fired
