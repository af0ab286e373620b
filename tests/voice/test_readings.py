"""Choosing among Whisper's readings of a request (``voice/readings.py``): the reading the assistant
can act on, when it is surely a request, over a likelier one it cannot act on."""

from __future__ import annotations

import pytest

from townsquare.assistant.tools import ToolContext
from townsquare.social import accounts, posts
from townsquare.social.models import Account
from townsquare.voice import readings


@pytest.fixture
def asker(db):
    with db.session() as s:
        ruth = accounts.create_account(s, "ruth", None, display_name="Ruth Okafor")
        lena = accounts.create_account(s, "lena_k", None, display_name="Lena Kowalski")
        post = posts.create_post(s, lena, text="Sunrise over the harbour this morning")
        s.flush()
        return {"ruth": ruth.id, "post": post.id}


def _choose(db, asker, options):
    with db.session() as s:
        return readings.choose(ToolContext(s, s.get(Account, asker["ruth"])), options)


def test_a_sound_alike_of_a_command_gives_way_to_the_command(db, asker):
    post = asker["post"]
    heard = [f"Common on {post}, what a view!", f"Comment on {post}, what a view!"]
    assert _choose(db, asker, heard) == heard[1]
    heard = ["Unfollow Elena cow ski.", "Unfollow Lena Kowalski."]  # "whom?" -> a known person
    assert _choose(db, asker, heard) == heard[1]


def test_the_likeliest_reading_stays_when_it_is_as_actionable(db, asker):
    post = asker["post"]
    heard = [f"Like post {post}.", f"Lake post {post}."]
    assert _choose(db, asker, heard) == heard[0]
    heard = ["What a lovely morning it was.", "What a lovely mourning it was."]  # chat either way
    assert _choose(db, asker, heard) == heard[0]
    assert _choose(db, asker, ["Catch me up."]) == "Catch me up."
    assert _choose(db, asker, []) == ""


def test_a_weak_request_never_replaces_a_clear_remark(monkeypatch):
    from townsquare.assistant.understand import Clause, PlannedCall, Understanding

    def understood(calls, score):
        return Understanding(calls=[PlannedCall("catch_me_up", {})] * calls, clauses=[Clause("", score=score)])

    sure = {"a remark": understood(0, 0.40), "a weak request": understood(1, 0.42),
            "a clear request": understood(1, 0.60)}
    monkeypatch.setattr(readings, "understand", lambda ctx, text: sure[text])
    assert readings.choose(None, ["a remark", "a weak request"]) == "a remark"
    assert readings.choose(None, ["a remark", "a weak request", "a clear request"]) == "a clear request"


def test_between_equally_actionable_readings_the_communitys_topic_wins(db, asker):
    from townsquare.social import posts as post_service

    with db.session() as s:
        post_service.create_post(s, s.get(Account, asker["ruth"]), text="Late set at the club tonight #jazz")
        s.flush()
    heard = ["Find posts about Jess.", "Find posts about jazz."]
    assert _choose(db, asker, heard) == heard[1]
    heard = ["Find posts about jazz.", "Find posts about Jess."]  # the likeliest already names it
    assert _choose(db, asker, heard) == heard[0]
    heard = ["Find posts about chess.", "Find posts about Jess."]  # neither is a tag here
    assert _choose(db, asker, heard) == heard[0]
