"""The tool layer's logic with a scripted model: gate, self-checks, several calls, and bad input.

Grammars are checked with llama.cpp's own parser; the requests are written for these tests."""

from __future__ import annotations

import json
import re

import pytest

from townsquare.errors import InvalidInput
from townsquare.llm.multicall import clauses
from townsquare.llm.tool_calling import MAX_REQUEST_CHARS, ToolCaller, ToolLayerConfig
from townsquare.llm.tools import normalise_tools
from townsquare.llm.types import ChatResult


def _parses(grammar_text: str) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(grammar_text, verbose=False)


class Scripted:
    """A backend that answers from a script and records what it was asked."""

    name = "scripted"

    def __init__(self, replies: list[str]) -> None:
        self.replies = list(replies)
        self.grammars: list[str] = []
        self.prompts: list[str] = []

    def chat(self, messages, grammar=None, **kwargs):
        if grammar is None:
            return ChatResult(text="a text answer")
        _parses(grammar)
        self.grammars.append(grammar)
        self.prompts.append(messages[-1]["content"])
        return ChatResult(text=self.replies.pop(0) if self.replies else "{")


class WordRouter:
    """Relevance by shared words between the request and the tool's name and description."""

    threshold = 0.3

    def rank(self, query, tools):
        words = set(re.findall(r"[a-z]+", query.lower()))
        scores = [(tool, len(words & set(re.findall(r"[a-z]+", tool.doc().lower()))) / 3) for tool in tools]
        return sorted(scores, key=lambda pair: -pair[1])


def tool(name, description, properties, required=None):
    return {"type": "function", "function": {"name": name, "description": description, "parameters": {
        "type": "object", "properties": properties, "required": list(properties) if required is None else required}}}


PLAY = tool("play_song", "play a song for some minutes", {"title": {"type": "string"}, "minutes": {"type": "integer"}})
FOLLOW = tool("follow", "follow a person", {"handle": {"type": "string"}})
LIKE = tool("like_post", "like a post", {"post_id": {"type": "integer"}})
WHO = tool("post_author", "who wrote a post", {"post_id": {"type": "integer"}})
AREA = tool("rectangle_area", "area of a rectangle", {"width": {"type": "number"}, "height": {"type": "number"}})


def run(replies, request, tools, mode="auto", parallel=True, **kwargs):
    backend = Scripted(replies)
    caller = ToolCaller(backend, WordRouter(), ToolLayerConfig(0.3, **kwargs))
    result = caller.call([{"role": "user", "content": request}], normalise_tools(tools), mode,
                         parallel=parallel, respond=True)
    return result, backend


def test_a_call_is_decoded_under_a_grammar_of_the_requests_values():
    result, backend = run(['{"title": "Blue Moon", "minutes": 20}'], "play Blue Moon for 20 minutes", [PLAY])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("play_song", {"title": "Blue Moon", "minutes": 20})]
    assert '"\\"Blue Moon\\""' in backend.grammars[0] and '"20"' in backend.grammars[0]
    assert '"15"' not in backend.grammars[0]  # no number the request does not write


def test_no_relevant_tool_means_a_text_answer():
    result, backend = run([], "tell me a joke about cats", [PLAY, FOLLOW])
    assert result.tool_calls == [] and result.text == "a text answer" and backend.grammars == []


def test_a_tool_that_needs_numbers_is_not_called_for_a_request_without_any():
    result, _ = run([], "what is the area of a rectangle, in general?", [AREA])
    assert result.tool_calls == []


def test_a_number_written_once_fills_one_argument():
    replies = ['{"width": 4, "height": 4}', '{"width": 4, "height": 9}']
    result, backend = run(replies, "area of a rectangle 4 by 9", [AREA])
    assert result.tool_calls[0].arguments == {"width": 4, "height": 9}
    height_rule = next(line for line in backend.grammars[1].splitlines() if line.startswith("args-height-v"))
    assert '"4"' not in height_rule  # the retry takes the repeated number out of the later argument
    result, _ = run(['{"width": 4, "height": 4}'] * 2, "area of a rectangle 4 by 9", [AREA])
    assert result.tool_calls == []  # still repeated: in auto mode no call is made


def test_one_phrase_does_not_fill_two_free_text_arguments():
    send = tool("send_message", "send a message to a person", {"to": {"type": "string"}, "text": {"type": "string"}})
    replies = ['{"to": "Mira", "text": "Mira"}', '{"to": "Mira", "text": "see you at noon"}']
    result, backend = run(replies, "send a message to Mira: see you at noon", [send])
    assert result.tool_calls[0].arguments == {"to": "Mira", "text": "see you at noon"}


def test_several_calls_of_one_tool():
    replies = ['{"title": "Blue Moon", "minutes": 20}', '{"title": "Hey Jude", "minutes": 15}']
    result, backend = run(replies, "play Blue Moon for 20 minutes and Hey Jude for 15", [PLAY, FOLLOW])
    assert [c.arguments for c in result.tool_calls] == [{"title": "Blue Moon", "minutes": 20},
                                                        {"title": "Hey Jude", "minutes": 15}]
    assert backend.prompts[1].endswith("Request: Hey Jude for 15")
    result, _ = run(['{"handle": "@ana"}', '{"handle": "@ben"}'], "follow @ana and @ben", [PLAY, FOLLOW])
    assert [c.arguments["handle"] for c in result.tool_calls] == ["@ana", "@ben"]


def test_several_calls_of_different_tools_and_a_clause_that_refers_back():
    replies = ['{"post_id": 12}', '{"post_id": 12}']
    result, backend = run(replies, "like post 12 and tell me who wrote it", [LIKE, WHO])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("like_post", {"post_id": 12}),
                                                                  ("post_author", {"post_id": 12})]


def test_a_request_that_is_one_call_stays_one_call():
    result, backend = run(['{"width": 10, "height": 5}'], "area of a rectangle with width 10 and height 5", [AREA])
    assert len(result.tool_calls) == 1 and len(backend.grammars) == 1
    result, backend = run(['{"title": "Blue Moon", "minutes": 20}'], "play Blue Moon for 20 minutes and Hey Jude for 15",
                          [PLAY], parallel=False)
    assert len(result.tool_calls) == 1  # parallel calls not allowed: one call
    assert clauses("average of 3, 8 and 11") == ["average of 3, 8 and 11"]
    assert clauses("posts between 2 and 5 days old") == ["posts between 2 and 5 days old"]


def test_a_tool_taking_a_list_keeps_the_request_whole():
    tag = tool("tag_post", "tag a post", {"tags": {"type": "array", "items": {"type": "string"}}})
    result, backend = run(['{"tags": ["jazz", "blues"]}'], "tag a post Jazz and Blues", [tag])
    assert len(backend.grammars) == 1 and result.tool_calls[0].arguments == {"tags": ["jazz", "blues"]}


def test_odd_schemas_nested_objects_arrays_of_objects_no_description():
    odd = {"type": "function", "function": {"name": "create_event", "parameters": {"type": "object", "properties": {
        "where": {"type": "object", "properties": {"city": {"type": "string"}, "room": {"type": "integer"}},
                  "required": ["city"]},
        "guests": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
        "extra": {}}, "required": ["where", "guests"]}}}
    reply = '{"where": {"city": "Oslo"}, "guests": [{"name": "Ana"}]}'
    result, backend = run([reply], "create an event in Oslo with Ana", [odd], mode="required")
    assert result.tool_calls[0].arguments == {"where": {"city": "Oslo"}, "guests": [{"name": "Ana"}]}
    assert "Description: create_event" in backend.prompts[0]  # no description: the name stands in


def test_thirty_tools_at_once_describe_only_the_chosen_one():
    tools = [tool(f"tool_{i}", f"does thing number {i}", {"x": {"type": "string"}}) for i in range(29)] + [FOLLOW]
    result, backend = run(['{"handle": "@mira"}'], "please follow @mira", tools)
    assert [c.name for c in result.tool_calls] == ["follow"]
    assert "tool_3" not in backend.prompts[0]


def test_a_very_long_request_is_clipped_and_still_answered():
    request = "follow @mira " + "and tell her all about my garden " * 2000
    result, backend = run(['{"handle": "@mira"}'], request, [FOLLOW], parallel=False)
    assert result.tool_calls[0].arguments == {"handle": "@mira"}
    assert len(backend.prompts[0]) < MAX_REQUEST_CHARS + 500 and len(backend.grammars[0]) < 400_000


def test_another_language_is_a_call_or_a_text_answer_never_a_crash():
    result, backend = run(['{"handle": "@lucia"}'], "sigue a @lucia, por favor", [FOLLOW], mode="required")
    assert result.tool_calls[0].arguments == {"handle": "@lucia"}
    result, _ = run([], "¿qué tiempo hace mañana?", [FOLLOW, PLAY])
    assert result.tool_calls == [] and result.text


def test_a_reply_cut_off_is_a_text_answer_in_auto_mode_and_a_clear_error_when_required():
    result, _ = run(['{"handle": "@ana'], "follow @ana", [FOLLOW])  # unparseable, then the type-only retry too
    assert result.tool_calls == []
    with pytest.raises(InvalidInput, match="could not produce"):
        run(['{"handle": "@ana'], "follow @ana", [FOLLOW], mode="required")


def test_switched_off_grounders_leave_the_type_grammar():
    result, backend = run(['{"title": "anything", "minutes": 99}'], "play Blue Moon for 20 minutes", [PLAY],
                          grounders=[])
    assert '"\\"Blue Moon\\""' not in backend.grammars[0] and json.dumps("Blue Moon") not in backend.grammars[0]
    assert result.tool_calls[0].arguments == {"title": "anything", "minutes": 99}


def test_the_grounders_setting_and_argument_reach_the_layer():
    from townsquare.config import load_settings
    from townsquare.llm.runtime import LLM

    def turn(settings, **kwargs):
        backend = Scripted(['{"handle": "@ana"}'])
        LLM(backend, settings).chat_with_tools([{"role": "user", "content": "follow @ana"}], [FOLLOW], "follow",
                                               **kwargs)
        return backend.grammars[0]

    assert '"\\"@ana\\""' in turn(load_settings(env={}))
    assert '"\\"@ana\\""' not in turn(load_settings(env={}, llm_tool_grounders="none"))
    assert '"\\"@ana\\""' in turn(load_settings(env={}, llm_tool_grounders="none"), grounders=["handles"])
    with pytest.raises(InvalidInput, match="unknown grounder"):
        turn(load_settings(env={}, llm_tool_grounders="guesswork"))
