"""The assistant and a creator AI on the real path: the bundled SmolLM2-135M through the LLM runtime
and its tool layer, the bundled MiniLM for grounding. Slow-ish (the model loads once)."""

import pytest
from sqlalchemy import select

from townsquare.assistant import agent
from townsquare.assistant.models import PendingAction
from townsquare.config import load_settings
from townsquare.safety import BuiltinShield
from townsquare.social import accounts, posts
from townsquare.social.models import Account, Post
from townsquare.studio import chat, service
from townsquare.studio.service import AIFields

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def bundled_llm():
    from townsquare.llm.runtime import get_llm

    return get_llm("assistant", load_settings(env={}))


def test_assistant_turn_with_the_bundled_model(db, bundled_llm):
    with db.session() as s:
        me = accounts.create_account(s, "real_me", None)
        mia = accounts.create_account(s, "real_mia", None)
        posts.create_post(s, mia, text="Bouldering at Fontainebleau this weekend #climbing")
        conversation = agent.start_conversation(s, me)
        steps = [x.as_dict() for x in agent.Agent(bundled_llm, BuiltinShield()).run_turn(
            s, me, conversation, "find posts about climbing")]
    kinds = [x["type"] for x in steps]
    assert kinds[0] == "user" and kinds[-1] == "done"
    calls = [x for x in steps if x["type"] == "tool_call"]
    assert calls and calls[0]["tool"] == "search_posts"
    assert "Fontainebleau" in next(x["text"] for x in reversed(steps) if x["type"] == "text")


def test_side_effects_from_the_bundled_model_wait_for_confirmation(db, bundled_llm):
    with db.session() as s:
        me = accounts.create_account(s, "real_me2", None)
        accounts.create_account(s, "real_mia2", None)
        conversation = agent.start_conversation(s, me)
        steps = [x.as_dict() for x in agent.Agent(bundled_llm, BuiltinShield()).run_turn(
            s, me, conversation, "follow @real_mia2")]
        pending = s.scalars(select(PendingAction)).all()
    assert [x["type"] for x in steps][-1] == "done"
    # Whatever the small model did, nothing happened without a confirmation.
    from townsquare.social.models import Follow

    with db.session() as s:
        assert s.scalar(select(Follow.follower_id)) is None
    if pending:
        assert pending[0].tool == "follow" and pending[0].arguments == {"handle": "real_mia2"}


def test_creator_ai_answer_written_by_the_bundled_model(db, bundled_llm):
    with db.session() as s:
        mia = accounts.create_account(s, "real_creator", None)
        fan = accounts.create_account(s, "real_fan", None)
        posts.create_post(s, mia, text="My favourite crag is Fontainebleau, the sandstone is perfect.")
        ai = service.create_ai(s, mia, AIFields(name="Mia AI"))
        items = list(chat.talk(s, ai, s.get(Account, fan.id), "Which crag do you like best?", llm=bundled_llm,
                               shield=BuiltinShield(), answer_with_model=True))
        reply = items[-1]
        assert reply.status == "ok" and reply.content.strip()
        assert reply.citations and "Fontainebleau" in s.get(Post, reply.citations[0]).text
        # Streamed a checked sentence at a time (studio/verify.py), exactly what is stored, and it
        # carries the creator's words verbatim.
        assert "".join(items[:-1]).strip() == reply.content
        assert "“My favourite crag is Fontainebleau, the sandstone is perfect.” [1]" in reply.content


def test_the_bundled_model_path_understands_a_multi_part_request(db, bundled_llm):
    """With the embedded model the assistant reads the request itself (understand.py): a person named
    by display name with a typo in the verb, and a second, read-only part."""
    with db.session() as s:
        me = accounts.create_account(s, "real_me3", None, display_name="Real Me")
        accounts.create_account(s, "real_nora", None, display_name="Nora Quintero")
        conversation = agent.start_conversation(s, me)
        steps = [x.as_dict() for x in agent.Agent(bundled_llm, BuiltinShield()).run_turn(
            s, me, conversation, "folow Nora Quintero and check my notifications pls")]
    calls = [(x["tool"], x["arguments"]) for x in steps if x["type"] == "tool_call"]
    assert ("follow", {"handle": "real_nora"}) in calls and ("read_notifications", {}) in calls
    assert [x["tool"] for x in steps if x["type"] == "confirmation"] == ["follow"]
    with db.session() as s:
        from townsquare.social.models import Follow

        assert s.scalar(select(Follow.follower_id)) is None  # waiting for the person's confirmation
