import json

import pytest

from townsquare.db.base import utcnow
from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound
from townsquare.social.models import Account, Follow, Post
from townsquare.studio import grounding, service
from townsquare.studio.cards import parse_card_png
from townsquare.studio.models import CreatorAI
from townsquare.studio.service import AIFields


def _account(session, handle, **kw):
    account = Account(handle=handle, display_name=handle.title(), **kw)
    session.add(account)
    session.flush()
    return account


def _card(**data):
    base = {"name": "Mia Bot", "description": "A long character description. " * 30,
            "personality": "warm", "first_mes": "Hi!", "system_prompt": "Be Mia.",
            "mes_example": "<START>\n{{user}}: best crag?\n{{char}}: Fontainebleau, always.",
            "character_book": {"entries": [{"keys": ["crag"], "content": "Loves sandstone.", "extensions": {"x": 1},
                                            "enabled": True, "insertion_order": 1}], "extensions": {}},
            "extensions": {"chub": {"full_path": "mia/bot"}, "depth_prompt": {"depth": 4, "prompt": "..."}}}
    base.update(data)
    return {"spec": "chara_card_v2", "spec_version": "2.0", "data": base}


def test_create_update_list_delete(db):
    with db.session() as s:
        mia = _account(s, "mia")
        ai = service.create_ai(s, mia, AIFields(name="Mia's Climbing AI", topics_to_avoid=["politics", "politics"],
                                                links=[{"title": "blog", "url": "https://mia.example/blog"}],
                                                example_dialogues=[{"user": "hi", "ai": "hey"}]))
        assert ai.slug == "mia-s-climbing-ai" and ai.topics_to_avoid == ["politics"]
        twin = service.create_ai(s, mia, AIFields(name="Mia's Climbing AI"))
        assert twin.slug == "mia-s-climbing-ai-2"
        service.update_ai(s, mia, ai, AIFields(tone="playful", visibility="unlisted"))
        assert ai.tone == "playful" and ai.visibility == "unlisted"
        service.delete_ai(s, mia, twin)
        assert [a.id for a in service.list_own_ais(s, mia)] == [ai.id]


@pytest.mark.parametrize(
    "fields, message",
    [
        (AIFields(name=""), "name"),
        (AIFields(name="x" * 81), "at most 80"),
        (AIFields(name="ok", visibility="secret"), "visibility"),
        (AIFields(name="ok", links=["ftp://x"]), "http"),
        (AIFields(name="ok", topics_to_avoid=[""]), "topic"),
        (AIFields(name="ok", example_dialogues=[{"user": "hi"}]), "example"),
    ],
)
def test_bad_fields_are_clear_errors_and_write_nothing(db, fields, message):
    with db.session() as s:
        mia = _account(s, "mia")
    with pytest.raises(InvalidInput, match=message), db.session() as s:
        service.create_ai(s, s.get(Account, mia.id), fields)
    with db.session() as s:
        assert s.query(CreatorAI).count() == 0


def test_limits_and_suspended_creators(db):
    with db.session() as s:
        mia = _account(s, "mia")
        for i in range(service.MAX_AIS_PER_CREATOR):
            service.create_ai(s, mia, AIFields(name=f"ai {i}"))
        with pytest.raises(Conflict):
            service.create_ai(s, mia, AIFields(name="one too many"))
        bo = _account(s, "bo", status="suspended")
        with pytest.raises(Forbidden):
            service.create_ai(s, bo, AIFields(name="nope"))


def test_find_ai_respects_visibility_and_creator_status(db):
    with db.session() as s:
        mia, fan = _account(s, "mia"), _account(s, "fan")
        public = service.create_ai(s, mia, AIFields(name="Public"))
        service.create_ai(s, mia, AIFields(name="Hidden", visibility="unlisted"))
        service.create_ai(s, mia, AIFields(name="Mine", visibility="private"))
        assert service.find_ai(s, fan, "mia").id == public.id
        assert service.find_ai(s, None, "@MIA", "hidden").name == "Hidden"
        with pytest.raises(NotFound):
            service.find_ai(s, fan, "mia", "mine")
        assert service.find_ai(s, mia, "mia", "mine").name == "Mine"
        assert [a.name for a in service.list_public_ais(s, mia.id)] == ["Public"]
        assert service.model_id(public, mia) == "creator/mia/public"
        mia.status = "suspended"
        s.flush()
        with pytest.raises(NotFound, match="not available"):
            service.find_ai(s, fan, "mia")
        assert service.list_public_ais(s, mia.id) == []


def test_card_import_export_round_trip_is_lossless(db):
    card = _card()
    with db.session() as s:
        mia = _account(s, "mia")
        ai = service.import_card(s, mia, json.dumps(card).encode())
        assert ai.name == "Mia Bot" and ai.instructions == "Be Mia."
        assert len(ai.description) <= 300  # the short description is cut ...
        assert ai.example_dialogues == [{"user": "best crag?", "ai": "Fontainebleau, always."}]
        exported = service.export_card(ai, mia)
        # ... but the exported card keeps the original text, lorebook and extensions untouched.
        assert exported["data"]["description"] == card["data"]["description"]
        assert exported["data"]["character_book"] == card["data"]["character_book"]
        assert exported["data"]["extensions"] == card["data"]["extensions"]
        again = service.import_card(s, mia, json.dumps(exported).encode())
        assert service.export_card(again, mia) == exported
        # Edits made in the studio show up in the export.
        service.update_ai(s, mia, again, AIFields(tone="dry humour", topics_to_avoid=["diets"]))
        edited = service.export_card(again, mia)["data"]
        assert edited["personality"] == "dry humour"
        assert edited["extensions"]["townsquare"]["topics_to_avoid"] == ["diets"]
        assert edited["extensions"]["chub"] == card["data"]["extensions"]["chub"]


def test_png_card_import(db):
    import io

    from PIL import Image

    from townsquare.studio.cards import card_to_png

    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, format="PNG")
    png = card_to_png(_card(name="Png Bot"), buffer.getvalue())
    with db.session() as s:
        mia = _account(s, "mia")
        ai = service.import_card(s, mia, png, is_png=True)
        assert ai.name == "Png Bot"
        assert parse_card_png(png)["data"]["name"] == "Png Bot"


def test_bad_card_creates_nothing(db):
    with db.session() as s:
        mia = _account(s, "mia")
    with pytest.raises(InvalidInput), db.session() as s:
        service.import_card(s, s.get(Account, mia.id), b'{"spec": "chara_card_v2", "spec_version": "2.0"}')
    with db.session() as s:
        assert s.query(CreatorAI).count() == 0


def test_grounding_uses_only_public_live_posts(db):
    with db.session() as s:
        mia, fan = _account(s, "mia"), _account(s, "fan")
        s.add(Follow(follower_id=fan.id, followee_id=mia.id))
        public = Post(author_id=mia.id, text="My favourite crag is Fontainebleau, the sandstone is perfect.")
        secret = Post(author_id=mia.id, text="Followers only: my favourite crag is secretly Ceuse.",
                      visibility="followers")
        gone = Post(author_id=mia.id, text="Deleted: my favourite crag is Kalymnos.", deleted_at=utcnow())
        removed = Post(author_id=mia.id, text="Removed: my favourite crag is Siurana.", removed_at=utcnow())
        other = Post(author_id=fan.id, text="My favourite crag is Red River Gorge.")
        s.add_all([public, secret, gone, removed, other])
        s.flush()
        sources = grounding.find_sources(s, mia.id, "What is your favourite crag?", k=10, min_score=0.0)
        assert [src.post_id for src in sources] == [public.id]
        # Edited posts are re-embedded; the cache is keyed by post.
        public.text = "I moved: my favourite crag is now Smith Rock."
        public.edited_at = utcnow()
        s.flush()
        sources = grounding.find_sources(s, mia.id, "Which crag do you like best?", k=1, min_score=0.0)
        assert "Smith Rock" in sources[0].text
