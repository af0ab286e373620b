"""The understanding step: requests of each class -> planned calls, on a small community of our own.

Inputs are written for these tests (no benchmark task). The intent model is the real bundled
MiniLM embedder."""

from __future__ import annotations

import pytest

from townsquare.assistant import phrasing
from townsquare.assistant.people import people_named
from townsquare.assistant.tools import ToolContext
from townsquare.assistant.understand import (
    draft_subject,
    is_request,
    post_numbers,
    reaction_of,
    split_clauses,
    topic_of,
    understand,
)
from townsquare.social import accounts, graph, posts


@pytest.fixture
def town(db):
    """ruth (asks), followers of nobody but theo; accounts with clear display names."""
    with db.session() as s:
        made = {}
        for handle, name in [("ruth", "Ruth Okafor"), ("theo_b", "Theo Brandt"), ("lena.k", "Lena Kowalski"),
                             ("marcus", "Marcus Lindqvist"), ("ivy", "Ivy Tran")]:
            made[handle] = accounts.create_account(s, handle.replace(".", "_"), None, display_name=name)
        graph.follow(s, made["ruth"], made["theo_b"].id)
        post = posts.create_post(s, made["lena.k"], text="Trying a new kimchi recipe tonight #cooking")
        s.flush()
        return {"ruth": made["ruth"].id, "post": post.id}


def _plan(db, town, text):
    from townsquare.social.models import Account

    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        return [(c.tool, c.arguments) for c in understand(ctx, text).calls]


# --- pure parts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("serch for knitting plz", "search for knitting please"),  # typos in trigger words, shorthand
    ("unfolow them", "unfollow them"),
    ("most people", "most people"),  # a real word is never "fixed"
    ("notifs?", "notifications?"),
])
def test_normalise_fixes_shorthand_and_typos_of_the_apps_words(text, expected):
    assert phrasing.normalise(text) == expected


def test_other_digit_systems_read_as_ascii():
    assert phrasing.ascii_digits("পোস্ট ৪২") == "পোস্ট 42"


@pytest.mark.parametrize("text, parts", [
    ("catch me up and read my notifications", ["catch me up", "read my notifications"]),
    ("Who writes about chess? Oh, and draft a post about it.", ["Who writes about chess?", "draft a post about it."]),
    ("like post 4; then explain post 9", ["like post 4", "explain post 9"]),
])
def test_multi_part_requests_split_into_clauses(text, parts):
    assert split_clauses(text) == parts


@pytest.mark.parametrize("clause, topic", [
    ("anything about vintage synths lately?", "vintage synths"),
    ("has anyone posted on pottery", "pottery"),
    ("got any good birding stuff", "birding"),
    ("search: marathons", "marathons"),
])
def test_topic_is_the_subject_not_the_filler(clause, topic):
    assert topic_of(clause) == topic


def test_post_numbers_skip_quantities():
    assert post_numbers("explain posts 12 and #30 from the last 5 hours") == ["12", "30"]


@pytest.mark.parametrize("clause, reaction", [("heart post 3", "love"), ("thumbs up on 3", "like"),
                                              ("react with wow to 3", "wow"), ("post 3", "like")])
def test_reaction_words(clause, reaction):
    assert reaction_of(clause) == reaction


def test_statements_are_not_requests():
    assert not is_request("There's someone I follow named Ivy")
    assert is_request("could you follow Ivy") and is_request("unfollow @ivy") and is_request("I want to follow Ivy")


def test_draft_subject_drops_the_request_words():
    assert draft_subject("can you write me a short post about our street party") == "our street party"


# --- with the community -----------------------------------------------------------------------------


def test_people_by_handle_display_name_and_typo(db, town):
    from townsquare.social.models import Account

    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert [n.handle for n in people_named(ctx, "follow @ivy and Marcus Lindqvist")] == ["ivy", "marcus"]
        assert [n.handle for n in people_named(ctx, "stop following Theo Brand")] == ["theo_b"]  # typo
        assert [n.handle for n in people_named(ctx, "unfollow theo_b")] == ["theo_b"]
        assert people_named(ctx, "Ruth Okafor") == []  # the person asking is not a target


@pytest.mark.parametrize("heard, handle", [("follow Lena Cowalskey", "lena_k"),  # as speech recognition writes
                                           ("unfollow Theo Brent", "theo_b")])
def test_people_named_as_speech_recognition_hears_them(db, town, heard, handle):
    from townsquare.social.models import Account

    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert [n.handle for n in people_named(ctx, heard)] == [handle]


def test_a_clipped_name_and_a_handle_said_aloud_are_found(db, town):
    from townsquare.social.models import Account

    with db.session() as s:
        accounts.create_account(s, "kofimensah22", None, display_name="K. Mensah")
        s.flush()
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert [n.handle for n in people_named(ctx, "look up Len Kowalski")] == ["lena_k"]  # "Lena", last sound lost
        for heard in ("follow Kofi Mensah 22", "follow Kofimensa 22 for me", "follow Kofi Mensa 22"):
            assert [n.handle for n in people_named(ctx, heard)] == ["kofimensah22"], heard
        assert people_named(ctx, "follow Kofi 22") == []  # too far from the handle to be it
        assert [n.handle for n in people_named(ctx, "find Ivytran")] == ["ivy"]  # a name run together


def test_a_name_that_only_sounds_alike_in_part_is_not_guessed(db, town):
    from townsquare.assistant.people import sound_key
    from townsquare.social.models import Account

    assert sound_key("Bakker") == sound_key("Becker") and sound_key("Okafor") == sound_key("aquifer")
    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        assert people_named(ctx, "follow Marco Lindgren") == []  # neither word is close to Marcus Lindqvist


@pytest.mark.parametrize("text, calls", [
    ("could you please follow Marcus Lindqvist", [("follow", {"handle": "marcus"})]),
    ("folow ivy tran and lena kowalski pls", [("follow", {"handle": "ivy"}), ("follow", {"handle": "lena_k"})]),
    ("I'm done with Theo Brandt's posts, unfollow him", [("unfollow", {"handle": "theo_b"})]),
    ("whats new", [("catch_me_up", {})]),
    ("summary of my feed for the past 6 hours", [("catch_me_up", {"hours": 6})]),
    ("what happened in my feed in the last three hours?", [("catch_me_up", {"hours": 3})]),
    ("catch me up, I was out for a couple of hours", [("catch_me_up", {"hours": 2})]),
    ("catch me up on the past 2 days", [("catch_me_up", {"hours": 48})]),
    ("what did I miss in my feed over the last week?", [("catch_me_up", {"hours": 168})]),
    ("catch me up and check my notifs", [("catch_me_up", {}), ("read_notifications", {})]),
    ("Could you look for posts about kimchi?", [("search_posts", {"query": "kimchi"})]),
])
def test_requests_become_planned_calls(db, town, text, calls):
    assert _plan(db, town, text) == calls


def test_post_requests_and_follow_the_author(db, town):
    post = str(town["post"])
    assert _plan(db, town, f"why am I seeing post {post}?") == [("explain_post", {"post_id": post})]
    assert _plan(db, town, f"whoever wrote #{post}, follow them") == [("follow", {"handle": "lena_k"})]
    assert _plan(db, town, f"heart post {post} and tell me who wrote it") == [
        ("react_to_post", {"post_id": post, "reaction": "love"}),
        ("ask_about_post", {"post_id": post, "question": "tell me who wrote it"})]


def test_dictated_text_is_copied_exactly(db, town):
    post = str(town["post"])
    assert _plan(db, town, "publish: gonna b l8 2nite, sorry all") == [
        ("publish_post", {"text": "gonna b l8 2nite, sorry all"})]
    assert _plan(db, town, f"reply to post {post} with: yum, and send the recipe pls") == [
        ("comment_on_post", {"post_id": post, "text": "yum, and send the recipe pls"})]
    assert _plan(db, town, "share with followers only: band practice moved to 6") == [
        ("publish_post", {"text": "band practice moved to 6", "visibility": "followers"})]


def test_a_dictating_colon_written_as_a_comma_still_dictates(db, town):
    # speech recognition writes "post: ..." as "Post, ...": a bare publishing command dictates
    assert _plan(db, town, "Post, bus is late again, go on without me.") == [
        ("publish_post", {"text": "bus is late again, go on without me."})]
    assert _plan(db, town, "Please share it with my followers only, rehearsal is off tonight") == [
        ("publish_post", {"text": "rehearsal is off tonight", "visibility": "followers"})]
    # a command that names a subject dictates nothing: what follows the comma is about the draft
    assert _plan(db, town, "post something about my new puppy, keep it short")[0][0] == "draft_post"


def test_spoken_comments_whose_quotation_marks_were_lost(db, town):
    post = str(town["post"])
    comment = [("comment_on_post", {"post_id": post, "text": "save me a seat"})]
    assert _plan(db, town, f"Comment on {post}, save me a seat") == comment  # "comment on 12: ..."
    assert _plan(db, town, f"leave a comment on post {post}, save me a seat.") == \
        [("comment_on_post", {"post_id": post, "text": "save me a seat."})]
    assert _plan(db, town, f"Comment save me a seat, on post {post}") == comment  # the words, then where
    assert _plan(db, town, f"Comment save me a seat on post {post}") == comment  # a post number ends them
    for describing in (f"comment something funny on post {post}", f"reply to Theo on post {post}"):
        assert ("comment_on_post", {"post_id": post, "text": describing.split(" ", 1)[1].rsplit(" on ", 1)[0]}) \
            not in _plan(db, town, describing)
    for heard in ("search kimchi and leave a comment saying save me a seat, on the top result",
                  "search kimchi and leave a comment saying save me a seat on the top result"):
        assert _plan(db, town, heard) == [
            ("search_posts", {"query": "kimchi"}), ("comment_on_post", {"post_id": "", "text": "save me a seat"})]


def test_a_comma_after_a_spoken_command_means_nothing(db, town):
    post = str(town["post"])
    assert _plan(db, town, "Find, post about kimchi.") == [("search_posts", {"query": "kimchi"})]
    assert _plan(db, town, f"Like, post {post}.") == [("react_to_post", {"post_id": post, "reaction": "like"})]
    assert _plan(db, town, f"Explain, post, {post}.") == [("explain_post", {"post_id": post})]  # not "post: ..."


def test_a_post_named_by_a_spoken_number(db, town):
    # "#12" is silent when spoken: "whoever posted 12", "howd 12 end up in my feed"
    post = str(town["post"])
    assert _plan(db, town, f"whoever posted {post} I want to follow them") == [("follow", {"handle": "lena_k"})]
    assert _plan(db, town, f"Howd {post} end up in my feed.") == [("explain_post", {"post_id": post})]
    assert all(tool != "explain_post" for tool, _ in _plan(db, town, "I got 3 new followers in my feed today"))


def test_publish_without_words_becomes_a_draft(db, town):
    assert _plan(db, town, "post something about my new puppy") == [("draft_post", {"about": "my new puppy"})]


@pytest.mark.parametrize("text", ["thanks, that's everything", "what's the tallest mountain in Africa?",
                                  "haha nice one"])
def test_chat_needs_no_tool(db, town, text):
    assert _plan(db, town, text) == []


def test_no_side_effect_from_a_statement(db, town):
    assert all(tool not in ("follow", "unfollow") for tool, _ in
               _plan(db, town, "There's someone I follow called Theo Brandt. What has he posted about?"))


@pytest.mark.parametrize("text, calls", [
    # a statement is context for the request after it
    ("Post {post} cheered me up. Leave a comment saying \"thanks, needed that\".",
     [("comment_on_post", {"post_id": "{post}", "text": "thanks, needed that"})]),
    ("I'd like more astronomy in my feed. Who should I add?", [("suggest_follows", {"topic": "astronomy"})]),
    # catching up has no subject: a subject makes it a search
    ("hey anything on pottery this week?", [("search_posts", {"query": "pottery"})]),
    # an unfamiliar subject does not hide what is asked
    ("search posts about the zorbified quelp", [("search_posts", {"query": "zorbified quelp"})]),
    # a post named by number is what the question is about
    ("how did #{post} get into my timeline?", [("explain_post", {"post_id": "{post}"})]),
    # "what has X posted about Y" is a search for Y
    ("What has Ivy Tran posted about football?", [("search_posts", {"query": "football"})]),
])
def test_request_classes(db, town, text, calls):
    post = str(town["post"])
    expected = [(tool, {k: v.replace("{post}", post) for k, v in args.items()}) for tool, args in calls]
    assert _plan(db, town, text.replace("{post}", post)) == expected


@pytest.mark.parametrize("text, calls", [
    ("Busca publicaciones sobre cerámica.", [("search_posts", {"query": "cerámica"})]),
    ("sigue a @ivy", [("follow", {"handle": "ivy"})]),
    ("dale me gusta al post {post}", [("react_to_post", {"post_id": "{post}", "reaction": "like"})]),
    ("পোস্ট {post_bn} এ একটা লাইক দিন", [("react_to_post", {"post_id": "{post}", "reaction": "like"})]),
    ("আমার ফিডের খবর বলো আর নোটিফিকেশনগুলোও দেখো", [("catch_me_up", {}), ("read_notifications", {})]),
    ('এই পোস্টটা প্রকাশ করো: "কাল সকালে বাজারে যাবো"', [("publish_post", {"text": "কাল সকালে বাজারে যাবো"})]),
])
def test_spanish_and_bengali_requests(db, town, text, calls):
    post = str(town["post"])
    post_bn = post.translate(str.maketrans("0123456789", "০১২৩৪৫৬৭৮৯"))
    expected = [(tool, {k: v.replace("{post}", post) if isinstance(v, str) else v for k, v in args.items()})
                for tool, args in calls]
    assert _plan(db, town, text.replace("{post_bn}", post_bn).replace("{post}", post)) == expected


def test_a_wanted_action_without_its_target_asks_for_it(db, town):
    from townsquare.social.models import Account

    with db.session() as s:
        ctx = ToolContext(s, s.get(Account, town["ruth"]))
        plan = understand(ctx, "follow")
        assert plan.calls == [] and "Whom should I follow" in plan.clarify


def test_a_lone_number_is_a_post_only_beside_a_post_word_or_an_action(db, town):
    post = str(town["post"])
    assert _plan(db, town, "what's 7 times 8?") == []  # arithmetic, not posts 7 and 8
    assert _plan(db, town, f"upvote {post}") == [("react_to_post", {"post_id": post, "reaction": "like"})]


def test_an_action_on_what_a_search_in_the_same_request_finds(db, town):
    assert _plan(db, town, "find posts about kimchi and follow whoever posted the most") == [
        ("search_posts", {"query": "kimchi"}), ("follow", {"handle": ""})]  # target: the search's authors
    assert _plan(db, town, "search kimchi then like the first result") == [
        ("search_posts", {"query": "kimchi"}), ("react_to_post", {"post_id": "", "reaction": "like"})]


def test_agent_turn_from_understanding_reads_first_then_proposes_on_what_it_found(db, town):
    """The whole turn with understanding on (a scripted model that must not be asked for tools)."""
    from scripted_llm import ScriptedLLM
    from sqlalchemy import select

    from townsquare.assistant import agent
    from townsquare.safety import BuiltinShield
    from townsquare.social.models import Account, Reaction

    llm = ScriptedLLM()
    with db.session() as s:
        me = s.get(Account, town["ruth"])
        conversation = agent.start_conversation(s, me)
        steps = [x.as_dict() for x in agent.Agent(llm, BuiltinShield(), understand=True).run_turn(
            s, me, conversation, "search kimchi then like the first result")]
    assert llm.seen == []  # the model chose nothing
    kinds = [x["type"] for x in steps]
    assert kinds == ["user", "tool_call", "tool_result", "tool_call", "confirmation", "text", "done"]
    confirmation = next(x for x in steps if x["type"] == "confirmation")
    assert confirmation["arguments"] == {"post_id": str(town["post"]), "reaction": "like"}
    with db.session() as s:
        assert s.scalar(select(Reaction.post_id)) is None  # nothing happens before the confirmation


@pytest.mark.parametrize("text, calls", [
    # "from people I follow" filters posts; it asks nobody to be followed
    ("show me posts about kimchi from people I follow", [("search_posts", {"query": "kimchi", "from_people_i_follow": True})]),
    ("kimchi, only from people I follow", [("search_posts", {"query": "kimchi", "from_people_i_follow": True})]),
    ("what are the people I follow up to?", [("catch_me_up", {})]),
    # finding people is a people search; suggestions are asked for
    ("search for accounts about pottery", [("search_people", {"query": "pottery"})]),
    ("find people who are into pottery", [("search_people", {"query": "pottery"})]),
])
def test_followed_filter_and_people_searches(db, town, text, calls):
    assert _plan(db, town, text) == calls


def test_no_follow_without_a_person_or_a_whoever(db, town):
    assert all(tool != "follow" for tool, _ in _plan(db, town, "follow posts about kimchi"))


def test_clarifying_questions_name_no_post_or_handle():
    from townsquare.assistant.understand import CLARIFY

    for text in CLARIFY.values():
        assert "@" not in text and not any(ch.isdigit() for ch in text)
