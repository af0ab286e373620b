"""Item 10: the assistant states only what its tools found (``assistant/grounding.py``)."""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM

from townsquare.assistant import agent
from townsquare.safety import BuiltinShield
from townsquare.social import accounts, posts
from townsquare.social.models import Account


@pytest.fixture
def people(db):
    with db.session() as s:
        made = {h: accounts.create_account(s, h, None, display_name=h.title()) for h in ("alice", "bob", "asker")}
        posts.create_post(s, made["alice"], text="Sourdough starter day three, bubbling nicely #baking")
        posts.create_post(s, made["alice"], text="followers only: my hidden garden plan zzkeep", visibility="followers")
        return {h: a.id for h, a in made.items()}


def _answer(db, me_id: int, llm, text: str) -> dict:
    with db.session() as s:
        me = s.get(Account, me_id)
        conversation = agent.start_conversation(s, me)
        steps = [st.as_dict() for st in agent.Agent(llm, BuiltinShield(), answer_with_model=True)
                 .run_turn(s, me, conversation, text)]
    streamed = "".join(st["text"] for st in steps if st["type"] == "text_delta")
    final = next(st for st in reversed(steps) if st["type"] == "text")
    return {"text": final["text"], "streamed": streamed, "citations": final.get("citations", [])}


MADE_UP = [
    "Alice posted a post about nonexistentwordzz.",
    "Yes! @alice wrote about nonexistentwordzz yesterday [post 987654].",
    "Bob shared a great post about nonexistentwordzz.",
]


@pytest.mark.parametrize("made_up", MADE_UP)
def test_made_up_answers_without_tools_are_replaced_by_a_search(db, people, made_up):
    answer = _answer(db, people["asker"], ScriptedLLM([], answer=made_up), "What did Alice post about nonexistentwordzz?")
    assert "posted" not in answer["text"] and "987654" not in answer["text"]
    assert answer["text"].startswith("I found no posts about") and answer["citations"] == []
    assert made_up not in answer["streamed"]  # never shown, not even while streaming


def test_made_up_answers_after_a_search_keep_to_its_results(db, people):
    llm = ScriptedLLM([("search_posts", {"query": "nonexistentwordzz"})],
                      answer="Alice posted a post about nonexistentwordzz [post 5].")
    answer = _answer(db, people["asker"], llm, "find posts about nonexistentwordzz")
    assert answer["text"] == 'I found no posts about "nonexistentwordzz".'


def test_answers_about_posts_the_person_cannot_see_are_replaced(db, people):
    # The model "knows" a followers-only post's words; the search (as the asker) does not return it.
    llm = ScriptedLLM([("search_posts", {"query": "garden"})], answer="Alice posted about her hidden garden plan.")
    answer = _answer(db, people["asker"], llm, "any posts about gardens?")
    assert "hidden garden" not in answer["text"] and "zzkeep" not in answer["text"]
    assert answer["text"].startswith("I found no posts about")


def test_supported_answers_are_kept(db, people):
    llm = ScriptedLLM([("search_posts", {"query": "sourdough"})],
                      answer="Alice posted about sourdough: her starter is bubbling nicely.")
    answer = _answer(db, people["asker"], llm, "anything about sourdough?")
    assert answer["text"] == "Alice posted about sourdough: her starter is bubbling nicely."
    assert answer["citations"]
    chat = _answer(db, people["asker"], ScriptedLLM([], answer="Hi! How can I help you today?"), "hello")
    assert chat["text"] == "Hi! How can I help you today?"
