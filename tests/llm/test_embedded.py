"""The embedded backend with the bundled SmolLM2-135M, for real (tiny max_tokens)."""

from __future__ import annotations

import threading

import pytest
from jsonschema import Draft202012Validator

from townsquare.config import load_settings
from townsquare.errors import Busy, InvalidInput
from townsquare.llm.embedded import EmbeddedLLM, bundled_model_path
from townsquare.llm.runtime import LLM
from townsquare.llm.types import UnknownTool

pytestmark = pytest.mark.slow

HELLO = [{"role": "user", "content": "Say hello."}]


@pytest.fixture(scope="module")
def settings():
    return load_settings(env={}, llm_context=1024, llm_queue_size=1, llm_timeout_s=60.0, llm_max_tokens=16)


@pytest.fixture(scope="module")
def llm(settings):
    return LLM(EmbeddedLLM(n_ctx=1024, queue_size=1, timeout_s=60.0), settings)


def test_bundled_model_is_found():
    assert bundled_model_path().suffix == ".gguf"


def test_chat_and_stream(llm):
    result = llm.chat(HELLO, max_tokens=8)
    assert result.text.strip()
    assert result.usage.completion_tokens <= 8
    pieces = list(llm.chat(HELLO, max_tokens=8, stream=True))
    assert len(pieces) >= 2
    assert "".join(pieces) == result.text  # greedy decoding: the stream spells the same reply
    assert llm.backend.pending == 0


SCHEMAS = [
    {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}, "age": {"type": "integer"}},
     "required": ["name", "age"]},
    {"type": "object", "properties": {"mood": {"enum": ["happy", "sad", "calm"]}, "ok": {"type": "boolean"}},
     "required": ["mood", "ok"]},
    {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": 3},
]


@pytest.mark.parametrize("schema", SCHEMAS)
def test_complete_json_always_validates(llm, schema):
    value = llm.complete_json([{"role": "user", "content": "Describe a person as JSON."}], schema, max_tokens=48)
    Draft202012Validator(schema).validate(value)


def test_invalid_schema_is_rejected_before_generation(llm):
    with pytest.raises(InvalidInput):
        llm.complete_json(HELLO, {"type": "no-such-type"})


def test_context_window_is_checked(llm):
    long = [{"role": "user", "content": "word " * 1200}]
    with pytest.raises(InvalidInput, match="context window"):
        llm.chat(long, max_tokens=8)
    with pytest.raises(InvalidInput, match="context window"):
        llm.chat(HELLO, max_tokens=5000)
    assert llm.backend.pending == 0
    assert llm.chat(HELLO, max_tokens=2).text  # still healthy


def test_queue_is_bounded_and_busy_is_clear(llm):
    stream = llm.chat(HELLO, max_tokens=8, stream=True)  # running (holds the model once started)
    next(stream)
    waiter_result = {}

    def waiter():
        waiter_result["text"] = llm.chat(HELLO, max_tokens=2).text  # queued (queue_size=1)

    thread = threading.Thread(target=waiter)
    thread.start()
    for _ in range(200):
        if llm.backend.pending == 2:
            break
        threading.Event().wait(0.01)
    with pytest.raises(Busy, match="busy"):
        llm.chat(HELLO, max_tokens=2)
    stream.close()
    thread.join(timeout=60)
    assert waiter_result["text"]
    assert llm.backend.pending == 0


def test_abandoned_stream_releases_the_model(llm):
    stream = llm.chat(HELLO, max_tokens=8, stream=True)
    next(stream)
    del stream
    assert llm.backend.pending == 0
    assert llm.chat(HELLO, max_tokens=2).text


TOOLS = [
    {"type": "function", "function": {"name": "get_weather", "description": "Get the current weather in a city.",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"},
                    "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}},
    {"type": "function", "function": {"name": "triangle_area", "description": "Area of a triangle from base and height.",
     "parameters": {"type": "object", "properties": {"base": {"type": "number"}, "height": {"type": "number"}},
                    "required": ["base", "height"]}}},
]


def test_tool_calls_are_well_formed_and_grounded(llm):
    result = llm.chat_with_tools([{"role": "user", "content": "What's the weather in Berlin, in celsius?"}], TOOLS)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Berlin", "unit": "celsius"})]
    result = llm.chat_with_tools([{"role": "user", "content": "Area of a triangle with base 6 and height 4?"}], TOOLS,
                                 tool_choice="required", parallel_tool_calls=False)
    assert result.tool_calls[0].name == "triangle_area"
    assert set(result.tool_calls[0].arguments.values()) == {6, 4}
    assert result.to_message()["tool_calls"][0]["type"] == "function"


def test_tool_choice_none_auto_irrelevant_and_named(llm):
    result = llm.chat_with_tools([{"role": "user", "content": "Write a haiku about autumn leaves."}], TOOLS,
                                 max_tokens=6)
    assert result.tool_calls == [] and result.text
    result = llm.chat_with_tools([{"role": "user", "content": "Weather in Rome?"}], TOOLS, tool_choice="none",
                                 max_tokens=4)
    assert result.tool_calls == []
    result = llm.chat_with_tools([{"role": "user", "content": "Rome please"}], TOOLS,
                                 tool_choice={"type": "function", "function": {"name": "get_weather"}})
    assert result.tool_calls[0].name == "get_weather"
    with pytest.raises(UnknownTool):
        llm.chat_with_tools(HELLO, TOOLS, tool_choice="launch_rockets")


def test_parallel_calls_are_distinct_and_valid(llm):
    result = llm.chat_with_tools([{"role": "user", "content": "Weather in Paris and in Rome?"}], TOOLS,
                                 tool_choice="required", parallel_tool_calls=True)
    assert 1 <= len(result.tool_calls) <= 4
    assert all(call.name == "get_weather" for call in result.tool_calls)
    arguments = [call.arguments for call in result.tool_calls]
    assert all(args["city"] in ("Paris", "Rome", "Paris and in Rome") for args in arguments)
    assert len({str(sorted(a.items())) for a in arguments}) == len(arguments)


def test_default_reply_length_is_clipped_to_the_context(settings):
    from townsquare.llm.runtime import LLM as Runtime

    small = Runtime(EmbeddedLLM(n_ctx=64, queue_size=1), settings.__class__(**{**settings.__dict__,
                                                                                "llm_max_tokens": 512}))
    result = small.chat(HELLO)  # 512 default tokens do not fit in 64: clipped, not an error
    assert result.usage.prompt_tokens + result.usage.completion_tokens <= 64
    with pytest.raises(InvalidInput, match="context window"):
        small.chat(HELLO, max_tokens=512)


def test_several_calls_and_other_languages_on_the_real_model(llm):
    tools = TOOLS + [{"type": "function", "function": {"name": "follow", "description": "Follow a person on Townsquare.",
                      "parameters": {"type": "object", "properties": {"handle": {"type": "string"}},
                                     "required": ["handle"]}}}]
    result = llm.chat_with_tools([{"role": "user", "content": "follow @ana and @ben"}], tools)
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("follow", {"handle": "@ana"}),
                                                                  ("follow", {"handle": "@ben"})]
    result = llm.chat_with_tools([{"role": "user", "content": "¿Qué tiempo hace en Sevilla?"}], tools, max_tokens=8)
    assert all(call.name == "get_weather" for call in result.tool_calls)  # a call or a text answer, no crash
    assert result.tool_calls or result.text
