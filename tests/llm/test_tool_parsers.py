"""Tool-call parsers on strings in the formats real models write."""

from townsquare.llm.tool_parsers import parse_hermes, parse_llama_json, parse_pythonic, parse_tool_calls


def test_llama31_json_with_python_tag():
    text = '<|python_tag|>{"name": "get_weather", "parameters": {"city": "San Francisco", "unit": "celsius"}}<|eom_id|>'
    rest, calls = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "San Francisco", "unit": "celsius"})]
    assert rest == ""


def test_llama33_json_without_tag_and_several_calls():
    text = ('{"name": "search_posts", "parameters": {"query": "jazz"}}; '
            '{"name": "follow", "parameters": {"account": "@ana"}}<|eot_id|>')
    _, calls = parse_llama_json(text)
    assert [c.name for c in calls] == ["search_posts", "follow"]
    assert calls[1].arguments == {"account": "@ana"}


def test_llama_json_arguments_key_and_string_arguments():
    _, calls = parse_llama_json('{"name": "f", "arguments": "{\\"x\\": 1}"}')
    assert calls[0].arguments == {"x": 1}


def test_llama32_pythonic_list():
    text = '[get_weather(city="Paris", days=3), get_time(timezone=\'CET\', exact=True)]<|eot_id|>'
    _, calls = parse_pythonic(text)
    assert [(c.name, c.arguments) for c in calls] == [
        ("get_weather", {"city": "Paris", "days": 3}), ("get_time", {"timezone": "CET", "exact": True})]


def test_pythonic_dotted_names_lists_and_json_literals():
    _, calls = parse_tool_calls('[math.hypot(x=4, y=5, values=[1, 2.5], flag=true, note=null)]')
    assert calls[0].name == "math.hypot"
    assert calls[0].arguments == {"x": 4, "y": 5, "values": [1, 2.5], "flag": True, "note": None}


def test_hermes_tags():
    text = ('Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
            '<tool_call>{"name": "get_time", "arguments": {"city": "Oslo"}}</tool_call><|im_end|>')
    rest, calls = parse_hermes(text)
    assert [c.name for c in calls] == ["get_weather", "get_time"]
    assert rest.startswith("Let me check.")


def test_plain_text_and_broken_calls_are_text():
    for text in ["The weather in Paris is sunny.", '{"answer": 42}', "[1, 2, 3]", "get_weather(city=",
                 "<tool_call>{not json}</tool_call>", 'print("hi")']:
        rest, calls = parse_tool_calls(text)
        assert calls == [], text
        assert rest == text


def test_call_ids_are_unique_and_openai_shape():
    _, calls = parse_tool_calls('[a(), b(x=1)]')
    assert calls[0].id != calls[1].id
    assert calls[1].to_openai()["function"] == {"name": "b", "arguments": '{"x": 1}'}
