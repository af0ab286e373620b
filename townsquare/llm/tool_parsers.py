"""Parsers for the tool-call formats that open models write in plain text.

- Llama 3.1 / 3.3 JSON: ``{"name": "f", "parameters": {...}}`` (or ``"arguments"``), optionally after
  ``<|python_tag|>``, several separated by ``;`` or new lines, ending with ``<|eom_id|>``/``<|eot_id|>``.
- Llama 3.2 pythonic: ``[get_weather(city="Paris"), get_time(tz="CET")]``.
- Hermes / Qwen style: ``<tool_call>{"name": "f", "arguments": {...}}</tool_call>`` (repeated).

``parse_tool_calls(text)`` tries each and returns ``(remaining_text, calls)``; text with no call
returns ``(text, [])``. Nothing here raises on malformed model output: a broken call is left as text.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from townsquare.llm.types import ToolCall

_LLAMA_SPECIAL = ("<|python_tag|>", "<|eom_id|>", "<|eot_id|>", "<|end_of_text|>", "<|im_end|>")
_HERMES = re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.DOTALL)


def _call_from_obj(obj: Any) -> ToolCall | None:
    if not isinstance(obj, dict):
        return None
    if "function" in obj and isinstance(obj["function"], dict):  # OpenAI-shaped item
        obj = obj["function"]
    name = obj.get("name")
    args = obj.get("arguments", obj.get("parameters", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError:
            return None
    if not isinstance(name, str) or not name or not isinstance(args, dict):
        return None
    return ToolCall(name=name, arguments=args)


def _json_values(text: str) -> tuple[list[Any], str]:
    """Every top-level JSON value in ``text`` (objects/arrays), and the text left around them."""
    decoder = json.JSONDecoder()
    values, rest, i = [], [], 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                rest.append(text[i])
                i += 1
                continue
            values.append(value)
            i = end
        else:
            rest.append(text[i])
            i += 1
    return values, "".join(rest)


def parse_hermes(text: str) -> tuple[str, list[ToolCall]]:
    calls: list[ToolCall] = []
    if "<tool_call>" not in text:
        return text, calls
    for body in _HERMES.findall(text):
        try:
            call = _call_from_obj(json.loads(body))
        except json.JSONDecodeError:
            call = None
        if call:
            calls.append(call)
    remaining = _HERMES.sub("", text).strip() if calls else text
    return remaining, calls


def parse_llama_json(text: str) -> tuple[str, list[ToolCall]]:
    """Llama 3.1/3.3 JSON tool calls (with or without ``<|python_tag|>``)."""
    stripped = text
    for token in _LLAMA_SPECIAL:
        stripped = stripped.replace(token, "\n")
    stripped = re.sub(r"^\s*```(?:json)?|```\s*$", "", stripped.strip())
    values, rest = _json_values(stripped)
    calls: list[ToolCall] = []
    for value in values:
        items = value if isinstance(value, list) else [value]
        for item in items:
            call = _call_from_obj(item)
            if call is None:
                return text, []  # some JSON that is not a call: treat the whole reply as text
            calls.append(call)
    if not calls:
        return text, []
    leftover = rest.replace(";", " ").strip()
    return leftover, calls


def _literal(node: ast.AST) -> Any:
    if isinstance(node, ast.Name):  # true/false/null spelled the JSON way
        lookup = {"true": True, "false": False, "null": None, "none": None}
        if node.id.lower() in lookup:
            return lookup[node.id.lower()]
        raise ValueError(f"bare name {node.id}")
    return ast.literal_eval(node)


def parse_pythonic(text: str) -> tuple[str, list[ToolCall]]:
    """Llama 3.2 pythonic calls: ``[f(a=1, b="x"), g()]`` (brackets optional for one call)."""
    body = text
    for token in _LLAMA_SPECIAL:
        body = body.replace(token, "")
    body = body.strip().strip("`").strip()
    if body.startswith("python\n"):
        body = body[len("python\n"):]
    if not body or not re.match(r"^\[?\s*[A-Za-z_][\w.]*\s*\(", body):
        return text, []
    try:
        tree = ast.parse(body if body.startswith("[") else f"[{body}]", mode="eval")
    except SyntaxError:
        return text, []
    if not isinstance(tree.body, ast.List):
        return text, []
    calls: list[ToolCall] = []
    for element in tree.body.elts:
        if not isinstance(element, ast.Call) or element.args:
            return text, []
        try:
            name = ast.unparse(element.func)
            arguments = {kw.arg: _literal(kw.value) for kw in element.keywords if kw.arg}
        except (ValueError, SyntaxError, TypeError):
            return text, []
        calls.append(ToolCall(name=name, arguments=arguments))
    return "", calls


def parse_tool_calls(text: str) -> tuple[str, list[ToolCall]]:
    """Find tool calls in any of the supported formats; return ``(text without calls, calls)``."""
    for parser in (parse_hermes, parse_pythonic, parse_llama_json):
        remaining, calls = parser(text)
        if calls:
            return remaining, calls
    return text, []
