"""Grammar construction, grounding, tool normalisation and validation (no model needed)."""

import pytest

from townsquare.errors import InvalidInput
from townsquare.llm.grammar import ArgumentsGrammar, normalise_schema
from townsquare.llm.grounders import Offer
from townsquare.llm.tools import check_call, normalise_tools, parse_tool_choice
from townsquare.llm.types import ToolCall, UnknownTool

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "Weather in a city",
    "parameters": {"type": "object", "properties": {
        "city": {"type": "string"}, "days": {"type": "integer"},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}, "required": ["city"]}}}


def test_normalise_loose_schema_types():
    schema = normalise_schema({"type": "dict", "properties": {"x": {"type": "float", "optional": True},
                                                               "y": {"type": "tuple", "items": {"type": "any"}}}})
    assert schema == {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "array", "items": {}}}}


def _parses(grammar_text: str) -> None:
    from llama_cpp import LlamaGrammar

    LlamaGrammar.from_string(grammar_text, verbose=False)  # raises on a malformed grammar


def test_arguments_grammar_is_valid_gbnf_with_offers_and_without():
    tool = normalise_tools([WEATHER])[0]
    plain_grammar = ArgumentsGrammar()
    _parses(plain_grammar.render(plain_grammar.arguments(tool.parameters)))
    offered = ArgumentsGrammar({"city": Offer(["New York", "York"]), "days": Offer([3])})
    text = offered.render(offered.arguments(tool.parameters, include=["days"], required=["city", "days"]))
    _parses(text)
    assert '"\\"New York\\""' in text and '"3"' in text
    assert "unit" not in text  # an optional argument not included does not appear


def test_nested_objects_and_arrays_of_objects_get_a_type_grammar():
    schema = normalise_schema({"type": "dict", "properties": {
        "address": {"type": "dict", "properties": {"street": {"type": "string"}, "zip": {"type": "integer"}},
                    "required": ["street"]},
        "items": {"type": "array", "items": {"type": "object", "properties": {"sku": {"type": "string"}}}},
        "anything": {}}, "required": ["address", "items"]})
    builder = ArgumentsGrammar()
    text = builder.render(builder.arguments(schema))
    _parses(text)
    assert "street" in text and "sku" in text


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
