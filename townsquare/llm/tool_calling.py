"""The tool-calling layer: makes even a 135M model call tools well-formed and grounded in the request.

For the embedded model (and for remote servers without native tools) a turn with tools runs:

1. **Plan** (``parallel_tool_calls=True``): the request is split into clauses (``multicall.clauses``);
   the split is kept only when every clause selects a tool and can fill its required arguments on its
   own, so "follow @ana and @ben" is two calls and "area with base 10 and height 5" one.
2. **Relevance gate** (``tool_choice="auto"``): MiniLM similarity between the request and each tool's
   name + description; below a calibrated threshold no tool is called and the model answers in text.
   A tool that needs numbers is not called for a request that writes none (the request is *about*
   the tool's subject and gives nothing to call it with).
3. **Selection**: the most similar tool (or the one ``tool_choice`` names).
4. **Arguments**, decoded under a grammar built from the tool's schema (``ArgumentsGrammar``) so the
   call always parses: required arguments always present, enums as listed, types as declared. The
   grounders (``grounders.py``) narrow each argument to the values the request gives (spans, numbers,
   dates, currencies, enum values it names, ...) and decide which optional arguments are filled.
5. **Prompt**: a short instruction plus our own few-shot examples (not from any benchmark) in the
   model's chat format; the examples come first so llama.cpp reuses their cached prefix.
6. **Self-checks**: a number written once fills one argument, one phrase fills one free-text
   argument (decoded again without the repeat; in ``auto`` mode a call that still repeats is not
   made); list items are not repeated; the call is validated against the original schema and, if
   grounding made it invalid (a pattern, a minimum), decoded again with the plain type grammar.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.llm.grammar import ArgumentsGrammar
from townsquare.llm.grounders import Argument, Offer, ground, parse_grounders
from townsquare.llm.multicall import clauses, has_value, refers_back
from townsquare.llm.request import Request, plain
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

# A request longer than this is read by its beginning and its end (a prompt and a grammar must fit).
MAX_REQUEST_CHARS = 2000


def _kind(prop: Any) -> str:
    if not isinstance(prop, dict):
        return "any"
    if prop.get("enum"):
        return "one of " + ", ".join(json.dumps(v) for v in prop["enum"][:20])
    kind = prop.get("type", "any")
    if kind == "array" and isinstance(prop.get("items"), dict):
        return f"list of {_kind(prop['items'])}"
    if kind == "object" and isinstance(prop.get("properties"), dict):
        return "object with " + ", ".join(list(prop["properties"])[:10])
    return str(kind)


def describe_tool(tool: Tool) -> str:
    """A compact, model-friendly description of one tool."""
    lines = [f"Function: {tool.name}", f"Description: {tool.description or tool.name}", "Arguments:"]
    required = set(tool.required)
    for name, prop in tool.properties.items():
        flag = "required" if name in required else "optional"
        desc = prop.get("description", "") if isinstance(prop, dict) else ""
        lines.append(f"- {name} ({_kind(prop)}, {flag}): {desc}".rstrip())
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


def clip_request(text: str) -> str:
    """A request of at most ``MAX_REQUEST_CHARS``: its beginning and its end when longer."""
    if len(text) <= MAX_REQUEST_CHARS:
        return text
    half = MAX_REQUEST_CHARS // 2
    return text[:half].rsplit(" ", 1)[0] + " ... " + text[-half:].split(" ", 1)[-1]


def arguments_of(tool: Tool) -> list[Argument]:
    return [Argument(name, prop if isinstance(prop, dict) else {}, name in tool.required, tool.required,
                     tool.properties, tool.name) for name, prop in tool.properties.items()]


def _overlaps(value: Any, avoided: Any) -> bool:
    """The same value, or for text, one phrase inside the other ("Ana" and "Ana Lima")."""
    if isinstance(value, str) and isinstance(avoided, str) and plain(value) and plain(avoided):
        mine, other = f" {plain(value)} ", f" {plain(avoided)} "
        return mine in other or other in mine
    return value == avoided


def _free_text(prop: Any) -> bool:
    return isinstance(prop, dict) and prop.get("type") in ("string", None) and not prop.get("enum")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dedupe_lists(value: Any) -> Any:
    """Small models repeat list items; a repeated item is never what was asked for."""
    if isinstance(value, dict):
        return {key: _dedupe_lists(item) for key, item in value.items()}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(dict.fromkeys(value))
    return value


@dataclass
class Plan:
    """What the grounders make of one tool and one request: per-argument offers, the optional arguments
    that may appear, and those that must (the request states their value)."""

    offers: dict[str, Offer] = field(default_factory=dict)
    include: list[str] = field(default_factory=list)
    required: list[str] = field(default_factory=list)


@dataclass
class ToolLayerConfig:
    relevance_threshold: float = 0.33
    max_calls: int = 4  # per turn, when parallel calls are allowed
    args_max_tokens: int = 160
    grounders: list[str] | None = None  # None: every grounder (grounders.GROUNDERS)


class ToolCaller:
    """Grammar-constrained, grounded tool calling on a model we can constrain (``backend.chat(grammar=)``)."""

    def __init__(self, backend: Any, router: ToolRouter | None, config: ToolLayerConfig | None = None) -> None:
        self.backend = backend
        self.router = router
        self.config = config or ToolLayerConfig(relevance_threshold=router.threshold if router else 0.33)
        self.grounders = parse_grounders(self.config.grounders)

    def few_shot_messages(self) -> list[Message]:
        messages: list[Message] = [{"role": "system", "content": SYSTEM_PROMPT}]
        for tool, request, arguments in FEW_SHOT:
            messages.append({"role": "user", "content": _user_turn(tool, request)})
            messages.append({"role": "assistant", "content": json.dumps(arguments)})
        return messages

    # --- which tool ---------------------------------------------------------------------------------
    def rank(self, request: str, tools: list[Tool]) -> list[tuple[Tool, float]]:
        if self.router is None:
            return [(tool, 1.0) for tool in tools]
        return self.router.rank(request, tools)

    def select(self, request: str, tools: list[Tool], mode: str, forced: str | None
               ) -> tuple[Tool | None, float]:
        """The tool to call for ``request`` (None: answer in text) and its relevance."""
        if forced:
            return next(tool for tool in tools if tool.name == forced), 1.0
        best, score = self.rank(request, tools)[0]
        if mode == "auto" and (score < self.config.relevance_threshold or not self.fits(best, request)):
            return None, score
        return best, score

    def fits(self, tool: Tool, request: str) -> bool:
        """Whether ``request`` gives what the tool needs: at least as many numbers as it has required
        numeric arguments (a request *about* a formula gives none), and some text for its required
        free-text arguments."""
        req = Request.of(request)
        numeric = [name for name in tool.required if (tool.properties.get(name) or {}).get("type")
                   in ("integer", "number") and not (tool.properties.get(name) or {}).get("enum")]
        if numeric and len(req.numbers) < (1 if len(numeric) == 1 else 2):
            return False
        texts = [name for name in tool.required if (tool.properties.get(name) or {}).get("type") == "string"
                 and not (tool.properties.get(name) or {}).get("enum")]
        return not texts or bool(req.spans())

    # --- which values -------------------------------------------------------------------------------
    def plan(self, tool: Tool, request: str, avoid: dict[str, list[Any]] | None = None) -> Plan:
        req = Request.of(request)
        plan = Plan(required=list(tool.required))
        for arg in arguments_of(tool):
            offer = ground(arg, req, self.grounders)
            if offer is None:
                continue
            kept = [v for v in offer.values if not any(_overlaps(v, a) for a in (avoid or {}).get(arg.name, []))]
            offer.values = kept or offer.values
            plan.offers[arg.name] = offer
            if not arg.required and offer.fill in ("must", "may"):
                plan.include.append(arg.name)
                if offer.fill == "must":
                    plan.required.append(arg.name)
        return plan

    def decode(self, tool: Tool, request: str, grounded: bool = True, avoid: dict[str, list[Any]] | None = None
               ) -> tuple[dict[str, Any] | None, Usage]:
        """One arguments object decoded under the (grounded) grammar; None if cut off."""
        if grounded:
            plan = self.plan(tool, request, avoid)
            builder = ArgumentsGrammar(plan.offers)
            rule = builder.arguments(tool.parameters, include=plan.include,
                                     required=[n for n in tool.properties if n in plan.required])
        else:
            builder = ArgumentsGrammar()
            rule = builder.arguments(tool.parameters, include=None)
        messages = self.few_shot_messages() + [{"role": "user", "content": _user_turn(tool, request)}]
        result = self.backend.chat(messages, grammar=builder.render(rule), temperature=0.0, clip=True,
                                   max_tokens=self.config.args_max_tokens)
        try:
            value = json.loads(result.text)
        except json.JSONDecodeError:
            return None, result.usage  # cut off by max_tokens
        return (_dedupe_lists(value) if isinstance(value, dict) else None), result.usage

    def arguments(self, tool: Tool, request: str) -> tuple[dict[str, Any] | None, bool, Usage]:
        """Decoded arguments, whether they passed the self-checks, and the tokens used.

        Self-checks: a number the request writes once fills one argument, and a phrase fills one
        free-text argument. An optional argument that repeats is left out (the tool's default); for a
        required one, the arguments are decoded again with the repeated value taken out of the later
        argument's offer (once)."""
        usage = Usage()
        avoid: dict[str, list[Any]] = {}
        args: dict[str, Any] | None = None
        req = Request.of(request)
        for _attempt in range(2):
            args, used = self.decode(tool, request, avoid=avoid)
            usage = Usage(usage.prompt_tokens + used.prompt_tokens, usage.completion_tokens + used.completion_tokens)
            if args is None:
                return None, False, usage
            repeats = self.repeats(tool, args, req)
            for name in [name for name in repeats if name not in tool.required]:
                args.pop(name, None)
                repeats.pop(name)
            if not repeats:
                return args, True, usage
            for name, values in repeats.items():
                avoid.setdefault(name, []).extend(values)
        return args, False, usage

    def repeats(self, tool: Tool, args: dict[str, Any], req: Request) -> dict[str, list[Any]]:
        """Arguments whose value an earlier argument already took from one place of the request: a
        number written once, or the same (or an enclosing) phrase for two free-text arguments."""
        written = [v for n in req.numbers for v in n.readings]
        seen_numbers: list[Any] = []
        seen_texts: list[str] = []
        out: dict[str, list[Any]] = {}
        for name, value in args.items():
            if _is_number(value):
                if value in seen_numbers and written.count(value) < 2:
                    out.setdefault(name, []).append(value)
                seen_numbers.append(value)
            elif isinstance(value, str) and _free_text(tool.properties.get(name)) and plain(value):
                mine = f" {plain(value)} "
                if any(mine in f" {other} " or f" {other} " in mine for other in seen_texts):
                    out.setdefault(name, []).append(value)
                seen_texts.append(plain(value))
        return out

    # --- the turn ------------------------------------------------------------------------------------
    def plan_calls(self, request: str, tools: list[Tool], mode: str, forced: str | None
                   ) -> list[tuple[Tool, str]] | None:
        """Several (tool, clause) pairs when the request is several requests, else None.

        A split is kept only when every clause selects a tool (a clause too short to select one, such as
        "and @ben", continues with the previous clause's tool when it carries a value of its own) and
        can fill that tool's required arguments on its own (a clause that refers back, "who wrote it",
        may also use the clause before it); a tool taking a list keeps the request whole."""
        parts = clauses(request)
        if len(parts) < 2:
            return None
        whole, _ = self.select(request, tools, mode, forced)
        if whole is not None and any(isinstance(p, dict) and p.get("type") == "array" for p in whole.properties.values()):
            return None  # "tag it jazz and blues": one call with a list
        planned: list[tuple[Tool, str]] = []
        previous: Tool | None = None
        for k, part in enumerate(parts):
            if forced:
                tool: Tool | None = next(t for t in tools if t.name == forced)
            else:
                tool, score = self.rank(part, tools)[0]
                if mode == "auto" and score < self.config.relevance_threshold:
                    tool = previous if previous is not None and has_value(part) else None
            if tool is None:
                return None
            text = part
            if not self.fits(tool, part):
                if k and refers_back(part) and self.fits(tool, f"{parts[k - 1]}. {part}"):
                    text = f"{parts[k - 1]}. {part}"
                else:
                    return None
            planned.append((tool, text))
            previous = tool
        return planned[: self.config.max_calls]

    def call(self, messages: list[Message], tools: list[Tool], mode: str = "auto", forced: str | None = None,
             parallel: bool = True, respond: bool = True, max_tokens: int | None = None,
             temperature: float = 0.0, clip: bool = False) -> ChatResult:
        def answer() -> ChatResult:
            if not respond:
                return ChatResult(text="", finish_reason="stop", model=self.backend.name)
            return self.backend.chat(messages, max_tokens=max_tokens, temperature=temperature, clip=clip)

        request = clip_request(last_user_text(messages))
        if mode == "none" or not tools:
            return answer()
        if mode == "auto" and (not request.strip() or messages[-1].get("role") == "tool"):
            return answer()  # after a tool result, a small model should answer, not call again
        planned = self.plan_calls(request, tools, mode, forced) if parallel else None
        if planned is None:
            tool, _score = self.select(request, tools, mode, forced)
            if tool is None:
                return answer()
            planned = [(tool, request)]
        calls: list[ToolCall] = []
        usage = Usage()
        for tool, text in planned:
            args, clean, used = self.arguments(tool, text)
            usage = Usage(usage.prompt_tokens + used.prompt_tokens, usage.completion_tokens + used.completion_tokens)
            if mode == "auto" and not clean:
                continue  # one value cannot be two things: the request does not give what the tool needs
            call = ToolCall(name=tool.name, arguments=args or {})
            try:
                if args is None:
                    raise InvalidInput("cut off")
                check_call(call, tools)
            except InvalidInput:
                # Grounding can clash with a schema detail (a pattern, a minimum): decode by type only.
                retry, _ = self.decode(tool, text, grounded=False)
                if retry is None:
                    continue
                call = ToolCall(name=tool.name, arguments=retry)
                try:
                    check_call(call, tools)
                except InvalidInput:
                    continue
            if all(call.name != c.name or call.arguments != c.arguments for c in calls):
                calls.append(call)
        if not calls:
            if mode == "auto":
                return answer()
            raise InvalidInput(f"the model could not produce valid arguments for {planned[0][0].name!r}")
        return ChatResult(text="", tool_calls=calls, finish_reason="tool_calls", usage=usage,
                          model=self.backend.name)
