"""Grammar construction, grounding, tool normalisation and validation (no model needed)."""

import pytest

from townsquare.errors import InvalidInput
from townsquare.llm.grammar import ArgumentsGrammar, Grounding, normalise_schema, numbers_in
from townsquare.llm.tool_calling import grounded_optional
from townsquare.llm.tools import check_call, normalise_tools, parse_tool_choice
from townsquare.llm.types import ToolCall, UnknownTool

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}


def test_numbers_in_text():
    assert numbers_in("a base of 10 units, height 5.5 and -3 more") == [10, 5.5, -3]
    assert numbers_in("costs $1,200 at 5% for two years") == [1200, 5, 0.05, 2]
    assert numbers_in("no numbers here") == []


def test_normalise_loose_schema_types():
    schema = normalise_schema({"type": "dict", "properties": {"x": {"type": "float", "optional": True},
                                                               "y": {"type": "tuple", "items": {"type": "any"}}}})
    assert schema == {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "array", "items": {}}}}


def _parses(grammar_text: str) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(grammar_text, verbose=False)  # raises on a malformed grammar


def test_arguments_grammar_is_valid_gbnf_grounded_and_not():
    tool = normalise_tools([WEATHER])[0]
    for grounding in (None, Grounding.from_text('Weather in "New York" for 3 days, in celsius?')):
        builder = ArgumentsGrammar(grounding)
        text = builder.render(builder.arguments(tool.parameters))
        _parses(text)
        assert '"\\"city\\": "' in text
    grounded = ArgumentsGrammar(Grounding.from_text("Weather in New York for 3 days"))
    text = grounded.render(grounded.arguments(tool.parameters))
    assert '"\\"New York\\""' in text and '"3"' in text


def test_optional_arguments_offered_only_when_the_message_has_a_value():
    tool = normalise_tools([WEATHER])[0]
    assert grounded_optional(tool, Grounding.from_text("Weather in Oslo")) == {}
    assert grounded_optional(tool, Grounding.from_text("Weather in Oslo for 3 days in Fahrenheit")) == {
        "days": None, "unit": ["fahrenheit"]}  # any grounded number; only the unit it names


def test_invalid_tools_are_rejected():
    with pytest.raises(InvalidInput):
        normalise_tools([{"type": "function", "function": {"name": "bad name!", "parameters": {}}}])
    with pytest.raises(InvalidInput):
        normalise_tools([{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "nope"}}}}])
    with pytest.raises(InvalidInput):
        normalise_tools([{"name": "f", "parameters": {"type": "string"}}])
    with pytest.raises(InvalidInput):
        normalise_tools([WEATHER, WEATHER])


def test_check_call_rejects_unknown_tools_and_bad_arguments():
    tools = normalise_tools([WEATHER])
    check_call(ToolCall("get_weather", {"city": "Oslo", "unit": "celsius"}), tools)
    with pytest.raises(UnknownTool, match="does not exist"):
        check_call(ToolCall("delete_everything", {}), tools)
    with pytest.raises(InvalidInput):
        check_call(ToolCall("get_weather", {"unit": "kelvin"}), tools)


def test_tool_choice_forms():
    tools = normalise_tools([WEATHER])
    assert parse_tool_choice("auto", tools) == ("auto", None)
    assert parse_tool_choice(None, tools) == ("auto", None)
    assert parse_tool_choice({"type": "function", "function": {"name": "get_weather"}}, tools) == ("required", "get_weather")
    assert parse_tool_choice("required", []) == ("none", None)
    with pytest.raises(UnknownTool):
        parse_tool_choice("nope", tools)


def test_number_lists_are_runs_of_the_message_numbers():
    grounding = Grounding.from_text("NPV of cash_flows=[200,300,400,500] at 10%, plus 50 million")
    assert grounding.sequence == [200, 300, 400, 500, 10, 50_000_000]
    assert 50 not in grounding.numbers  # "50 million" is offered as scaled only
    builder = ArgumentsGrammar(grounding)
    rule = builder.value({"type": "array", "items": {"type": "integer"}}, "flows")
    assert '"[200, 300, 400, 500]"' in rule and '"[300, 400]"' in rule
    assert '"[200, 200]"' not in rule  # no repeats that the message does not have
    _parses(builder.render(builder.arguments({"type": "object", "properties": {
        "flows": {"type": "array", "items": {"type": "number"}}}, "required": ["flows"]})))


def test_letter_suffixes_keep_the_written_reading():
    assert numbers_in("heat it from 298K to 400K") == [298_000, 298, 400_000, 400]
    assert Grounding.from_text("from 298K to 400K").sequence == [298, 400]
