"""One interface to every model Townsquare uses: ``get_llm(role)`` -> ``LLM``.

    from townsquare.llm.runtime import get_llm

    llm = get_llm("assistant")
    llm.chat([{"role": "user", "content": "Hi"}]).text              # one reply
    for piece in llm.chat(messages, stream=True): print(piece, end="")  # streamed text
    llm.complete_json(messages, {"type": "object", ...})            # parsed, schema-valid JSON
    llm.chat_with_tools(messages, tools, tool_choice="auto")        # ChatResult with .tool_calls
    llm.embed(["some text"])                                         # [n, 384] unit vectors

Roles: ``assistant``, ``creator``, ``guard``, ``embeddings`` (see ``role_spec``). Roles that resolve to
the same model share one loaded instance, and with it one request queue.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np

from townsquare.config import Settings, load_settings
from townsquare.errors import InvalidInput, Unavailable
from townsquare.llm.embedded import EmbeddedLLM
from townsquare.llm.grounders import parse_grounders
from townsquare.llm.remote import RemoteLLM
from townsquare.llm.tool_calling import ToolCaller, ToolLayerConfig
from townsquare.llm.tool_parsers import parse_tool_calls
from townsquare.llm.tools import ToolRouter, check_call, normalise_tools, parse_tool_choice
from townsquare.llm.types import ChatResult, Message, ToolCall

ROLES = ("assistant", "creator", "guard", "embeddings")

_instances: dict[tuple, Any] = {}
_instances_lock = threading.Lock()


def role_spec(settings: Settings, role: str) -> tuple[str, str]:
    """``(backend, model)`` for a role: ``("embedded", gguf_path_or_empty)`` or ``("remote", model_name)``."""
    if role not in ROLES:
        raise InvalidInput(f"unknown model role {role!r} (one of {', '.join(ROLES)})")
    override = {"assistant": settings.assistant_model, "creator": settings.creator_model,
                "guard": settings.guard_model}.get(role, "")
    if override:
        return ("embedded", override) if override.endswith(".gguf") else ("remote", override)
    if settings.llm_backend == "embedded":
        return "embedded", settings.llm_model_path
    if settings.llm_backend == "remote":
        return "remote", settings.llm_model
    raise InvalidInput(f"unknown llm_backend {settings.llm_backend!r} (use 'embedded' or 'remote')")


def _backend(settings: Settings, kind: str, model: str) -> EmbeddedLLM | RemoteLLM:
    if kind == "embedded":
        key = ("embedded", model, settings.llm_context, settings.llm_threads, settings.llm_queue_size)
    else:
        key = ("remote", settings.llm_base_url, model, settings.llm_api_key, settings.llm_timeout_s)
    with _instances_lock:
        backend = _instances.get(key)
        if backend is None:
            if kind == "embedded":
                backend = EmbeddedLLM(model or None, n_ctx=settings.llm_context, n_threads=settings.llm_threads,
                                      queue_size=settings.llm_queue_size, timeout_s=settings.llm_timeout_s)
            else:
                backend = RemoteLLM(settings.llm_base_url, model, settings.llm_api_key,
                                    timeout_s=settings.llm_timeout_s, max_retries=settings.llm_max_retries)
            _instances[key] = backend
        return backend


def loaded_backends() -> list[EmbeddedLLM | RemoteLLM]:
    """Every backend this process has created (for metrics: queue depth)."""
    with _instances_lock:
        return list(_instances.values())


def get_llm(role: str = "assistant", settings: Settings | None = None) -> LLM:
    """The model configured for ``role`` (loaded lazily, shared between roles that use the same one)."""
    settings = settings or load_settings()
    kind, model = role_spec(settings, role)
    return LLM(_backend(settings, kind, model), settings, role)


def _validate_schema(schema: Any) -> None:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict):
        raise InvalidInput("a JSON schema must be an object")
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        raise InvalidInput(f"invalid JSON schema: {exc.message}")


class LLM:
    """A model for one role. Every method raises ``InvalidInput``, ``Busy`` or ``Unavailable`` on failure."""

    def __init__(self, backend: EmbeddedLLM | RemoteLLM, settings: Settings, role: str = "assistant") -> None:
        self.backend = backend
        self.settings = settings
        self.role = role
        self._router = ToolRouter(settings.llm_tool_threshold, settings)

    @property
    def name(self) -> str:
        return self.backend.name

    def chat(self, messages: list[Message], *, max_tokens: int | None = None, temperature: float = 0.0,
             stop: list[str] | None = None, stream: bool = False, seed: int | None = None
             ) -> ChatResult | Iterator[str]:
        """A reply to ``messages`` (OpenAI chat format); ``stream=True`` returns an iterator of text pieces.

        Without ``max_tokens`` the reply may use up to ``llm_max_tokens``, shortened to fit the context
        window; an explicit ``max_tokens`` that does not fit is ``InvalidInput``."""
        return self.backend.chat(messages, max_tokens=max_tokens or self.settings.llm_max_tokens,
                                 temperature=temperature, stop=stop, stream=stream, seed=seed,
                                 clip=max_tokens is None)

    def embed(self, texts: list[str]) -> np.ndarray:
        from townsquare.llm.embeddings import embed_texts

        return embed_texts(texts, settings=self.settings)

    # --- structured output --------------------------------------------------------------------------
    def complete_json(self, messages: list[Message], schema: dict[str, Any], *, max_tokens: int | None = None,
                      temperature: float = 0.0) -> Any:
        """A JSON value that validates against ``schema`` (grammar-constrained on the embedded model)."""
        from jsonschema import Draft202012Validator

        _validate_schema(schema)
        max_tokens = max_tokens or self.settings.llm_max_tokens
        if isinstance(self.backend, EmbeddedLLM):
            from townsquare.llm.grammar import schema_grammar

            result = self.backend.chat(messages, grammar=schema_grammar(schema), max_tokens=max_tokens,
                                       temperature=temperature)
        else:
            result = self._remote_json(messages, schema, max_tokens, temperature)
        try:
            value = json.loads(result.text)
        except json.JSONDecodeError:
            cut = " (cut off at max_tokens; allow more tokens)" if result.finish_reason == "length" else ""
            raise Unavailable(f"the model did not return complete JSON{cut}: {result.text[:120]!r}")
        errors = list(Draft202012Validator(schema).iter_errors(value))
        if errors:
            raise Unavailable(f"the model's JSON does not match the schema: {errors[0].message}")
        return value

    def _remote_json(self, messages: list[Message], schema: dict, max_tokens: int, temperature: float) -> ChatResult:
        backend = self.backend
        assert isinstance(backend, RemoteLLM)
        formats = {
            "json_schema": {"type": "json_schema", "json_schema": {"name": "output", "schema": schema, "strict": True}},
            "json_object": {"type": "json_object", "schema": schema},  # llama_cpp.server's spelling
        }
        order = [backend.json_schema_mode] if backend.json_schema_mode else ["json_schema", "json_object"]
        last: Exception | None = None
        for mode in order:
            try:
                result = backend.chat(messages, max_tokens=max_tokens, temperature=temperature,
                                      response_format=formats[mode])
            except (InvalidInput, Unavailable) as exc:
                if "response_format" in str(exc) or "json_schema" in str(exc):
                    last = exc
                    continue
                raise
            backend.json_schema_mode = mode
            return result
        raise Unavailable(f"the LLM server supports no JSON-schema output: {last}")

    # --- tools --------------------------------------------------------------------------------------
    def chat_with_tools(self, messages: list[Message], tools: list[dict[str, Any]], tool_choice: Any = "auto", *,
                        parallel_tool_calls: bool = True, respond: bool = True, max_tokens: int | None = None,
                        temperature: float = 0.0, grounders: list[str] | None = None) -> ChatResult:
        """One assistant turn that may call tools.

        ``tools``: OpenAI ``tools`` list. ``tool_choice``: ``"auto"`` (call if relevant), ``"none"``,
        ``"required"``, or a tool name / ``{"type": "function", "function": {"name": ...}}``.
        ``parallel_tool_calls``: allow several calls in the turn. ``respond``: when no tool is called,
        generate the text reply (False returns an empty text; useful for routing only). ``grounders``: the
        grounders our layer uses (default: ``llm_tool_grounders``; see ``townsquare/llm/grounders.py``).
        Every returned call names an offered tool and has arguments that validate against its schema.
        """
        normalised = normalise_tools(tools)
        mode, forced = parse_tool_choice(tool_choice, normalised)
        if mode == "none":
            return self.chat(messages, max_tokens=max_tokens, temperature=temperature)  # type: ignore[return-value]
        clip = max_tokens is None
        max_tokens = max_tokens or self.settings.llm_max_tokens
        tool_mode = self.settings.llm_tool_mode
        if isinstance(self.backend, RemoteLLM) and (tool_mode == "native" or (
                tool_mode == "auto" and self._server_honours_tools())):
            try:
                result = self._native_tools(messages, normalised, tool_choice, parallel_tool_calls, max_tokens,
                                            temperature)
            except InvalidInput as exc:
                if tool_mode == "native" or "tool" not in str(exc).lower():
                    raise
                self.backend.native_tools = False
            else:
                if mode == "required" and not result.tool_calls and tool_mode == "auto":
                    self.backend.native_tools = False  # a required call did not come: the server ignores tools
                else:
                    for call in result.tool_calls:
                        check_call(call, normalised)
                    return result
        active = parse_grounders(self.settings.llm_tool_grounders if grounders is None else grounders)
        caller = ToolCaller(self.backend, self._router, ToolLayerConfig(self.settings.llm_tool_threshold,
                                                                        grounders=active))
        return caller.call(messages, normalised, mode, forced, parallel=parallel_tool_calls, respond=respond,
                           max_tokens=max_tokens, temperature=temperature, clip=clip)

    def _server_honours_tools(self) -> bool:
        """Does the server act on ``tools``? Asked once per server with a probe that must call a tool.

        Some OpenAI-compatible servers take ``tools`` and ignore them (llama_cpp.server with a plain chat
        format answers in text, 0% calls); those go through our constrained layer instead. A server that
        rejects ``tool_choice="required"`` is trusted with native tools, as before."""
        backend = self.backend
        assert isinstance(backend, RemoteLLM)
        if backend.native_tools is None:
            probe = [{"type": "function", "function": {"name": "ping", "description": "Answer a ping.",
                                                        "parameters": {"type": "object", "properties": {}}}}]
            try:
                result = backend.chat([{"role": "user", "content": "Call the ping function."}], max_tokens=24,
                                      temperature=0.0, tools=probe, tool_choice="required")
            except InvalidInput:
                backend.native_tools = True
            else:
                calls = result.tool_calls or parse_tool_calls(result.text)[1]
                backend.native_tools = bool(calls)
        return backend.native_tools

    def _native_tools(self, messages: list[Message], tools: list, tool_choice: Any, parallel: bool,
                      max_tokens: int, temperature: float) -> ChatResult:
        backend = self.backend
        assert isinstance(backend, RemoteLLM)
        if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "required"):
            tool_choice = {"type": "function", "function": {"name": tool_choice}}
        result = backend.chat(messages, max_tokens=max_tokens, temperature=temperature,
                              tools=[tool.to_openai() for tool in tools], tool_choice=tool_choice,
                              parallel_tool_calls=parallel)
        assert isinstance(result, ChatResult)
        if not result.tool_calls and result.text:
            # Servers without a tool parser hand back the model's raw call text.
            remaining, calls = parse_tool_calls(result.text)
            if calls:
                result.text, result.tool_calls = remaining, calls
        if result.tool_calls:
            result.finish_reason = "tool_calls"
            if not parallel:
                result.tool_calls = result.tool_calls[:1]
        return result


def parse_calls_in_text(text: str, tools: list[dict[str, Any]]) -> list[ToolCall]:
    """Parse tool calls written as text (Llama JSON / pythonic, Hermes tags) and check them against ``tools``."""
    normalised = normalise_tools(tools)
    _, calls = parse_tool_calls(text)
    for call in calls:
        check_call(call, normalised)
    return calls
