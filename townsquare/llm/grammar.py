"""JSON schema -> llama.cpp GBNF grammars.

Two uses:

- ``schema_grammar(schema)``: any JSON schema, through llama.cpp's own converter (shipped with
  llama-cpp-python), for structured output (``complete_json``).
- ``ArgumentsGrammar``: our converter for tool arguments (objects of scalars, enums, arrays). It emits a
  compact canonical JSON layout (``{"a": 1, "b": "x"}``) so the model spends no tokens on whitespace,
  and it can be *grounded* in the user's message: string arguments become spans copied from the
  message, numbers become numbers that appear in it (see ``Grounding``). Anything it does not
  understand falls back to unconstrained JSON of the right type.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.llm.values import address_values, typed_values

# Generic JSON pieces, bounded so a small model cannot run away inside a string.
_BASE_RULES = {
    "ws": '" "?',
    "char": r'[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F] [0-9a-fA-F])',
    "string": '"\\"" char{0,200} "\\""',
    "integer": '"-"? ("0" | [1-9] [0-9]{0,15})',
    "number": 'integer ("." [0-9]{1,10})? ([eE] [-+]? [0-9]{1,3})?',
    "boolean": '"true" | "false"',
    "null": '"null"',
    "value": "object | array | string | number | boolean | null",
    "object": '"{" ( string ": " value (", " string ": " value){0,30} )? "}"',
    "array": '"[" ( value (", " value){0,30} )? "]"',
}


def gbnf_literal(text: str) -> str:
    """A GBNF string literal matching ``text`` exactly."""
    escaped = (text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def json_literal(value: Any) -> str:
    """A GBNF literal matching ``value`` serialised as compact JSON."""
    return gbnf_literal(json.dumps(value, ensure_ascii=False))


def normalise_schema(schema: Any) -> Any:
    """Map the loose type names found in the wild (``dict``, ``float``, ``tuple``, ``any``) to JSON schema."""
    if isinstance(schema, list):
        return [normalise_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: normalise_schema(value) for key, value in schema.items()}
    aliases = {"dict": "object", "float": "number", "double": "number", "int": "integer", "tuple": "array",
               "list": "array", "str": "string", "bool": "boolean", "any": None}
    kind = out.get("type")
    if isinstance(kind, str) and kind in aliases:
        if aliases[kind] is None:
            out.pop("type")
        else:
            out["type"] = aliases[kind]
    if "properties" in schema and isinstance(schema["properties"], dict):
        out["properties"] = {name: normalise_schema(prop) for name, prop in schema["properties"].items()}
    # "optional": true is not JSON schema; "required" says it already.
    out.pop("optional", None)
    return out


def schema_grammar(schema: dict) -> str:
    """GBNF text for any JSON schema (llama.cpp's converter)."""
    from llama_cpp.llama_grammar import json_schema_to_gbnf

    try:
        return json_schema_to_gbnf(json.dumps(schema))
    except Exception as exc:  # the converter raises plain exceptions on schemas it cannot express
        raise InvalidInput(f"cannot turn this JSON schema into a grammar: {exc}")


# --- grounding: what the user's message offers as argument values -----------------------------------

_NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "dozen": 12, "twice": 2, "double": 2, "triple": 3, "half": 0.5,
    # how often a year: "compounded quarterly" -> 4
    "annually": 1, "yearly": 1, "semiannually": 2, "quarterly": 4, "monthly": 12, "weekly": 52, "daily": 365,
}
_PM_RE = re.compile(r"\b(1[01]|[1-9])\s?(?:pm|p\.m\.)", re.I)
_NUMBER_RE = re.compile(r"(?<![\w.])(-\s?)?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+)?(%)?"
                        r"(?:(K|M|B|bn)\b|\s?(thousand|million|billion)\b)?")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}


def _format_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e16:
        return str(int(value))
    return repr(float(value))


def _matches(text: str):
    """Number matches; "[200,300,400]" is a list, not two hundred billion: split digit groups
    that directly follow a bracket."""
    for match in _NUMBER_RE.finditer(text):
        digits = match.group(2)
        if "," in digits and match.start() > 0 and text[match.start() - 1] in "[(":
            offset = match.start(2)
            for part in digits.split(","):
                yield from _NUMBER_RE.finditer(text, offset, offset + len(part))
                offset += len(part) + 1
        else:
            yield match


_LIST_GAP = re.compile(r"(?:st|nd|rd|th)?[\s,;\[\]()&/:%$]*(?:(?:and|or)[\s,;\[\]()$]*)?", re.I)  # "2nd, 3rd and 4th"


def number_groups(text: str) -> list[int]:
    """For each number of ``number_sequence(text)``, the index of its group: numbers written together
    ("12, 24 and 36", "[1, 2, 3]") share one; words between numbers start a new one."""
    groups: list[int] = []
    previous_end = None
    for match in _matches(text):
        together = previous_end is not None and _LIST_GAP.fullmatch(text[previous_end:match.start()])
        groups.append(groups[-1] if together else len(groups) and groups[-1] + 1)
        previous_end = match.end()
    return groups


_WEST_OR_SOUTH = re.compile(r"\s?°?\s?(?:W|S|West|South)\b")


def _signed(text: str, match: re.Match, value: float) -> float:
    """A coordinate written with W or S ("112.0740 W", "33.9° S") is negative."""
    if ("." in match.group(0) or text[match.end():match.end() + 1] == "°") and _WEST_OR_SOUTH.match(text, match.end()):
        return -abs(value)
    return value


def number_sequence(text: str, percent_as_fraction: bool = False) -> list[float]:
    """The numbers written in ``text`` (digits only), in order, repeats kept: what a list is made of
    (``percent_as_fraction``: "40%" is 0.4)."""
    values = []
    for match in _matches(text):
        sign, digits, decimals, percent, suffix, word = match.groups()
        value = float(digits.replace(",", "") + (decimals or "")) * (_SCALE[word] if word else 1)
        if percent and percent_as_fraction:
            value /= 100
        values.append(_signed(text, match, -value if sign else value))
    return values


def number_mentions(text: str) -> list[tuple[int, int, list[float]]]:
    """Each number written with digits: (start, end, its readings), e.g. "5%" -> [5, 0.05]."""
    out = []
    for match in _matches(text):
        sign, digits, decimals, percent, suffix, word = match.groups()
        value = float(digits.replace(",", "") + (decimals or "")) * (-1 if sign else 1)
        readings = [value * _SCALE[word]] if word else [value * _SCALE[suffix], value] if suffix else [value]
        if percent:
            readings.append(value / 100)
        if _signed(text, match, value) != value:
            readings.insert(0, -abs(value))
        out.append((match.start(), match.end(), readings))
    return out


# A span of time said in words: a number only for an argument counted in its unit ("for the next week" ->
# 7 for a number of days; "over the past decade" -> 10 for a number of years).
_DURATIONS = {"week": (7, "day"), "fortnight": (14, "day"), "decade": (10, "year"), "century": (100, "year")}
_DURATION_RE = re.compile(r"\b(?:next|past|last|coming|following|previous|a|one|this|the)\s+(week|fortnight|decade|century)\b",
                          re.I)


# Starting still: a speed of 0 for a velocity or speed argument ("accelerates from rest", "an object dropped").
_AT_REST_RE = re.compile(r"\b(?:from|at) rest\b|\bdropped\b|\bstationary\b|\bstand(?:ing)?\s?still\b", re.I)


def duration_words(text: str) -> dict[float, str]:
    """Numbers said only in words that belong to one kind of argument: spans of time ("the next week"
    -> 7 days, "the past decade" -> 10 years) and a start at rest (0 velocity): {number: the word an
    argument's name or description must hold}."""
    found = {float(_DURATIONS[m.group(1).lower()][0]): _DURATIONS[m.group(1).lower()][1]
             for m in _DURATION_RE.finditer(text)}
    if _AT_REST_RE.search(text):
        found[0.0] = "velocity|speed"
    return found


# Words that are numbers only for a count-per-period argument ("compounded quarterly" -> 4 times a year).
_FREQUENCY_WORDS = {"annually", "yearly", "semiannually", "quarterly", "monthly", "weekly", "daily"}
_FREQUENCY_ARG = re.compile(r"frequen|compound|times|per[ _](?:year|annum|period|unit)|periods", re.I)
_PERCENT_ARG = re.compile(r"percent|pct", re.I)
_DATE_ARG = re.compile(r"year|month|day|date|dob|birth", re.I)


def _argument_text(name: str, prop: dict[str, Any] | None) -> str:
    return f"{name} {(prop or {}).get('description', '')}"


def wants_fraction(name: str, prop: dict[str, Any] | None) -> bool:
    """Whether a percentage written in the message ("5%") fills this argument as a fraction (0.05): a
    non-integer number argument (rates, yields, probabilities are decimals by convention) whose name and
    description do not say it is a percentage."""
    prop = prop or {}
    return prop.get("type") == "number" and not _PERCENT_ARG.search(_argument_text(name, prop))


def numbers_in(text: str) -> list[float]:
    """Numbers written in ``text``, in order, with their obvious readings (``5%`` -> 5 and 0.05)."""
    found: list[float] = []
    for match in _matches(text):
        sign, digits, decimals, percent, suffix, word = match.groups()
        value = float(digits.replace(",", "") + (decimals or ""))
        if sign:
            value = -value
        if word:  # "3 million": the scaled value only
            found.append(value * _SCALE[word])
            continue
        if suffix:  # "1.2M" is scaled, but "298K" may be kelvin: both readings
            found.append(value * _SCALE[suffix])
        if _signed(text, match, value) != value:
            found.append(-abs(value))  # "112.07 W"
        found.append(value)
        if percent:
            found.append(value / 100)
        if re.match(r"\s?(?:\*\s?)?(?:pi\b|π)", text[match.end():], re.I):
            found.append(round(value * math.pi, 4))  # "2 pi" -> 6.2832
    for word in re.findall(r"[a-zA-Z]+", text.lower()):
        if word in _NUMBER_WORDS:
            found.append(float(_NUMBER_WORDS[word]))
    found += [float(hour) + 12 for hour in _PM_RE.findall(text)]  # "11 PM" is also 23
    unique: list[float] = []
    for value in found:
        if value not in unique:
            unique.append(value)
    return unique


# A quote mark (not an apostrophe inside a word) or a backtick: a word boundary.
_QUOTE_MARK = re.compile(r"`|(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")
_WORD_CHARS = re.compile(r"[^\s\"“”()\[\]{}<>?!;]+")
_EDGE = ".,:'’"
_QUOTED_TEXT = [re.compile(r'["“]([^"”]{2,200})["”]'),
                re.compile(r"(?<![A-Za-z])['‘`](.{2,200}?)['’`](?![A-Za-z])")]
_GAP = re.compile(r"[ \t,:.\-/&]*")  # what may stand between two words of one span


def _word_positions(text: str) -> list[tuple[int, int]]:
    """(start, end) of each word of ``text``, without the punctuation around it."""
    masked = _QUOTE_MARK.sub(" ", text)
    positions = []
    for match in _WORD_CHARS.finditer(masked):
        start, end = match.start(), match.end()
        while start < end and masked[start] in _EDGE:
            start += 1
        while end > start and masked[end - 1] in _EDGE:
            end -= 1
        if start < end:
            positions.append((start, end))
    return positions


# A value never starts with a preposition ("in New York") nor ends with a word that needs a
# continuation ("123 Main street, with parcel number 1234 in", "Bros. game for").
NO_START_WORDS = {"in", "at", "for", "with", "from", "to", "of", "by", "on", "into", "onto", "about", "than", "as",
             "under", "over", "between", "within", "via", "per", "and", "or", "but", "if", "that", "which"}
_NO_END = NO_START_WORDS | {"the", "a", "an", "is", "are", "was", "were", "be", "my", "your", "his", "her", "its", "our",
                       "their", "this", "these", "those", "some", "any", "each", "every", "not", "no"}


_PRONOUNS = {"me", "us", "him", "them"}  # never a value, nor the start of one


# Mathematical expressions written in a message: "y=3x^2 + 2x - 4", "f(x) = 3x^2", "x**2".
_TERM = r"[A-Za-z0-9.^*/()]+"
_EXPRESSION_RE = re.compile(rf"{_TERM}(?:\s*[-+*/=^]\s*{_TERM})*")
_LEFT_SIDE = re.compile(r"^\s*(?:[a-z]\s*\(\s*[a-z]\s*\)|[a-z])\s*=\s*")  # "y =", "f(x) ="
_MATH_ARG = re.compile(r"(?:^|_)(?:function|func|equation|expression|expr|formula|polynomial)\d*$", re.I)


def expressions_in(text: str) -> list[str]:
    """The mathematical expressions of ``text`` (with a variable and an operator or a coefficient, such as
    "3x^2"), without their left-hand side ("y=3x+2" -> "3x+2", "f(x) = 3x^2" -> "3x^2": the function, not
    its name); assignments of a number to a variable ("x = -1") are not expressions."""
    found: list[str] = []
    for match in _EXPRESSION_RE.finditer(text):
        expression = match.group(0).strip(" .")
        if not re.search(r"[-+*/^=]|\d[a-z]", expression) or not re.search(r"[a-z]", expression):
            continue
        right = _LEFT_SIDE.sub("", expression)
        if right != expression and not re.search(r"[a-z]", right):
            continue  # "x = -1"
        found.append(right)
    return list(dict.fromkeys(found))


def is_math_argument(name: str, prop: dict[str, Any] | None) -> bool:
    """A string argument that holds a mathematical function or expression (by its name's last word)."""
    return (prop or {}).get("type") in ("string", None) and not (prop or {}).get("enum") and bool(_MATH_ARG.search(name))


_FROM_ARG = re.compile(r"(?:^|_)(?:from|source|origin|start|departure)(?:_|$)", re.I)
_TO_ARG = re.compile(r"(?:^|_)(?:to|target|destination|end|arrival)(?:_|$)", re.I)


def role_words(name: str) -> set[str]:
    """For a from-like string argument (``from_timezone``, ``start_location``, ``source``), the words its
    value follows in a message ("from"); for a to-like one, "to"/"into"; else nothing."""
    if _FROM_ARG.search(name) and not _TO_ARG.search(name):
        return {"from"}
    if _TO_ARG.search(name) and not _FROM_ARG.search(name):
        return {"to", "into"}
    return set()


# Words that open a request or a question: at the start of a sentence they never begin a value.
REQUEST_WORDS = {
    "find", "get", "give", "show", "tell", "list", "search", "look", "fetch", "retrieve", "provide", "calculate",
    "compute", "determine", "identify", "predict", "estimate", "generate", "create", "make", "check", "convert",
    "analyze", "analyse", "locate", "plot", "draw", "book", "order", "buy", "send", "play", "set", "please",
    "can", "could", "would", "will", "may", "should", "is", "are", "was", "were", "do", "does", "did",
    "what", "what's", "who", "who's", "whom", "whose", "when", "where", "which", "why", "how", "i", "i'm", "i'd",
    "i'll", "include", "also", "and", "then", "now", "let", "let's", "help", "need", "want", "use", "return",
}


def _plain(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", text.lower()).strip()


def _whole_phrase(span: str) -> bool:
    """Whether a span can be a value: not led by a preposition, a conjunction, an object pronoun or a
    lowercase article, not ending on a preposition, a conjunction or an article, not running on past a
    comma into a new phrase ("123 Main street, with ...")."""
    words = re.findall(r"[A-Za-z0-9']+", span.lower())
    if words and (words[0] in NO_START_WORDS | _PRONOUNS or words[-1] in _NO_END):
        return False
    if re.match(r"(?:the|a|an) ", span):  # "the neutron" is "neutron"; "The British Museum" is a name
        return False
    after_commas = [re.findall(r"[A-Za-z']+", part.lower())[:1] for part in span.split(", ")[1:]]
    return not any(first and first[0] in NO_START_WORDS for first in after_commas)


@dataclass
class Grounding:
    """Argument values available in the user's message: word spans and numbers."""

    text: str
    words: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    sequence: list[float] = field(default_factory=list)
    fractions: list[float] = field(default_factory=list)  # the sequence with percentages as fractions
    groups: list[int] = field(default_factory=list)  # for each number of the sequence: its group
    positions: list[tuple[int, int]] = field(default_factory=list)
    percent_written: set[float] = field(default_factory=set)  # "5%" -> 5, when 5 is not also written plainly
    percent_fractions: set[float] = field(default_factory=set)  # "5%" -> 0.05, likewise
    date_parts: set[float] = field(default_factory=set)  # digits that are only parts of dates ("15th October, 2023")
    expression_parts: set[float] = field(default_factory=set)  # only coefficients or powers ("2x^2")
    pm_hours: set[float] = field(default_factory=set)  # "11 PM" -> 11: the 12-hour reading of a 24-hour 23
    frequencies: set[float] = field(default_factory=set)  # numbers only said as frequency words ("quarterly")
    durations: dict[float, str] = field(default_factory=dict)  # "next week" -> {7: "day"}, "past decade" -> {10: "year"}

    @classmethod
    def from_text(cls, text: str) -> Grounding:
        from townsquare.llm.values import date_spans

        positions = _word_positions(text)
        numbers = numbers_in(text)
        plain: set[float] = set()
        written: set[float] = set()
        fractions: set[float] = set()
        in_dates: set[float] = set()
        in_expressions: set[float] = set()
        dates = date_spans(text)
        for match in _matches(text):
            sign, digits, decimals, percent, suffix, word = match.groups()
            value = float(digits.replace(",", "") + (decimals or "")) * (-1 if sign else 1)
            if percent:
                written.add(value)
                fractions.add(value / 100)
            elif any(a <= match.start() and match.end() <= b for a, b in dates):
                in_dates.add(value)
            elif text[match.start() - 1:match.start()] == "^" or re.match(r"[x-z](?![A-Za-z])", text[match.end():]):
                in_expressions.add(value)  # a coefficient or a power: "2x^2"
            else:
                plain.add(value)
        said = {float(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower())
                if w in _NUMBER_WORDS and w not in _FREQUENCY_WORDS}
        frequencies = {float(_NUMBER_WORDS[w]) for w in re.findall(r"[a-z]+", text.lower()) if w in _FREQUENCY_WORDS}
        others = plain | said | written
        durations = {value: unit for value, unit in duration_words(text).items() if value not in others | in_dates}
        numbers = numbers + [value for value in durations if value not in numbers]
        return cls(text=text, words=[text[a:b] for a, b in positions], numbers=numbers,
                   sequence=number_sequence(text), fractions=number_sequence(text, percent_as_fraction=True),
                   groups=number_groups(text), positions=positions,
                   percent_written=written - plain - said, percent_fractions=fractions - plain - said,
                   expression_parts=in_expressions - others - fractions - in_dates,
                   pm_hours={float(hour) for hour in _PM_RE.findall(text)},
                   date_parts=in_dates - others - fractions, frequencies=frequencies - others - fractions - in_dates,
                   durations=durations)

    def numbers_for(self, name: str = "", prop: dict[str, Any] | None = None, strict: bool = True) -> list[float]:
        """The numbers of the message that can fill this argument: a percentage as a fraction or as written
        (``wants_fraction``), no digits of a date unless the argument is about dates, and frequency words
        ("quarterly") only for a count-per-period argument, and no percentage for an integer count per period
        unless ``strict`` is False (for counting what a message offers). Without a name: each number once."""
        text = _argument_text(name, prop)
        drop = set(self.date_parts) if not (name and _DATE_ARG.search(text)) else set()
        drop |= self.expression_parts  # a value is not the 2 of "2x^2"
        if re.search(r"24[- ]?hours?\b", text, re.I):
            drop |= self.pm_hours  # "11 PM" is 23 for a time in 24-hour format
        if not (name and _FREQUENCY_ARG.search(text)):
            drop |= self.frequencies
        elif strict and (prop or {}).get("type") == "integer" and not _PERCENT_ARG.search(text):
            drop |= self.percent_written | self.percent_fractions  # "3%" is no count of periods
        words = set(re.findall(r"[a-z]+", text.replace("_", " ").lower()))
        drop |= {value for value, unit in self.durations.items()
                 if not (name and words & {w + end for w in unit.split("|") for end in ("", "s")})}
        drop |= self.percent_written if (name and wants_fraction(name, prop)) else self.percent_fractions
        return [v for v in self.numbers if v not in drop]

    def spans_after(self, words: set[str], max_words: int = 8) -> set[str]:
        """The spans that start right after one of ``words`` (or after it and "the"): in "from New York
        to London", after "from": "New York", "New York to London", ..."""
        starts: set[int] = set()
        for k in range(1, len(self.positions)):
            a, b = self.positions[k - 1]
            if self.text[a:b].lower() in words and self.text[b:self.positions[k][0]].isspace():
                starts.add(self.positions[k][0])
        starts |= {self.positions[k + 1][0] for k in range(len(self.positions) - 1)
                   if self.positions[k][0] in starts and self.text[slice(*self.positions[k])].lower() == "the"}
        return {span for span in self.spans(max_words) if any(self.text.startswith(span, start) for start in starts)
                and not {"from", "to", "into"} & set(span.lower().split())}  # nor across the other role

    def spans(self, max_words: int = 8) -> set[str]:
        """Runs of up to ``max_words`` consecutive words, as written (inner punctuation kept, so
        "Roe v. Wade" and "Zelda: Breath of the Wild" survive), plus: a final "?" or "!" kept,
        a possessive "'s" dropped, the parts of hyphenated words, and quoted text of any length."""
        text, positions = self.text, self.positions
        spans: set[str] = set()
        for i, (start, end) in enumerate(positions):
            if text[start:end].lower() in REQUEST_WORDS and re.fullmatch(r"(?:.*[.?!:]\s*)?\W*", text[:start], re.S):
                continue  # "Give me ...", "Who ...": the request's own first word is no value
            for j in range(i, min(len(positions), i + max_words)):
                gap = text[positions[j - 1][1]:positions[j][0]] if j > i else ""
                if j > i and not _GAP.fullmatch(gap):
                    break  # a quote, bracket, "?" or "!" ends a span
                if "." in gap and text[positions[j][0]:positions[j][1]].lower() in REQUEST_WORDS:
                    break  # and so does a new sentence ("Liverpool F.C. Include its statistics")
                end = positions[j][1]
                span = text[start:end]
                spans.add(span)
                if end < len(text) and text[end] in "?!":
                    spans.add(span + text[end])
                if re.search(r"['’]s$", span) and len(span) > 2:
                    spans.add(span[:-2])
        for a, b in positions:
            if "-" in text[a:b]:
                spans.update(part for part in text[a:b].split("-") if part)
        spans = {span for span in spans if _whole_phrase(span)}
        for pattern in _QUOTED_TEXT:
            spans.update(quoted.strip() for quoted in pattern.findall(text) if quoted.strip())
        return spans


# --- tool arguments ---------------------------------------------------------------------------------


class ArgumentsGrammar:
    """Builds a GBNF grammar for the arguments object of one tool.

    ``grounding`` (optional) constrains strings to spans of the message and numbers to numbers in it
    (when it has any). ``include`` (optional) names the properties that may appear; required ones
    always do, in schema order, followed by the optional ones.
    """

    def __init__(self, grounding: Grounding | None = None, max_span_words: int = 8,
                 avoid: dict[str, list[Any]] | None = None) -> None:
        self.avoid = avoid or {}  # per argument: grounded values not to offer (already used elsewhere)
        self.rules: dict[str, str] = {}
        self.grounding = grounding
        self.max_span_words = max_span_words
        self._span_rule: str | None = None

    # rule bookkeeping
    def _add(self, hint: str, body: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-").lower() or "r"
        name, i = base, 1
        while name in self.rules and self.rules[name] != body:
            i += 1
            name = f"{base}-{i}"
        self.rules[name] = body
        return name

    def _span(self, avoid: list[Any] | None = None) -> str | None:
        """A rule matching any run of up to ``max_span_words`` consecutive words of the message (less the
        texts in ``avoid``, compared without case and punctuation, when that leaves any)."""
        texts = {_plain(v) for v in avoid or [] if isinstance(v, str)}
        if self._span_rule is not None and not texts:
            return self._span_rule
        spans = self.grounding.spans(self.max_span_words) if self.grounding else set()
        if texts:
            spans = {span for span in spans if _plain(span) not in texts} or spans
            return self._add("span-avoid", " | ".join(json_literal(span) for span in sorted(spans))) if spans else None
        if not spans:
            return None
        body = " | ".join(json_literal(span) for span in sorted(spans))
        self._span_rule = self._add("span", body)
        return self._span_rule

    def _numbers(self, integer: bool, avoid: list[Any], name: str = "", schema: dict | None = None) -> str | None:
        if not self.grounding or not self.grounding.numbers:
            return None
        values = (self.grounding.numbers_for(name, schema) if name else []) or self.grounding.numbers
        values = [v for v in values if not integer or float(v).is_integer()]
        values = [v for v in values if v not in avoid] or values
        if not values:
            return None
        return " | ".join(gbnf_literal(_format_number(v)) for v in values)

    def _number_runs(self, items: Any, avoid: list[Any]) -> str | None:
        """A list of numbers as a run of the numbers written in the message, in order (a small model left
        free repeats one number): runs within a group of numbers written together ("values 12, 24, 36"),
        or two neighbours ("from 1 to 3"); None when that does not apply."""
        if not self.grounding or not isinstance(items, dict) or items.get("type") not in ("integer", "number"):
            return None
        runs = set()
        for sequence in (self.grounding.sequence, self.grounding.fractions):
            numbered = list(zip(sequence, self.grounding.groups or [0] * len(sequence), strict=False))
            if items["type"] == "integer":
                numbered = [(v, g) for v, g in numbered if float(v).is_integer()]
            for start in range(len(numbered)):
                for end in range(start + 1, min(len(numbered), start + 10) + 1):
                    run = [v for v, _ in numbered[start:end]]
                    same_group = numbered[start][1] == numbered[end - 1][1]
                    if (same_group or end - start <= 2) and run not in avoid:
                        runs.add("[" + ", ".join(_format_number(v) for v in run) + "]")
        return " | ".join(gbnf_literal(run) for run in sorted(runs)) if runs else None

    def value(self, schema: Any, hint: str, name: str = "") -> str:
        """The right-hand side of a rule matching ``schema`` (``name``: the argument it is for)."""
        if not isinstance(schema, dict):
            return "value"
        if "enum" in schema and schema["enum"]:
            return " | ".join(json_literal(v) for v in schema["enum"])
        if "const" in schema:
            return json_literal(schema["const"])
        for key in ("anyOf", "oneOf"):
            if key in schema and schema[key]:
                return " | ".join(self._add(f"{hint}-{i}", self.value(s, f"{hint}-{i}"))
                                  for i, s in enumerate(schema[key]))
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self._add(f"{hint}-{k}", self.value({**schema, "type": k}, hint)) for k in kind)
        if kind == "string":
            typed = typed_values(name, schema, self.grounding.text) if self.grounding else []
            typed = typed or (address_values(name, schema, self.grounding.text) if self.grounding else [])
            if not typed and self.grounding and is_math_argument(name, schema):
                typed = expressions_in(self.grounding.text)  # the expression, not the words around it
            if not typed and self.grounding and role_words(name):
                typed = sorted(self.grounding.spans_after(role_words(name), self.max_span_words))
            if typed:  # a date or currency the message names, rendered as the tool wants it; an address
                return " | ".join(json_literal(v) for v in typed)
            span = self._span(self.avoid.get(name)) if self.grounding else None
            return span if span else "string"
        if kind in ("integer", "number"):
            grounded = self._numbers(kind == "integer", self.avoid.get(name, []), name, schema)
            return grounded if grounded else kind
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            runs = self._number_runs(schema.get("items", {}), self.avoid.get(name, []))
            if runs:
                return runs
            item = self._add(f"{hint}-item", self.value(schema.get("items", {}), f"{hint}-item"))
            return f'"[" ( {item} (", " {item}){{0,9}} )? "]"'
        if kind == "object" or "properties" in schema:
            props = schema.get("properties") or {}
            if not props:
                return "object"
            return self.object_body(props, list(schema.get("required", [])), None, hint)
        if kind is None and self.grounding and name:  # a value of any type: one the message writes
            span = self._span(self.avoid.get(name))
            numbers = self._numbers(False, self.avoid.get(name, []), name, schema)
            return " | ".join(rule for rule in (span, numbers) if rule) or "value"
        return "value"

    def object_body(self, props: dict, required: list[str], include: list[str] | None, hint: str,
                    fixed: dict[str, Any] | None = None, choices: dict[str, list[Any]] | None = None) -> str:
        """An object with ``required`` properties always present (in schema order), then any in-order
        subset of the optional ones ``include`` allows. ``fixed`` properties are always present, with
        exactly the given value; ``choices`` limits a property to the values listed."""
        fixed, choices = fixed or {}, choices or {}
        required = [name for name in props if name in required or name in fixed]
        optional = [name for name in props if name not in required and (include is None or name in include)]

        def pair(name: str) -> str:
            if name in fixed:
                value = json_literal(fixed[name])
            elif choices.get(name) and props[name].get("type") == "array":
                item = self._add(f"{hint}-{name}-item", " | ".join(json_literal(v) for v in choices[name]))
                value = f'"[" {item} (", " {item}){{0,{len(choices[name]) - 1}}} "]"'
            elif choices.get(name):
                value = " | ".join(json_literal(v) for v in choices[name])
            else:
                value = self.value(props[name], f"{hint}-{name}", name)
            return f"{gbnf_literal(json.dumps(name) + ': ')} {self._add(f'{hint}-{name}-v', value)}"

        pairs = {name: pair(name) for name in required + optional}
        if required:
            body = " \", \" ".join(f"{pairs[name]}" for name in required)
            tail = " ".join(f'(", " {pairs[name]})?' for name in optional)
            return f'"{{" {body} {tail} "}}"'
        if not optional:
            return '"{}"'
        # Any in-order subset of the optional properties.
        previous = None
        for name in reversed(optional):
            body = f"{pairs[name]} (\", \" {previous})? | {previous}" if previous else pairs[name]
            previous = self._add(f"{hint}-rest-{name}", body)
        return f'"{{" ({previous})? "}}"'

    def arguments(self, parameters: dict, include: list[str] | None = None, fixed: dict[str, Any] | None = None,
                  choices: dict[str, list[Any]] | None = None) -> str:
        """The rule name for a tool's arguments object (see ``object_body``)."""
        props = parameters.get("properties") or {}
        body = self.object_body(props, list(parameters.get("required", [])), include, "args",
                                {k: v for k, v in (fixed or {}).items() if k in props}, choices)
        return self._add("args", body)

    def render(self, root_body: str) -> str:
        """The full grammar text with ``root ::= root_body`` and every rule it uses."""
        lines = [f"root ::= {root_body}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        lines += [f"{name} ::= {body}" for name, body in _BASE_RULES.items()]
        return "\n".join(lines) + "\n"
