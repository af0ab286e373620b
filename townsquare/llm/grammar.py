"""JSON schema -> llama.cpp GBNF grammars.

Two uses:

- ``schema_grammar(schema)``: any JSON schema, through llama.cpp's own converter (shipped with
  llama-cpp-python), for structured output (``complete_json``).
- ``ArgumentsGrammar``: our converter for tool arguments (any schema: scalars, enums, arrays, nested
  objects, anyOf). It emits a compact canonical JSON layout (``{"a": 1, "b": "x"}``) so the model
  spends no tokens on whitespace, and it takes per-argument *offers* (``grounders.Offer``): the values
  the request gives for an argument, which then replace the argument's type grammar. Anything it does
  not understand falls back to unconstrained JSON of the right type.
"""

from __future__ import annotations

import json
import re
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


# --- tool arguments ---------------------------------------------------------------------------------


class ArgumentsGrammar:
    """Builds a GBNF grammar for the arguments object of one tool.

    ``offers``: per top-level argument, the values allowed (``Offer.values``; with ``Offer.items`` the
    allowed items of an array). ``include``: the optional arguments that may appear (None: all);
    ``required`` ones always do, in schema order, followed by the optional ones in schema order.
    """

    def __init__(self, offers: dict[str, Any] | None = None) -> None:
        self.offers = offers or {}
        self.rules: dict[str, str] = {}
        self._depth = 0

    def _add(self, hint: str, body: str) -> str:
        base = re.sub(r"[^a-zA-Z0-9-]+", "-", hint).strip("-").lower() or "r"
        name, i = base, 1
        while name in self.rules and self.rules[name] != body:
            i += 1
            name = f"{base}-{i}"
        self.rules[name] = body
        return name

    def value(self, schema: Any, hint: str) -> str:
        """The right-hand side of a rule matching ``schema`` by type."""
        if not isinstance(schema, dict) or self._depth > 6:
            return "value"
        if schema.get("enum"):
            return " | ".join(json_literal(v) for v in schema["enum"])
        if "const" in schema:
            return json_literal(schema["const"])
        for key in ("anyOf", "oneOf"):
            if schema.get(key):
                return " | ".join(self._add(f"{hint}-{i}", self.value(s, f"{hint}-{i}"))
                                  for i, s in enumerate(schema[key]))
        kind = schema.get("type")
        if isinstance(kind, list):
            return " | ".join(self._add(f"{hint}-{k}", self.value({**schema, "type": k}, hint)) for k in kind)
        if kind in ("string", "integer", "number", "boolean", "null"):
            return kind
        if kind == "array":
            self._depth += 1
            item = self._add(f"{hint}-item", self.value(schema.get("items", {}), f"{hint}-item"))
            self._depth -= 1
            return f'"[" ( {item} (", " {item}){{0,9}} )? "]"'
        if kind == "object" or "properties" in schema:
            props = schema.get("properties") or {}
            if not isinstance(props, dict) or not props:
                return "object"
            self._depth += 1
            body = self.object_body(props, list(schema.get("required", [])), None, hint, top=False)
            self._depth -= 1
            return body
        return "value"

    def _offered(self, name: str, schema: dict, hint: str) -> str:
        offer = self.offers.get(name)
        if offer is None or not offer.values:
            return self.value(schema, f"{hint}-{name}")
        if offer.items:
            item = self._add(f"{hint}-{name}-item", " | ".join(json_literal(v) for v in offer.values))
            most = max(0, min(len(offer.values), 10) - 1)
            return f'"[" {item} (", " {item}){{0,{most}}} "]"'
        return " | ".join(json_literal(v) for v in offer.values)

    def object_body(self, props: dict, required: list[str], include: list[str] | None, hint: str,
                    top: bool = True) -> str:
        """An object with ``required`` properties always present (in schema order), then any in-order
        subset of the optional ones ``include`` allows (at the top level, offers replace type grammars)."""
        required = [name for name in props if name in required]
        optional = [name for name in props if name not in required and (include is None or name in include)]

        def pair(name: str) -> str:
            schema = props[name] if isinstance(props[name], dict) else {}
            value = self._offered(name, schema, hint) if top else self.value(schema, f"{hint}-{name}")
            return f"{gbnf_literal(json.dumps(name) + ': ')} {self._add(f'{hint}-{name}-v', value)}"

        pairs = {name: pair(name) for name in required + optional}
        if required:
            body = ' ", " '.join(pairs[name] for name in required)
            tail = " ".join(f'(", " {pairs[name]})?' for name in optional)
            return f'"{{" {body} {tail} "}}"'
        if not optional:
            return '"{}"'
        previous = None  # any in-order subset of the optional properties
        for name in reversed(optional):
            body = f'{pairs[name]} (", " {previous})? | {previous}' if previous else pairs[name]
            previous = self._add(f"{hint}-rest-{name}", body)
        return f'"{{" ({previous})? "}}"'

    def arguments(self, parameters: dict, include: list[str] | None = None, required: list[str] | None = None) -> str:
        """The rule name for a tool's arguments object (``required``: overrides the schema's list)."""
        props = parameters.get("properties") or {}
        needed = list(parameters.get("required", [])) if required is None else required
        return self._add("args", self.object_body(props, needed, include, "args"))

    def render(self, root_body: str) -> str:
        """The full grammar text with ``root ::= root_body`` and every rule it uses."""
        lines = [f"root ::= {root_body}"]
        lines += [f"{name} ::= {body}" for name, body in self.rules.items()]
        lines += [f"{name} ::= {body}" for name, body in _BASE_RULES.items()]
        return "\n".join(lines) + "\n"
