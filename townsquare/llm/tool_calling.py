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
from townsquare.llm.grammar import NO_START_WORDS, ArgumentsGrammar, Grounding, number_mentions
from townsquare.llm.tools import Tool, ToolRouter, check_call
from townsquare.llm.types import ChatResult, Message, ToolCall, Usage
from townsquare.llm.values import is_currency_argument, is_date_argument, typed_values

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


_EXAMPLES = re.compile(r"\b(?:e\.g\.|eg\.|such as|for example|like)[,:]?\s+([^.;()]{1,80})", re.I)


def described_values(prop: dict[str, Any]) -> list[str]:
    """Values an argument's schema names: its enum (or its items' enum), values quoted in its
    description, and examples it lists ("e.g. vegan, gluten-free")."""
    items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
    values = [str(v) for v in prop.get("enum") or items.get("enum") or []]
    description = str(prop.get("description", ""))
    values += _QUOTED.findall(description)
    for examples in _EXAMPLES.findall(description):
        values += [v.strip(" '\"") for v in re.split(r",|\bor\b|\band\b|\betc\b", examples) if v.strip(" '\"")]
    return list(dict.fromkeys(values))


_DEFAULT = re.compile(r"default(?:s)?(?: value)?(?: is| to| of)?:?\s*['\"]?([\w .\-/]+?)['\"]?\s*(?:[.,;)]|$)", re.I)


def described_default(prop: dict[str, Any]) -> str | None:
    """The default value a description names ("Default is 'all'"), if any."""
    match = _DEFAULT.search(str(prop.get("description", "")))
    return match.group(1).strip() if match else None


def _value_words_at(value: str, words: list[str]) -> list[set[int]]:
    """Where the words of ``value`` stand in ``words`` (the positions each match covers), each word matched
    up to its ending ("detailed" for "in detail", "historical records" for "historical record"), with
    "and"/"or" allowed between them ("high_low_temperature" in "high and low temperatures")."""
    part = _words(value)
    found = []
    for i in range(len(words)):
        cover, k, j = set(), 0, i
        while k < len(part) and j < len(words):
            if _same_word(part[k], words[j]):
                cover.add(j)
                k, j = k + 1, j + 1
            elif k > 0 and words[j] in ("and", "or"):
                j += 1
            else:
                break
        if part and k == len(part):
            found.append(cover)
    return found


def mentioned_values(values: list[Any], text: str) -> list[Any]:
    """The values (of an enum, or named in a description) that ``text`` mentions, word for word up to
    word endings. A value written with the same letter case wins over one that differs only in case
    ("AA" vs "Aa"; a value of one or two letters counts only as written), and a value mentioned inside a
    longer one at the same place ("New" in "Like New") does not count."""
    words = _words(text)
    found: list[tuple[Any, set[int]]] = []
    for value in values:
        covers = _value_words_at(str(value), words)
        if covers:
            found.append((value, set().union(*covers)))
    if not found:
        return []
    exact = [(v, cover) for v, cover in found if re.search(rf"(?<!\w){re.escape(str(v))}(?!\w)", text)]
    found = [(v, cover) for v, cover in found if len(str(v)) > 2 or (v, cover) in exact]  # "A" is not "a"
    lowered = {str(v).lower() for v, _ in found}
    if exact and len(lowered) < len(found):  # values that differ only in case: keep those written as such
        found = exact
    found.sort(key=lambda item: min(item[1]))  # in the order the message says them
    return [v for v, cover in found
            if not any(cover < other for w, other in found if w is not v)]


def _said_for(name: str, prop: dict[str, Any], value: str, message: list[str]) -> bool:
    """A value the message mentions counts for an argument, except its default ("find all movies" is no
    request for category 'all'), which counts only when said next to the argument's name ("Darwin model")."""
    if _normalised(value) != _normalised(described_default(prop) or ""):
        return True
    name_words = [w for w in _words(name) if w not in _FLAG_FILLER and len(w) > 2]
    at = [i for i, w in enumerate(message) if w == _normalised(value).split()[0]]
    return any(_same_word(n, w) for i in at for w in message[max(0, i - 3):i + 4] for n in name_words)


def described_mentions(name: str, prop: dict[str, Any], text: str, message: list[str] | None = None) -> list[str]:
    """The values an argument's schema names (``described_values``) that the message mentions, except
    its default unless said for the argument (``_said_for``)."""
    message = _words(text) if message is None else message
    return [v for v in mentioned_values([v for v in described_values(prop) if _normalised(v)], text)
            if _said_for(name, prop, v, message)]


def enum_mentions(tool: Tool, grounding: Grounding) -> dict[str, list[Any]]:
    """Required arguments with an enum (or a list of enum items) whose values the message mentions:
    {argument: those values}; the model then picks among them only (it otherwise often takes the
    first value listed)."""
    out: dict[str, list[Any]] = {}
    for name in tool.required:
        prop = tool.properties.get(name) or {}
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        values = prop.get("enum") or items.get("enum") or []
        mentioned = mentioned_values(list(values), grounding.text) if values else []
        if mentioned:
            out[name] = mentioned
    return out


def sure_optional(tool: Tool, grounding: Grounding) -> list[str]:
    """Optional arguments the message gives a value for beyond doubt, which the call must therefore
    hold (a small model often leaves them out): a value the schema names (an enum value, a quoted or
    listed example) said in the message, a date, currency or month the message names for an argument of
    that kind, or a number said right after the argument's name ("a significance level of 0.05")."""
    message = _words(grounding.text)
    optional = [name for name, prop in tool.properties.items() if name not in tool.required and isinstance(prop, dict)]
    sure = [name for name in optional if described_mentions(name, tool.properties[name], grounding.text, message)
            or typed_values(name, tool.properties[name], grounding.text)]
    sure += [name for name in aligned_numbers(tool, grounding, optional, strong=True) if name not in sure]
    return [name for name in tool.properties if name in sure]


def grounded_optional(tool: Tool, grounding: Grounding) -> dict[str, list[Any] | None]:
    """Optional arguments the message gives a value for, with the values it gives (None: any grounded
    value of the right type); the others keep the tool's defaults.

    Offered: an enum or a value quoted in the description that the message mentions (other than the
    default), limited to those values; a number when the message has more numbers than the required
    numeric arguments use; a unit-like argument when the message names a unit of measure, limited to the
    units it names. The model still decides whether to fill each one.
    """
    numeric_needed = sum(1 for name in tool.required
                         if (tool.properties.get(name) or {}).get("type") in ("integer", "number"))
    units = list(dict.fromkeys(word for word in grounding.words if word.lower() in UNIT_WORDS))
    message = _words(grounding.text)
    chosen: dict[str, list[Any] | None] = {}
    for name, prop in tool.properties.items():
        if name in tool.required or not isinstance(prop, dict):
            continue
        kind = prop.get("type")
        mentioned = described_mentions(name, prop, grounding.text, message)
        if mentioned and kind == "array" and (prop.get("items") or {}).get("type", "string") == "string":
            chosen[name] = mentioned  # a list of the named values
        elif mentioned and prop.get("enum"):
            chosen[name] = [v for v in prop["enum"] if str(v) in mentioned]
        elif mentioned and kind in ("string", None):
            chosen[name] = list(dict.fromkeys(mentioned))
        elif kind in ("integer", "number") and len(_unit_fit(name, prop, grounding)) > numeric_needed:
            chosen[name] = None
        elif kind == "string" and "unit" in name.lower() and units:
            chosen[name] = units
        elif typed_values(name, prop, grounding.text):  # a date or a currency the message names
            chosen[name] = None
    return chosen


# Words of a flag's name that say nothing about what it switches on ("include_", "is_", "with_").
_FLAG_FILLER = {
    "include", "including", "is", "use", "with", "get", "show", "return", "flag", "enable", "allow", "consider",
    "as", "to", "the", "of", "by", "in", "only", "for", "and", "or", "a", "an", "if", "should", "do", "does",
    "has", "have", "want", "need", "add", "apply", "set", "be", "on", "all", "whether", "option", "status",
}
_NEGATIONS = {"no", "not", "without", "don't", "dont", "never", "exclude", "excluding", "except", "skip"}


def _words(text: str) -> list[str]:
    """Lowercase words, with snake_case and camelCase names split."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9']+", text.lower())


def _same_word(a: str, b: str) -> bool:
    """The same word up to an ending: "toll"/"tolls", "detail"/"detailed", "stats"/"statistics"."""
    shorter = min(len(a), len(b))
    common = 0
    while common < shorter and a[common] == b[common]:
        common += 1
    return common == len(a) == len(b) or (common >= 4 and common >= 0.75 * shorter)


def requested_flags(tool: Tool, grounding: Grounding) -> dict[str, bool]:
    """Boolean arguments the message asks for by name ("with toll roads avoided" -> avoid_tolls=true,
    "including the precipitation" -> include_precipitation=true); negated mentions ("without X") give
    false. Optional flags whose default the mention would not change are left out."""
    message = _words(grounding.text)
    flags = {}
    for name, prop in tool.properties.items():
        if not isinstance(prop, dict) or prop.get("type") != "boolean":
            continue
        needed = [w for w in _words(name) if w not in _FLAG_FILLER and len(w) > 1]
        positions = [next((i for i, word in enumerate(message) if _same_word(w, word)), None) for w in needed]
        if not needed or None in positions:
            continue
        first = min(p for p in positions if p is not None)
        before = message[max(0, first - 3):first]
        # "without X", "not X", and "few X" (but not "a few X")
        value = not any(word in _NEGATIONS or (word == "few" and (i == 0 or before[i - 1] != "a"))
                        for i, word in enumerate(before))
        default_true = re.search(r"default(?:s)?(?: value)?(?: is| to)?:? *true", str(prop.get("description", "")), re.I)
        if name not in tool.required and value and default_true:
            continue
        flags[name] = value
    for name in tool.required:  # a required flag the message does not mention takes its described default
        prop = tool.properties.get(name) or {}
        default = re.search(r"default(?:s)?(?: value)?(?: is| to)?:? *(true|false)\b", str(prop.get("description", "")), re.I)
        if prop.get("type") == "boolean" and name not in flags and default:
            flags[name] = default.group(1).lower() == "true"
    return flags


# What a unit written right after a number measures: the words an argument for it is named with.
_KINDS = {
    "time duration period": ("s sec secs second seconds min mins minute minutes h hr hrs hour hours day days week "
                             "weeks month months year years yr yrs night nights"),
    "frequency freq": "hz khz mhz ghz",
    "distance length height width radius depth diameter altitude displacement": (
        "m meter meters metre metres km kilometer kilometers kilometres cm mm mile miles ft feet foot inch "
        "inches yard yards"),
    "mass weight": "kg g gram grams kilogram kilograms lb lbs pound pounds ounce ounces oz ton tons",
    "speed velocity": "mph kph kmh",
    "temperature temp": "celsius fahrenheit kelvin",
    "energy heat work": "j joule joules kj kilojoules calories kcal",
    "power": "w watt watts kw kilowatts",
    "force": "newton newtons",
    "volume": "l liter liters litre litres ml gallon gallons",
}
UNIT_KINDS: dict[str, tuple[str, ...]] = {unit: tuple(kind.split()) for kind, units in _KINDS.items()
                                          for unit in units.split()}
# Words that may stand between an argument's name and its number: "rate of 5", "mass is 3", "n = 4".
_LINKING = {"of", "is", "was", "are", "at", "to", "be", "equals", "equal", "as", "about", "around", "approximately",
            "the", "a", "an", "its", "their", "my", "by"}


def _before_score(word: str, before: list[str]) -> int:
    """2 when ``word`` is said before the number with only linking words between ("interest rate of 5%"),
    1 when other words stand between ("annual yield after 3 years": the yield is not the 3), else 0."""
    for i in range(len(before) - 1, -1, -1):
        if _same_word(word, before[i]):
            return 2 if all(w in _LINKING for w in before[i + 1:]) else 1
    return 0


def aligned_numbers(tool: Tool, grounding: Grounding, names: list[str], strong: bool = False
                    ) -> dict[str, list[Any]]:
    """Numeric arguments whose name the message says right next to one number ("net income of
    $2,000,000, equity of $10,000,000" -> net_income, equity): {argument: that number's readings}.

    A name's words are looked for in the (up to) four words before the number, back to the previous
    number (these count double), and the two words after it ("for 5 years"). Only one-to-one best
    matches count; the rest is left to the model. ``strong``: only numbers whose argument's name is said
    right before them with linking words alone between, or whose unit measures what the name says."""
    mentions = number_mentions(grounding.text)
    contexts = []
    years = []  # whether each number is written as a calendar year ("in 2020", not "$2000" nor "2000 m")
    for k, (start, end, _) in enumerate(mentions):
        before = _words(grounding.text[mentions[k - 1][1] if k else 0:start])[-4:]
        after = _words(grounding.text[end:mentions[k + 1][0] if k + 1 < len(mentions) else len(grounding.text)])[:2]
        contexts.append((before, after))
        written = grounding.text[start:end]
        years.append(bool(re.fullmatch(r"(1[5-9]|20)\d\d", written)) and not (after and after[0] in UNIT_KINDS))
    scores: dict[str, list[int]] = {}
    sure: dict[str, list[bool]] = {}  # the name said right before the number, or its unit right after
    for name in names:
        prop = tool.properties.get(name) or {}
        if prop.get("type") not in ("integer", "number") or prop.get("enum"):
            continue
        words = [w for w in _words(name) if w not in _FLAG_FILLER and len(w) > 2]
        # a name said right before the number counts double ("equity of $10M, dividends of $2M"), and so
        # does a unit of its kind right after it ("440Hz" is a frequency, "5 seconds" a duration)
        # and a calendar year fills an argument named for a year ("in 2020" -> year)
        is_year = prop.get("type") == "integer" and "year" in words
        scores[name] = [sum(_before_score(w, before) + any(_same_word(w, c) for c in after)
                            + 2 * (bool(after) and w in UNIT_KINDS.get(after[0], ())) for w in words)
                        + 2 * (is_year and year) for (before, after), year in zip(contexts, years, strict=True)]
        sure[name] = [any(_before_score(w, before) == 2 or (bool(after) and w in UNIT_KINDS.get(after[0], ()))
                          for w in words) or (is_year and year) for (before, after), year in zip(contexts, years, strict=True)]
    aligned: dict[str, list[Any]] = {}
    for name, row in scores.items():
        best = max(row, default=0)
        if best == 0 or row.count(best) > 1:
            continue
        k = row.index(best)
        if strong and not sure[name][k]:
            continue
        if any(other != name and other_row[k] >= best for other, other_row in scores.items()):
            continue  # another argument claims this number as strongly
        usable = grounding.numbers_for(name, tool.properties.get(name) or {})
        readings = [v for v in mentions[k][2] if v in usable]  # none: this number does not fit it
        readings = [int(v) if float(v).is_integer() else v for v in readings]
        if prop_kind(tool, name) == "integer":
            readings = [v for v in readings if isinstance(v, int)]
        if readings:
            aligned[name] = readings
    return aligned


def _unit_fit(name: str, prop: dict[str, Any], grounding: Grounding) -> list[float]:
    """The numbers of the message that can fill an argument (``numbers_for``, not strict), less those
    written with a unit of another kind than the argument's ("3 nights" is no number of rooms): an
    argument fits a unit when its name or description says the unit's kind or one of its units."""
    said = set(_words(f"{name} {prop.get('description', '')}"))
    unfit = set()
    for _start, end, readings in number_mentions(grounding.text):
        after = _words(grounding.text[end:end + 16])[:1]
        kinds = UNIT_KINDS.get(after[0], ()) if after else ()
        units = {unit for unit, k in UNIT_KINDS.items() if k == kinds}
        if kinds and not said & (set(kinds) | units):
            unfit.update(readings)
    return [v for v in grounding.numbers_for(name, prop, strict=False) if v not in unfit]


def prop_kind(tool: Tool, name: str) -> str | None:
    return (tool.properties.get(name) or {}).get("type")


def _can_ground_numbers(tool: Tool, grounding: Grounding) -> bool:
    """False when the tool needs numbers and the message has none: the request names no values to
    call it with (e.g. a question about the formula), so a call could only invent them."""
    needs = [name for name in tool.required if (tool.properties.get(name) or {}).get("type") in ("integer", "number")
             and not (tool.properties.get(name) or {}).get("enum")]
    spans_of_time = set(grounding.durations)  # "next week" is a number only for a number of days
    return (not needs or bool(set(grounding.numbers) - spans_of_time)
            or any(grounding.numbers_for(name, tool.properties[name]) for name in needs))


def _dedupe_lists(value: Any) -> Any:
    """Small models repeat list items; a repeated string item is never what was asked for, nor one that
    is part of another."""
    if isinstance(value, dict):
        return {key: _dedupe_lists(item) for key, item in value.items()}
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        items = list(dict.fromkeys(value))
        # nor is an item that is part of another one ("criminal law", "law")
        return [item for item in items if not any(other != item and re.search(
            rf"(?<!\w){re.escape(item.lower())}(?!\w)", other.lower()) for other in items)]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def repeated_numbers(arguments: dict[str, Any], grounding: Grounding) -> dict[str, list[Any]]:
    """Arguments that repeat an earlier argument's number (or list of numbers) which the message writes
    only once: {argument: [values to avoid]}."""
    seen: list[Any] = []
    avoid: dict[str, list[Any]] = {}
    for name, value in arguments.items():
        if not (_is_number(value) or (isinstance(value, list) and value and all(map(_is_number, value)))):
            continue
        if value in seen and (isinstance(value, list) or grounding.sequence.count(value) < 2):
            avoid.setdefault(name, []).append(value)
        seen.append(value)
    return avoid


def shared_span(tool: Tool, arguments: dict[str, Any]) -> bool:
    """Whether two free-text string arguments hold the same text ("instrument" = "genre" = "Jazz"):
    arguments with an enum, a date or a currency are not free text."""
    return span_reused(tool, arguments) is not None


def span_reused(tool: Tool, arguments: dict[str, Any]) -> tuple[str, list[str]] | None:
    """The first free-text argument that repeats an earlier one's text, with the texts it repeats. A text
    that holds the other, or is held in it, word for word ("The Scream" and "Scream", "Picasso" and
    "Picasso's") repeats it too, and so does a text that is another argument's number ("16" for a note
    when 16 is the length): no two values of one call come from one span of the message."""
    numbers = {_format_value(v) for v in arguments.values() if _is_number(v)}  # "16" is no note when 16 is a length
    seen: set[str] = set()
    for name, value in arguments.items():
        prop = tool.properties.get(name) or {}
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if prop.get("enum") or items.get("enum") or is_date_argument(name, prop) or is_currency_argument(name, prop):
            continue
        strings = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]
        repeated = [v for v in strings if _normalised(v) and (v.strip() in numbers or any(
            f" {_normalised(v)} " in f" {other} " or f" {other} " in f" {_normalised(v)} " for other in seen))]
        if repeated:
            return name, repeated
        seen.update(_normalised(v) for v in strings if _normalised(v))
    return None


_CONNECTORS = {"in", "from", "of", "for", "at", "on", "the", "during", "with", "by", "to", "and", "a", "an"}


def trim_overlaps(tool: Tool, arguments: dict[str, Any]) -> dict[str, Any]:
    """A free-text value that also holds another argument's value ("theft in California" next to
    jurisdiction "California", "NBA 2021" next to season "2021") loses it, with the linking words left
    dangling; values that would become empty stay as they are."""
    others = {name: (_format_value(value)) for name, value in arguments.items()
              if isinstance(value, str | int | float) and not isinstance(value, bool)}
    out = dict(arguments)
    for name, value in arguments.items():
        prop = tool.properties.get(name) or {}
        if not isinstance(value, str) or prop.get("enum") or is_date_argument(name, prop):
            continue
        words = value.split()
        for other, text in others.items():
            part = text.split()
            if other == name or not part or len(part) >= len(words):
                continue
            for at in (len(words) - len(part), 0):  # at the end, then at the start
                if [w.strip(",.").lower() for w in words[at:at + len(part)]] == [w.lower() for w in part]:
                    rest = words[:at] + words[at + len(part):]
                    while rest and rest[-1].lower().strip(",") in _CONNECTORS:
                        rest.pop()
                    while rest and rest[0].lower() in _CONNECTORS - {"the", "a", "an"}:
                        rest.pop(0)
                    if rest:
                        words = [w.rstrip(",") if i == len(rest) - 1 else w for i, w in enumerate(rest)]
                    break
        out[name] = " ".join(words) if words != value.split() else value
    return out


_CONJUNCT = re.compile(r"(?:\s*,\s*(?:and\s+|or\s+)?|\s+(?:and|or|&)\s+)((?:[A-Za-z][\w'\-]*\s*){1,3})")


def extend_lists(tool: Tool, arguments: dict[str, Any], text: str) -> dict[str, Any]:
    """A list of free-text items stops short of the items the message joins to its last one ("chicken
    and mushrooms" -> ["chicken"] gets "mushrooms"): each conjunct of up to three words that ends the
    phrase (at punctuation, the end, or a preposition) is added, in order."""
    out = dict(arguments)
    used = {_normalised(str(v)) for v in arguments.values() if not isinstance(v, list)}
    for name, value in arguments.items():
        prop = tool.properties.get(name) or {}
        items = prop.get("items") if isinstance(prop.get("items"), dict) else {}
        if (prop.get("type") != "array" or items.get("enum") or items.get("type", "string") != "string"
                or not value or not all(isinstance(v, str) for v in value)):
            continue
        value = list(value)
        while len(value) < 10:
            at = text.lower().rfind(value[-1].lower())
            match = _CONJUNCT.match(text, at + len(value[-1])) if at >= 0 else None
            if not match:
                break
            words = match.group(1).split()
            cut = next((i for i, w in enumerate(words) if w.lower() in NO_START_WORDS), len(words))
            rest = text[match.end(1):].lstrip()
            ends = cut < len(words) or not rest or rest[0] in ".,;:?!" or rest.split()[0].lower() in NO_START_WORDS
            item = " ".join(words[:cut]).rstrip(".,")
            if not item or not ends or _normalised(item) in {_normalised(v) for v in value} | used:
                break
            value.append(item)
        out[name] = value
    return out


def complete_lists(tool: Tool, arguments: dict[str, Any], text: str) -> dict[str, Any]:
    """A list whose items the schema names (an enum of items, or examples in the description) holds every
    one of them the message says (a small model stops after the first): the missing ones are added in
    the order the message says them."""
    out = dict(arguments)
    message = _words(text)
    for name, value in arguments.items():
        prop = tool.properties.get(name) or {}
        if prop.get("type") != "array" or not isinstance(value, list):
            continue
        named = described_mentions(name, prop, text, message)
        have = {_normalised(str(v)) for v in value}
        missing = [v for v in named if _normalised(v) not in have]
        if missing and all(isinstance(v, str) for v in value):
            out[name] = value + missing
    return out


def _format_value(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class ToolLayerConfig:
    relevance_threshold: float = 0.33
    max_calls: int = 4  # per turn, when parallel calls are allowed
    args_max_tokens: int = 160
    # relevance from which a call whose two free-text slots hold one span is decoded once more (below it,
    # no call is made). Chosen on the odd half of BFCL simple_python/multiple/irrelevance (every 2nd case
    # from index 1): retries under 0.45 won nothing there and made 5 irrelevance calls
    span_retry_relevance: float = 0.45


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

    def arguments(self, tool: Tool, request: str, parallel: bool, grounded: bool = True,
                  avoid: dict[str, list[Any]] | None = None, keep: dict[str, Any] | None = None
                  ) -> tuple[list[dict], Usage]:
        """Decoded argument objects (``avoid``: per argument, grounded values not to offer; ``keep``: values
        already decided for some arguments)."""
        avoid = {name: list(values) for name, values in (avoid or {}).items()}
        calls, usage = self._decode(tool, request, parallel, grounded, avoid, keep)
        if grounded and not parallel and calls:
            # Self-check: a number the message writes once fills one argument. An optional argument that
            # repeats one is left out (the tool's default); for a required one, decode again without the
            # repeats (a small model copies the previous value).
            grounding = Grounding.from_text(request)
            for attempt in range(2):
                repeats = repeated_numbers(calls[0], grounding)
                for name in [name for name in repeats if name not in tool.required]:
                    calls[0].pop(name, None)
                    repeats.pop(name)
                if not repeats:
                    break
                for name, values in repeats.items():
                    for value in values:
                        # a later argument that kept a number it was told to avoid (its name or unit says
                        # the number is its own) keeps it: the earlier one gives it up instead ("dropped
                        # from 100 m": height 100, initial_velocity 0)
                        earlier = next((n for n, v in calls[0].items() if v == value and n != name), None)
                        if attempt and value in avoid.get(name, []) and earlier in tool.required:
                            avoid[name] = [v for v in avoid[name] if v != value]
                            avoid.setdefault(earlier, []).append(value)
                        else:
                            avoid.setdefault(name, []).append(value)
                retry, more = self._decode(tool, request, parallel, grounded, avoid, keep)
                usage = Usage(usage.prompt_tokens + more.prompt_tokens, usage.completion_tokens + more.completion_tokens)
                if not retry:
                    break
                calls = retry
        if grounded:
            calls = [complete_lists(tool, extend_lists(tool, trim_overlaps(tool, call), request), request)
                     for call in calls]
        return calls, usage

    def _decode(self, tool: Tool, request: str, parallel: bool, grounded: bool, avoid: dict[str, list[Any]],
                keep: dict[str, Any] | None = None) -> tuple[list[dict], Usage]:
        grounding = Grounding.from_text(request) if grounded else None
        builder = ArgumentsGrammar(grounding, avoid=avoid)
        offered = grounded_optional(tool, grounding) if grounding else None
        flags = requested_flags(tool, grounding) if grounding else {}
        include = [name for name in offered if name not in flags] if offered is not None else None
        choices = {name: values for name, values in (offered or {}).items() if values}
        parameters = tool.parameters
        if grounding:
            choices.update(enum_mentions(tool, grounding))
            # optional arguments the message surely gives a value for must be filled
            sure = [name for name in sure_optional(tool, grounding) if name in (include or [])]
            if sure:
                parameters = {**tool.parameters, "required": tool.required + sure}
            # a number said right after the argument's name is that argument's
            choices.update(aligned_numbers(tool, grounding, tool.required + (include or [])))
            for name, values in avoid.items():
                if name in choices:
                    choices[name] = [v for v in choices[name] if v not in values] or choices[name]
            choices.update({name: [value] for name, value in (keep or {}).items() if not isinstance(value, dict | list)})
        args_rule = builder.arguments(parameters, include=include, fixed=flags, choices=choices)
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
        tool, ranking = self.select(messages, tools, mode, forced)
        if tool is None:
            if not respond:
                return ChatResult(text="", finish_reason="stop", model=self.backend.name)
            return self.backend.chat(messages, max_tokens=max_tokens, temperature=temperature, clip=clip)
        request = last_user_text(messages)
        arguments, usage = self.arguments(tool, request, parallel)
        relevance = ranking[0][1] if ranking else 1.0
        if (mode == "auto" and len(arguments) == 1 and relevance >= self.config.span_retry_relevance
                and shared_span(tool, arguments[0])):
            # Self-check: one span cannot fill two slots. For a clearly relevant tool, decode once more
            # without the repeated text in the later slot; if the slots still collide, answer instead.
            name, texts = span_reused(tool, arguments[0]) or ("", [])
            earlier = dict(list(arguments[0].items())[:list(arguments[0]).index(name)])  # kept as decoded
            retry, more = self.arguments(tool, request, parallel, avoid={name: texts}, keep=earlier)
            usage = Usage(usage.prompt_tokens + more.prompt_tokens, usage.completion_tokens + more.completion_tokens)
            arguments = retry or arguments
        grounding = Grounding.from_text(request)
        if mode == "auto" and any(shared_span(tool, args) or (not parallel and set(repeated_numbers(args, grounding))
                                                              & set(tool.required)) for args in arguments):
            # One span of the message cannot be two different things, nor one number written once two
            # required values (still so after the self-checks): the request does not give what the tool
            # needs (typically a question *about* the tool's topic), so answer instead.
            if not respond:
                return ChatResult(text="", finish_reason="stop", model=self.backend.name)
            return self.backend.chat(messages, max_tokens=max_tokens, temperature=temperature, clip=clip)
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
