import base64
import io
import json

import pytest
from PIL import Image

from townsquare.errors import InvalidInput
from townsquare.studio.cards import (
    MAX_LORE_ENTRIES,
    card_to_json,
    card_to_png,
    parse_card_json,
    parse_card_png,
    validate_card,
)
from townsquare.studio.lorebook import scan_text, select_entries


def _entry(**overrides):
    entry = {"keys": ["boulder"], "content": "Mia projects V6 boulders.", "extensions": {}, "enabled": True,
             "insertion_order": 10}
    entry.update(overrides)
    return entry


def _card(**data):
    base = {"name": "Mia's AI", "description": "Climber and photographer.", "personality": "warm, direct",
            "scenario": "", "first_mes": "Hey! Ask me about climbing.", "mes_example": "<START>\n{{user}}: hi",
            "creator_notes": "", "system_prompt": "You are Mia's AI.", "post_history_instructions": "",
            "alternate_greetings": ["Yo!"], "tags": ["climbing"], "creator": "mia", "character_version": "1",
            "extensions": {"townsquare": {"topics_to_avoid": ["politics"]}, "depth_prompt": {"depth": 4}}}
    base.update(data)
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": base}


# Real-world-shaped cards: minimal, with a full lorebook, unicode, and unknown extensions.
CARDS = [
    _card(),
    _card(name="Émile 🌿", description="Jardinier.\nMultiline — with “quotes”.", alternate_greetings=[], tags=[]),
    _card(character_book={
        "name": "Mia's world", "description": "Places and people", "scan_depth": 4, "token_budget": 300,
        "recursive_scanning": False, "extensions": {"chub": {"id": 42}},
        "entries": [
            _entry(),
            _entry(keys=["Fontainebleau", "Font"], content="Her favourite forest.", case_sensitive=True,
                   insertion_order=5, priority=3, id=2, name="font", comment="place", selective=True,
                   secondary_keys=["trip"], constant=False, position="after_char",
                   extensions={"weight": 0.4}),
            _entry(keys=[], content="Always kind.", constant=True, insertion_order=0, id="c1"),
        ],
    }),
]


@pytest.mark.parametrize("card", CARDS)
def test_json_round_trip_is_lossless(card):
    assert json.loads(card_to_json(parse_card_json(json.dumps(card)))) == card


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.parametrize("card", CARDS)
def test_png_round_trip_is_lossless_and_still_an_image(card):
    png = card_to_png(card, _png())
    assert parse_card_png(png) == card
    assert Image.open(io.BytesIO(png)).size == (8, 8)
    # Embedding again replaces the old card instead of adding a second one.
    renamed = _card(name="Other")
    assert parse_card_png(card_to_png(renamed, png))["data"]["name"] == "Other"
    assert png.count(b"chara\x00") == 1


def test_missing_optional_fields_get_defaults():
    card = validate_card({"spec": "chara_card_v2", "spec_version": "2.0", "data": {"name": "Bo"}})
    assert card["data"]["alternate_greetings"] == [] and card["data"]["extensions"] == {}


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"{not json", "not valid JSON"),
        (json.dumps([1, 2]).encode(), "JSON object"),
        (json.dumps({"spec": "chara_card_v9", "spec_version": "9.0", "data": {"name": "x"}}).encode(),
         "not a character card"),
        (json.dumps({"spec": "chara_card_v2", "spec_version": "2.0", "data": "Bo"}).encode(), "must be an object"),
        (json.dumps(_card(name="")).encode(), "must not be empty"),
        (b"x" * (3 * 1024 * 1024), "at most"),
    ],
)
def test_bad_cards_are_clear_errors(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_card_json(raw)


@pytest.mark.parametrize(
    "card, message",
    [
        (_card(favourite_colour="red"), "unknown card field data.favourite_colour"),
        (_card(tags="climbing"), "data.tags must be list"),
        (_card(tags=[1]), r"data.tags\[0\] must be a string"),
        (_card(character_book={"entries": [], "extensions": {}, "colour": 1}),
         "unknown card field data.character_book.colour"),
        (_card(character_book={"entries": [{"keys": []}], "extensions": {}}), r"entries\[0\].content is required"),
        (_card(character_book={"entries": [_entry(insertion_order=True)], "extensions": {}}),
         "insertion_order must be int or float"),
    ],
)
def test_the_strict_validator_behind_export_still_refuses_off_spec_cards(card, message):
    with pytest.raises(InvalidInput, match=message):
        validate_card(card)


def test_huge_lorebooks_are_refused_but_thousands_work():
    entries = [_entry(keys=[f"k{i}"], insertion_order=i) for i in range(MAX_LORE_ENTRIES)]
    card = _card(character_book={"entries": entries, "extensions": {}})
    assert len(parse_card_json(json.dumps(card))["data"]["character_book"]["entries"]) == MAX_LORE_ENTRIES
    card["data"]["character_book"]["entries"].append(_entry())
    with pytest.raises(InvalidInput, match="at most"):
        validate_card(card)


@pytest.mark.parametrize(
    "png, message",
    [
        (b"GIF89a....", "not a PNG"),
        (_png()[:30], "truncated"),
        (_png(), "no character card"),
    ],
)
def test_bad_pngs_are_clear_errors(png, message):
    with pytest.raises(InvalidInput, match=message):
        parse_card_png(png)


def test_corrupt_png_chunk_is_detected():
    png = bytearray(card_to_png(_card(), _png()))
    png[40] ^= 0xFF
    with pytest.raises(InvalidInput, match="corrupt|truncated"):
        parse_card_png(bytes(png))


def test_png_with_bad_base64_is_a_clear_error():
    import struct
    import zlib

    data = b"chara\x00" + b"!!!not base64!!!"
    chunk = struct.pack(">I", len(data)) + b"tEXt" + data + struct.pack(">I", zlib.crc32(b"tEXt" + data))
    png = _png()
    png = png[:-12] + chunk + png[-12:]
    with pytest.raises(InvalidInput, match="base64"):
        parse_card_png(png)
    assert base64  # keep the import honest


def test_lorebook_activation_rules():
    book = CARDS[2]["data"]["character_book"]
    fired = select_entries(book, "planning a boulder trip to Fontainebleau")
    assert [e["content"] for e in fired] == ["Always kind.", "Her favourite forest.", "Mia projects V6 boulders."]
    # case_sensitive: "fontainebleau" in lower case does not match; selective needs "trip".
    assert "Her favourite forest." not in [e["content"] for e in select_entries(book, "fontainebleau trip")]
    assert "Her favourite forest." not in [e["content"] for e in select_entries(book, "Fontainebleau")]
    # Disabled entries never fire; constant entries always do.
    disabled = {"entries": [_entry(enabled=False)], "extensions": {}}
    assert select_entries(disabled, "boulder") == []
    assert [e["content"] for e in select_entries(book, "nothing relevant")] == ["Always kind."]


def test_lorebook_budget_drops_lowest_priority_first():
    book = {"extensions": {}, "entries": [
        _entry(keys=["a"], content="x" * 400, priority=1, insertion_order=1),
        _entry(keys=["a"], content="y" * 400, priority=5, insertion_order=2),
    ]}
    kept = select_entries(book, "a", token_budget=120)
    assert [e["priority"] for e in kept] == [5]


def test_scan_text_uses_the_last_messages():
    messages = [{"content": "one"}, {"content": "two"}, {"content": "three"}]
    assert scan_text(messages, 2) == "two\nthree"
    assert scan_text(messages, None) == "one\ntwo\nthree"
