"""Tool descriptions (OpenAI ``tools`` format): normalising, validating calls, relevance by embeddings.

A tool is ``{"type": "function", "function": {"name", "description", "parameters"}}`` (the bare
inner object is accepted too). ``parameters`` is a JSON schema for an object; loose type names seen
in the wild (``dict``, ``float``, ``tuple``, ``any``) are mapped to JSON schema. An invalid schema
is ``InvalidInput``; a call that names a tool not offered is ``UnknownTool``.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any

import numpy as np

from townsquare.errors import InvalidInput
from townsquare.llm.grammar import normalise_schema
from townsquare.llm.types import ToolCall, UnknownTool

_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,127}$")


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]

    @property
    def properties(self) -> dict[str, Any]:
        return self.parameters.get("properties") or {}

    @property
    def required(self) -> list[str]:
        return [name for name in self.parameters.get("required", []) if name in self.properties]

    def doc(self) -> str:
        """What the tool is about, as text for the embeddings model."""
        words = re.sub(r"[._\-]+", " ", self.name)
        words = re.sub(r"([a-z])([A-Z])", r"\1 \2", words)
        return f"{words}: {self.description}".strip()

    def selection_doc(self) -> str:
        """What the tool does and what it needs: tells apart similar tools offered together."""
        params = ", ".join(re.sub(r"[._\-]+", " ", name) for name in self.properties)
        return f"{self.doc()} Arguments: {params}." if params else self.doc()

    def to_openai(self) -> dict[str, Any]:
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                 "parameters": self.parameters}}


def normalise_tools(tools: list[dict[str, Any]] | None) -> list[Tool]:
    """Validate and normalise tool descriptions; raise ``InvalidInput`` on anything unusable."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    out: list[Tool] = []
    for raw in tools or []:
        if isinstance(raw, Tool):
            out.append(raw)
            continue
        if not isinstance(raw, dict):
            raise InvalidInput("each tool must be an object")
        spec = raw.get("function", raw) if raw.get("type", "function") == "function" else None
        if not isinstance(spec, dict):
            raise InvalidInput(f"unsupported tool type {raw.get('type')!r} (only 'function')")
        name = spec.get("name")
        if not isinstance(name, str) or not _NAME_RE.match(name):
            raise InvalidInput(f"invalid tool name {name!r} (letters, digits, _ . -; at most 128)")
        parameters = normalise_schema(spec.get("parameters") or {"type": "object", "properties": {}})
        if not isinstance(parameters, dict):
            raise InvalidInput(f"tool {name!r}: parameters must be a JSON schema object")
        parameters.setdefault("type", "object")
        if parameters.get("type") != "object":
            raise InvalidInput(f"tool {name!r}: parameters must describe an object, not {parameters.get('type')!r}")
        try:
            Draft202012Validator.check_schema(parameters)
        except SchemaError as exc:
            raise InvalidInput(f"tool {name!r} has an invalid parameters schema: {exc.message}")
        if not isinstance(parameters.get("properties", {}), dict):
            raise InvalidInput(f"tool {name!r}: 'properties' must be an object")
        out.append(Tool(name=name, description=str(spec.get("description") or ""), parameters=parameters))
    names = [tool.name for tool in out]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise InvalidInput(f"duplicate tool names: {', '.join(sorted(duplicates))}")
    return out


def check_call(call: ToolCall, tools: list[Tool]) -> None:
    """Raise ``UnknownTool`` if the call names no offered tool, ``InvalidInput`` if its arguments are wrong."""
    from jsonschema import Draft202012Validator

    by_name = {tool.name: tool for tool in tools}
    tool = by_name.get(call.name)
    if tool is None:
        offered = ", ".join(sorted(by_name)) or "none"
        raise UnknownTool(f"the model called a tool that does not exist: {call.name!r} (offered: {offered})")
    errors = sorted(Draft202012Validator(tool.parameters).iter_errors(call.arguments), key=lambda e: list(e.path))
    if errors:
        raise InvalidInput(f"arguments for {call.name!r} do not match its schema: {errors[0].message}")


def parse_tool_choice(tool_choice: Any, tools: list[Tool]) -> tuple[str, str | None]:
    """``auto`` | ``none`` | ``required`` | ``{"type": "function", "function": {"name": ...}}`` (or a name)."""
    if tool_choice is None:
        tool_choice = "auto"
    if isinstance(tool_choice, dict):
        name = (tool_choice.get("function") or {}).get("name") or tool_choice.get("name")
        tool_choice = name
        if not name:
            raise InvalidInput("tool_choice object must name a function")
        forced = True
    else:
        forced = tool_choice not in ("auto", "none", "required")
    if forced:
        if tool_choice not in {tool.name for tool in tools}:
            raise UnknownTool(f"tool_choice names a tool that was not offered: {tool_choice!r}")
        return "required", str(tool_choice)
    if tool_choice in ("auto", "required") and not tools:
        return "none", None
    return str(tool_choice), None


class ToolRouter:
    """Relevance of tools to a request, by MiniLM cosine similarity of request and tool descriptions.

    ``threshold``: below it, no tool is relevant (``tool_choice="auto"`` then answers in text). It was
    calibrated on our own synthetic tool set (``townsquare/llm/calibration.py``), not on any benchmark.
    """

    def __init__(self, threshold: float = 0.33, settings: Any = None) -> None:
        self.threshold = threshold
        self.settings = settings
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()

    def _embed(self, texts: list[str]) -> np.ndarray:
        from townsquare.llm.embeddings import embed_texts

        missing = [text for text in dict.fromkeys(texts) if text not in self._cache]
        if missing:
            vectors = embed_texts(missing, settings=self.settings)
            with self._lock:
                if len(self._cache) > 5000:
                    self._cache.clear()
                self._cache.update(zip(missing, vectors, strict=True))
        return np.stack([self._cache[text] for text in texts])

    def scores(self, query: str, tools: list[Tool]) -> np.ndarray:
        if not tools:
            return np.zeros(0, dtype=np.float32)
        vectors = self._embed([query] + [tool.doc() for tool in tools])
        return vectors[1:] @ vectors[0]

    def rank(self, query: str, tools: list[Tool]) -> list[tuple[Tool, float]]:
        """Tools by relevance (name + description, the calibrated score), best first; among several
        tools the order also weighs what each needs (their argument names)."""
        scores = self.scores(query, tools)
        order_by = scores
        if len(tools) > 1:
            vectors = self._embed([query] + [tool.selection_doc() for tool in tools])
            order_by = scores + vectors[1:] @ vectors[0]
        order = np.argsort(-order_by, kind="stable")
        return [(tools[i], float(scores[i])) for i in order]
