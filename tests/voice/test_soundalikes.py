"""Readings Whisper did not offer (``voice/soundalikes.py``) and how the app weighs them
(``voice/readings.py``): a misheard name, command or reaction put right, kept only when Whisper finds
it nearly as likely, and chosen when it names what the app and the community know."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from townsquare.assistant.tools import ToolContext
from townsquare.social import accounts, graph, posts
from townsquare.social.models import Account
from townsquare.voice import readings, soundalikes


@pytest.fixture
def town(db):
    with db.session() as s:
        ruth = accounts.create_account(s, "ruth", None, display_name="Ruth Okafor")
        accounts.create_account(s, "farahsingh", None, display_name="Farah Singh")
        amir = accounts.create_account(s, "amirkim", None, display_name="")
        accounts.create_account(s, "noahchen82", None, display_name="Noah Chen")
        accounts.create_account(s, "bianca_music", None, display_name="Bianca")
        grace = accounts.create_account(s, "gracekim", None, display_name="Grace Kim")
        hidden = accounts.create_account(s, "quietone", None, display_name="Quiet One", is_private=True)
        s.flush()
        graph.follow(s, ruth, amir.id)
        shown = posts.create_post(s, grace, text="Sunrise over the harbour")
        private = posts.create_post(s, hidden, text="Only for my followers", visibility="followers")
        s.flush()
        return {"ruth": ruth.id, "post": shown.id, "private": private.id}


def _variants(db, town, reading):
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        return [fix.applied(reading) for fix in soundalikes.corrections(ctx, reading)]


def test_a_name_heard_as_sound_alike_words_is_proposed(db, town):
    assert "Find, Farah Singh" in _variants(db, town, "Find, Ferris Singh")
    assert "Find, Farah Singh" in _variants(db, town, "Find, Farissing")
    # a close tie, though the words begin like no account
    assert "Remove amirkim from the people I follow" in _variants(db, town, "Remove Amherkin from the people I follow")
    # a long name or handle one sound off
    assert "Follow bianca music" in _variants(db, town, "Follow Beyond Cam Music")  # a handle as it is said
    # a handle ending in a number, said aloud: the number exact, the words before near in sound
    assert "Please follow Noah Chen 82 for me" in _variants(db, town, "Please follow Noch and 82 for me")
    assert not any("82" in v for v in _variants(db, town, "Please follow Noch and 83 for me"))
    # one word of the name right, the other near it in sound
    assert "Follow Grace Kim now" in _variants(db, town, "Follow Grace Kem now")
    assert "Follow Grace Kim now" in _variants(db, town, "Follow Grays Kim now")
    assert not any("Grace Kim" in v for v in _variants(db, town, "Follow Grace Lee now"))


def test_a_name_is_proposed_only_for_words_that_sound_like_it(db, town):
    assert not any("Farah" in v for v in _variants(db, town, "Find fresh things"))
    assert not any("Farah" in v for v in _variants(db, town, "Find, Harris Singh"))  # first sound differs
    assert _variants(db, town, "Find Farah Singh") == []  # already right


def test_a_command_before_a_posts_number_is_proposed(db, town):
    assert "Like post 509" in _variants(db, town, "Legpost 509")
    assert "Upvote 193" in _variants(db, town, "Up at 193")
    assert "Upvote 193" in _variants(db, town, "Upop 193")  # a garbled command keeps its first sound
    assert "Post 519 seems random to me." in _variants(db, town, "Host 519 seems random to me.")
    assert "Post 640 looks weird?" in _variants(db, town, "How 640 looks weird?")
    # anywhere before the number, with Whisper's commas between the words, one sound off when long
    assert "Like post 509" in _variants(db, town, "Leg, post, 509")
    assert "Please comment on post 72, saying great shot." in _variants(
        db, town, "Please combat on post 72, saying great shot.")
    assert _variants(db, town, "Like post 509") == []  # a command already
    assert not any(v.startswith("Post") for v in _variants(db, town, "I waited 20 minutes"))  # mid-sentence


def test_a_post_number_heard_with_its_teen_as_a_ten_is_proposed(db, town):
    teen = {}  # author -> the first of their posts whose number ends in a teen ("... fifteen")
    with db.session() as s:
        grace, hidden = (s.scalar(select(Account).where(Account.handle == h)) for h in ("gracekim", "quietone"))
        for n in range(300):
            author = grace if n % 2 else hidden
            post = posts.create_post(s, author, text=f"Note {n}", visibility="public" if n % 2 else "followers")
            s.flush()
            if 13 <= post.id % 100 <= 19:
                teen.setdefault(author.handle, post.id)
            if len(teen) == 2:
                break

    def as_ten(number: int) -> str:  # "fifteen" heard as "fifty": a post not made yet
        return f"{number // 100 or ''}{number % 10}0"

    shown, private = teen["gracekim"], teen["quietone"]
    assert f"Like post {shown}" in _variants(db, town, f"Like post {as_ten(shown)}")
    assert _variants(db, town, f"Like post {as_ten(private)}") == []  # a post they may not see
    assert _variants(db, town, f"Like post {shown}") == []  # heard right


def test_a_reaction_the_app_lacks_is_proposed_as_each_it_has(db, town):
    proposed = _variants(db, town, "React with Wata to post 524")
    assert "React with wow to post 524" in proposed and "React with haha to post 524" in proposed
    assert _variants(db, town, "React with wow to post 524") == []
    # the reaction and "to post" heard as other words before the number
    assert "React with wow to post 976" in _variants(db, town, "React with Wata Post 976")
    assert "React with haha to post 976" in _variants(db, town, "React with Wattapost 976")


def test_known_counts_the_apps_words_and_the_communitys_names(db, town):
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert readings.known(ctx, "Follow Grace Kim") == 2  # "follow" and Grace Kim
        assert readings.known(ctx, "Paula Grace Kim") == 1
        assert readings.known(ctx, f"Like post {town['post']}") == 3  # like, post, a post Ruth may see
        assert readings.known(ctx, f"Like post {town['post'] * 10 + 7}") == 2  # no such post
        assert readings.known(ctx, f"Like post {town['private']}") == 2  # a post Ruth may not see
        assert readings.known(ctx, f"Like post {town['post']} and {town['post'] * 10 + 7}") == 2  # not all posts
        assert readings.known(ctx, "What a lovely morning") == 0


def test_between_equally_actionable_readings_the_known_one_wins(db, town):
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        heard = ["Paula Grace Kim", "Follow Grace Kim"]
        assert readings.choose(ctx, heard) == heard[1]
        heard = [f"Like, post {town['post'] * 10 + 7}.", f"Like, post {town['post']}."]
        assert readings.choose(ctx, heard) == heard[1]
        # the app's words in dictated text command nothing
        heard = ["Publish, back online after a long break", "Publish, back timeline after a long break"]
        assert readings.choose(ctx, heard) == heard[0]


def test_a_correction_is_kept_only_when_whisper_finds_it_nearly_as_likely(db, town):
    def rescore(cost):
        return lambda texts: [0.0 if t == texts[0] else -cost for t in texts]

    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        heard = ["Find, Ferris Singh"]
        near = readings.with_corrections(ctx, heard, rescore(readings.SOUND_ALIKE_COST - 1))
        assert near[0] == heard[0] and "Find, Farah Singh" in near
        assert readings.with_corrections(ctx, heard, rescore(readings.SOUND_ALIKE_COST + 1)) == heard
        assert readings.choose(ctx, heard, rescore(1.0)) == "Find, Farah Singh"
        assert readings.choose(ctx, heard, rescore(readings.SOUND_ALIKE_COST + 1)) == heard[0]


def test_the_words_without_whispers_punctuation_are_a_reading_too(db, town):
    post = town["post"]
    assert soundalikes.unpunctuated(f"Could you please, like, post {post} for me?") == (
        f"Could you please like post {post} for me?")
    cheaper = lambda texts: [0.0] + [-1.0] * (len(texts) - 1)  # noqa: E731 - Whisper's scores, faked
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert "Follow Grace Kim" in readings.with_corrections(ctx, ["Follow, Grace Kim."], cheaper)
        # a closing full stop reads as a remark to the intent model; the words alone ask for a catch-up
        heard = ["Back from holiday, fill me in."]
        assert readings.choose(ctx, heard, cheaper) == "Back from holiday fill me in"
        assert readings.choose(ctx, heard) == heard[0]  # without Whisper's judgement, only what was heard


def test_two_misheard_names_are_put_right_together(db, town):
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        heard = ["Follow Ferris Singh and Grays Kim."]
        near = readings.with_corrections(ctx, heard, lambda texts: [0.0 if t == heard[0] else -1.0 for t in texts])
        assert "Follow Farah Singh and Grace Kim." in near
        assert readings.choose(ctx, heard, lambda texts: [-1.0] * len(texts)) == "Follow Farah Singh and Grace Kim."


def test_a_word_a_letter_off_a_handle_is_not_a_known_person(db, town):
    with db.session() as s:
        accounts.create_account(s, "paulak", None, display_name="Paula Kern")
        s.flush()
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert readings.known(ctx, "Paula Grace Kim") == 1  # "Paula" is one letter off @paulak
        assert readings.choose(ctx, ["Paula Grace Kim", "Follow Grace Kim"]) == "Follow Grace Kim"
