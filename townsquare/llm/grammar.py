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
import re
from dataclasses import dataclass, field
from typing import Any

from townsquare.errors import InvalidInput

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
}
_NUMBER_RE = re.compile(r"(?<![\w.])(-\s?)?\$?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(%)?"
                        r"(?:(K|M|B|bn)\b|\s?(thousand|million|billion)\b)?")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_WORD_RE = re.compile(r"[^\s\"“”()\[\]{}<>?!;]+")


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


def number_sequence(text: str) -> list[float]:
    """The numbers written in ``text`` (digits only), in order, repeats kept: what a list is made of."""
    values = []
    for match in _matches(text):
        sign, digits, decimals, _percent, suffix, word = match.groups()
        value = float(digits.replace(",", "") + (decimals or "")) * (_SCALE[word] if word else 1)
        values.append(-value if sign else value)
    return values


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
        found.append(value)
        if percent:
            found.append(value / 100)
    for word in re.findall(r"[a-zA-Z]+", text.lower()):
        if word in _NUMBER_WORDS:
            found.append(float(_NUMBER_WORDS[word]))
    unique: list[float] = []
    for value in found:
        if value not in unique:
            unique.append(value)
    return unique


@dataclass
class Grounding:
    """Argument values available in the user's message: word spans and numbers."""

    text: str
    words: list[str] = field(default_factory=list)
    numbers: list[float] = field(default_factory=list)
    sequence: list[float] = field(default_factory=list)

    @classmethod
    def from_text(cls, text: str) -> Grounding:
        words = []
        for word in _WORD_RE.findall(text):
            word = word.strip(".,:'")
            if word:
                words.append(word)
        return cls(text=text, words=words, numbers=numbers_in(text), sequence=number_sequence(text))


# --- tool arguments ---------------------------------------------------------------------------------


class ArgumentsGrammar:
    """Builds a GBNF grammar for the arguments object of one tool.

    ``grounding`` (optional) constrains strings to spans of the message and numbers to numbers in it
    (when it has any). ``include`` (optional) names the properties that may appear; required ones
    always do, in schema order, followed by the optional ones.
    """

    def __init__(self, grounding: Grounding | None = None, max_span_words: int = 8) -> None:
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

    def _span(self) -> str | None:
        """A rule matching any run of up to ``max_span_words`` consecutive words of the message."""
        if self._span_rule is not None:
            return self._span_rule
        words = self.grounding.words if self.grounding else []
        if not words:
            return None
        spans: set[str] = set()
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self.max_span_words) + 1):
                spans.add(" ".join(words[start:end]))
        body = " | ".join(json_literal(span) for span in sorted(spans))
        self._span_rule = self._add("span", body)
        return self._span_rule

    def _numbers(self, integer: bool) -> str | None:
        if not self.grounding or not self.grounding.numbers:
            return None
        values = [v for v in self.grounding.numbers if not integer or float(v).is_integer()]
        if not values:
            return None
        return " | ".join(gbnf_literal(_format_number(v)) for v in values)

    def _number_runs(self, items: Any) -> str | None:
        """A list of numbers as a contiguous run of the numbers written in the message, in order
        (a small model left free repeats one number); None when that does not apply."""
        if not self.grounding or not isinstance(items, dict) or items.get("type") not in ("integer", "number"):
            return None
        sequence = self.grounding.sequence
        if items["type"] == "integer":
            sequence = [v for v in sequence if float(v).is_integer()]
        if not sequence:
            return None
        runs = set()
        for start in range(len(sequence)):
            for end in range(start + 1, min(len(sequence), start + 10) + 1):
                runs.add("[" + ", ".join(_format_number(v) for v in sequence[start:end]) + "]")
        return " | ".join(gbnf_literal(run) for run in sorted(runs))

    def value(self, schema: Any, hint: str) -> str:
        """The right-hand side of a rule matching ``schema``."""
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
            span = self._span() if self.grounding else None
            return span if span else "string"
        if kind in ("integer", "number"):
            grounded = self._numbers(kind == "integer")
            return grounded if grounded else kind
        if kind == "boolean":
            return "boolean"
        if kind == "null":
            return "null"
        if kind == "array":
            runs = self._number_runs(schema.get("items", {}))
            if runs:
                return runs
            item = self._add(f"{hint}-item", self.value(schema.get("items", {}), f"{hint}-item"))
            return f'"[" ( {item} (", " {item}){{0,9}} )? "]"'
        if kind == "object" or "properties" in schema:
            props = schema.get("properties") or {}
            if not props:
                return "object"
            return self.object_body(props, list(schema.get("required", [])), None, hint)
        return "value"

    def object_body(self, props: dict, required: list[str], include: list[str] | None, hint: str) -> str:
        required = [name for name in props if name in required]
        optional = [name for name in props if name not in required and (include is None or name in include)]
        pairs = {name: f"{gbnf_literal(json.dumps(name) + ': ')} {self._add(f'{hint}-{name}-v', self.value(props[name], f'{hint}-{name}'))}"
                 for name in required + optional}
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

    def arguments(self, parameters: dict, include: list[str] | None = None) -> str:
        """The rule name for a tool's arguments object."""
        props = parameters.get("properties") or {}
        body = self.object_body(props, list(parameters.get("required", [])), include, "args")
        return self._add("args", body)

    def render(self, root_body: str) -> str:
        """The full grammar text with ``root ::= root_body`` and every rule it uses."""
        lines = [f"root ::= {root_body}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        lines += [f"{name} ::= {body}" for name, body in _BASE_RULES.items()]
        return "\n".join(lines) + "\n"
