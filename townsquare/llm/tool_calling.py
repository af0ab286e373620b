"""The tool-calling layer: makes even a 135M model call tools well-formed and mostly right.

For the embedded model (and for remote servers without native tools) a turn with tools runs:

1. **Relevance** (``tool_choice="auto"``): MiniLM similarity between the request and each tool's
   name + description; below a calibrated threshold no tool is called and the model answers in text.
2. **Selection**: the most similar tool (or the one ``tool_choice`` names).
3. **Arguments**, decoded under a grammar built from the tool's schema (``ArgumentsGrammar``) so the
   call always parses and validates: required arguments always present, enums as listed, booleans,
   numbers and strings of the right type. Type-aware *grounding* narrows values further: strings are
   spans copied from the user's message, numbers are numbers that appear in it (when it has any), and
   optional arguments are offered only when the message holds a value for them (an enum value it
   mentions, or a number not needed by the required ones), otherwise defaults are left to the tool.
4. **Prompt**: a short instruction plus our own few-shot examples (not from any benchmark) in the
   model's chat format; the examples come first so llama.cpp reuses their cached prefix.
5. **Self-check**: the call is validated against the original schema; if grounding made it invalid
   (e.g. a pattern), it is decoded again with the plain type grammar.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.llm.grammar import ArgumentsGrammar, Grounding
from townsquare.llm.tools import Tool, ToolRouter, check_call
from townsquare.llm.types import ChatResult, Message, ToolCall, Usage

SYSTEM_PROMPT = ("You fill in function arguments. Read the request and write the arguments of the function "
                 "as JSON, copying values from the request. Leave out optional arguments the request does "
                 "not mention.")

# Our own examples, written for this layer (none come from a benchmark).
FEW_SHOT: list[tuple[Tool, str, dict[str, Any]]] = [
    (Tool("get_weather", "Get the current weather in a city.",
          {"type": "object", "properties": {
              "city": {"type": "string", "description": "Name of the city."},
              "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit."}},
           "required": ["city"]}),
     "How warm is it in Lisbon right now, in fahrenheit?", {"city": "Lisbon", "unit": "fahrenheit"}),
    (Tool("book_table", "Reserve a table at a restaurant.",
          {"type": "object", "properties": {
              "restaurant": {"type": "string", "description": "Restaurant name."},
              "people": {"type": "integer", "description": "Number of guests."},
              "time": {"type": "string", "description": "Time of the booking."},
              "notes": {"type": "string", "description": "Special requests. Optional."}},
           "required": ["restaurant", "people", "time"]}),
     "Please book a table for 4 people at Casa Nova at 7pm.", {"restaurant": "Casa Nova", "people": 4, "time": "7pm"}),
    (Tool("compound_interest", "Compute the final amount of an investment with compound interest.",
          {"type": "object", "properties": {
              "principal": {"type": "number", "description": "Initial amount."},
              "rate": {"type": "number", "description": "Yearly interest rate as a decimal."},
              "years": {"type": "integer", "description": "Number of years."},
              "times_per_year": {"type": "integer", "description": "Compounding periods per year. Default 1."}},
           "required": ["principal", "rate", "years"]}),
     "If I put 1500 dollars in at 0.04 interest for 6 years, what will I have?",
     {"principal": 1500, "rate": 0.04, "years": 6}),
]


def describe_tool(tool: Tool) -> str:
    """A compact, model-friendly description of one tool."""
    lines = [f"Function: {tool.name}", f"Description: {tool.description}", "Arguments:"]
    required = set(tool.required)
    for name, prop in tool.properties.items():
        kind = prop.get("type", "any") if isinstance(prop, dict) else "any"
        if isinstance(prop, dict) and prop.get("enum"):
            kind = "one of " + ", ".join(json.dumps(v) for v in prop["enum"])
        elif kind == "array" and isinstance(prop.get("items"), dict):
            kind = f"list of {prop['items'].get('type', 'any')}"
        flag = "required" if name in required else "optional"
        desc = prop.get("description", "") if isinstance(prop, dict) else ""
        lines.append(f"- {name} ({kind}, {flag}): {desc}".rstrip())
    return "\n".join(lines)


def _user_turn(tool: Tool, request: str) -> str:
    return f"{describe_tool(tool)}\nRequest: {request}"


def last_user_text(messages: list[Message]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content") or ""
            if isinstance(content, list):
                content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content)
    return ""


def _normalised(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


# Units of measure: an optional "unit"-like argument is offered when the message names one.
UNIT_WORDS = {
    "mm", "cm", "m", "km", "meter", "meters", "metre", "metres", "kilometers", "kilometres", "inch", "inches",
    "foot", "feet", "yard", "yards", "mile", "miles", "kg", "g", "gram", "grams", "kilograms", "pound", "pounds",
    "lb", "lbs", "ounce", "ounces", "oz", "liter", "liters", "litre", "litres", "ml", "gallon", "gallons",
    "celsius", "fahrenheit", "kelvin", "second", "seconds", "minute", "minutes", "hour", "hours", "day", "days",
    "week", "weeks", "month", "months", "year", "years", "usd", "eur", "gbp", "dollars", "euros", "degrees",
    "radians", "mph", "kph", "kmh", "units", "square", "cubic", "percent", "joules", "watts", "newtons", "hz",
}
_QUOTED = re.compile(r"""['"‘“]([^'"’”]{1,40})['"’”]""")


def described_values(prop: dict[str, Any]) -> list[str]:
    """Values an argument's schema names: its enum, and values quoted in its description."""
    values = [str(v) for v in prop.get("enum") or []]
    values += _QUOTED.findall(str(prop.get("description", "")))
    return values


def grounded_optional(tool: Tool, grounding: Grounding) -> list[str]:
    """Optional arguments the message gives a value for; the others keep the tool's defaults.

    Offered: an enum or a value quoted in the description that the message mentions; a number when the
    message has more numbers than the required numeric arguments use; a unit-like argument when the
    message names a unit of measure. The model still decides whether and how to fill each one.
    """
    text = f" {_normalised(grounding.text)} "
    words = set(text.split())
    numeric_needed = sum(1 for name in tool.required
                         if (tool.properties.get(name) or {}).get("type") in ("integer", "number"))
    spare_numbers = len(grounding.numbers) > numeric_needed
    chosen = []
    for name, prop in tool.properties.items():
        if name in tool.required or not isinstance(prop, dict):
            continue
        kind = prop.get("type")
        mentioned = [v for v in described_values(prop) if _normalised(v) and f" {_normalised(v)} " in text]
        if mentioned and (prop.get("enum") or kind in ("string", None)):
            chosen.append(name)
        elif kind in ("integer", "number") and spare_numbers:
            chosen.append(name)
        elif kind == "string" and "unit" in name.lower() and words & UNIT_WORDS:
            chosen.append(name)
    return chosen


def _can_ground_numbers(tool: Tool, grounding: Grounding) -> bool:
    """False when the tool needs numbers and the message has none: the request names no values to
    call it with (e.g. a question about the formula), so a call could only invent them."""
    needs = [name for name in tool.required if (tool.properties.get(name) or {}).get("type") in ("integer", "number")
             and not (tool.properties.get(name) or {}).get("enum")]
    return not needs or bool(grounding.numbers)


def _dedupe_lists(value: Any) -> Any:
    """Small models repeat list items; a repeated string item is never what was asked for."""
    if isinstance(value, dict):
        return {key: _dedupe_lists(item) for key, item in value.items()}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(dict.fromkeys(value))
    return value


@dataclass
class ToolLayerConfig:
    relevance_threshold: float = 0.33
    max_calls: int = 4  # per turn, when parallel calls are allowed
    args_max_tokens: int = 160


class ToolCaller:
    """Grammar-constrained, grounded tool calling on a model we can constrain (``backend.chat(grammar=)``)."""

    def __init__(self, backend: Any, router: ToolRouter, config: ToolLayerConfig | None = None) -> None:
        self.backend = backend
        self.router = router
        self.config = config or ToolLayerConfig(relevance_threshold=router.threshold)

    def few_shot_messages(self) -> list[Message]:
        messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for tool, request, arguments in FEW_SHOT:
            messages.append({"role": "user", "content": _user_turn(tool, request)})
            messages.append({"role": "assistant", "content": json.dumps(arguments)})
        return messages

    def select(self, messages: list[Message], tools: list[Tool], mode: str, forced: str | None
               ) -> tuple[Tool | None, list[tuple[Tool, float]]]:
        """Which tool to call (None = answer in text), and the relevance ranking behind the choice."""
        if mode == "none" or not tools:
            return None, []
        if forced:
            return next(tool for tool in tools if tool.name == forced), []
        query = last_user_text(messages)
        if mode == "auto" and (not query or messages[-1].get("role") == "tool"):
            return None, []  # after a tool result, a small model should answer, not call again
        ranking = self.router.rank(query, tools)
        best, score = ranking[0]
        if mode == "auto" and (score < self.config.relevance_threshold
                               or not _can_ground_numbers(best, Grounding.from_text(query))):
            return None, ranking
        return best, ranking

    def arguments(self, tool: Tool, request: str, parallel: bool, grounded: bool = True) -> tuple[list[dict], Usage]:
        grounding = Grounding.from_text(request) if grounded else None
        builder = ArgumentsGrammar(grounding)
        include = grounded_optional(tool, grounding) if grounding else None
        args_rule = builder.arguments(tool.parameters, include=include)
        root = f'{args_rule} ("\\n" {args_rule}){{0,{self.config.max_calls - 1}}}' if parallel else args_rule
        grammar = builder.render(root)
        messages = self.few_shot_messages() + [{"role": "user", "content": _user_turn(tool, request)}]
        result = self.backend.chat(messages, grammar=grammar, temperature=0.0, clip=True,
                                   max_tokens=self.config.args_max_tokens * (self.config.max_calls if parallel else 1))
        calls = []
        for line in result.text.splitlines():
            line = line.strip()
            if not line:
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue  # cut off by max_tokens
            if isinstance(value, dict):
                value = _dedupe_lists(value)
                if value not in calls:
                    calls.append(value)
        return calls, result.usage

    def call(self, messages: list[Message], tools: list[Tool], mode: str = "auto", forced: str | None = None,
             parallel: bool = True, respond: bool = True, max_tokens: int | None = None,
             temperature: float = 0.0, clip: bool = False) -> ChatResult:
        tool, _ranking = self.select(messages, tools, mode, forced)
        if tool is None:
            if not respond:
                return ChatResult(text="", finish_reason="stop", model=self.backend.name)
            return self.backend.chat(messages, max_tokens=max_tokens, temperature=temperature, clip=clip)
        request = last_user_text(messages)
        arguments, usage = self.arguments(tool, request, parallel)
        calls = []
        for args in arguments:
            call = ToolCall(name=tool.name, arguments=args)
            try:
                check_call(call, tools)
            except InvalidInput:
                # Grounding can clash with a schema detail (a pattern, a minimum): decode by type only.
                retry, _ = self.arguments(tool, request, parallel=False, grounded=False)
                if not retry:
                    continue
                call = ToolCall(name=tool.name, arguments=retry[0])
                check_call(call, tools)
            calls.append(call)
        if not calls:
            raise InvalidInput(f"the model could not produce arguments for {tool.name!r} within the token limit")
        return ChatResult(text="", tool_calls=calls, finish_reason="tool_calls", usage=usage,
                          model=self.backend.name)
