"""The remote backend: any OpenAI-compatible chat server (vLLM, Ollama, llama-server, llama_cpp.server).

Every request has a deadline (``timeout_s``, for connecting, each read, and the whole exchange), so
a server that accepts a connection and never answers fails with ``Unavailable`` instead of hanging.
Connection failures, HTTP 429 and 5xx are retried with exponential backoff (``max_retries``);
a body that is not the expected JSON is ``Unavailable`` too; HTTP 400/413/422 is the request's fault
(``InvalidInput``, e.g. a prompt over the server's context window).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx

from townsquare.errors import InvalidInput, Unavailable
from townsquare.llm.embedded import prepare_messages
from townsquare.llm.types import ChatResult, Message, ToolCall, Usage
from townsquare.metrics import LLMTimer

_RETRY_STATUS = {429, 500, 502, 503, 504}


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
        error = body.get("error", body) if isinstance(body, dict) else body
        message = error.get("message", error) if isinstance(error, dict) else error
        return str(message)[:300]
    except ValueError:
        return response.text[:300]


def _parse_tool_calls(raw: Any) -> list[ToolCall]:
    calls = []
    for item in raw or []:
        function = item.get("function") or {}
        arguments = function.get("arguments") or "{}"
        if isinstance(arguments, str):
            try:
                arguments = json.loads(arguments)
            except json.JSONDecodeError as exc:
                raise Unavailable(f"the server returned a tool call with arguments that are not JSON: {exc}")
        if not isinstance(arguments, dict) or not function.get("name"):
            raise Unavailable("the server returned a malformed tool call")
        call = ToolCall(name=function["name"], arguments=arguments)
        if item.get("id"):
            call.id = item["id"]
        calls.append(call)
    return calls


class RemoteTextStream:
    """Iterator of text pieces from a streamed (SSE) chat completion; closes its connection when done."""

    def __init__(self, client: RemoteLLM, body: dict[str, Any]) -> None:
        self._client, self._body = client, body
        self._events: Iterator[dict] | None = None
        self._cm: Any = None
        self.finish_reason: str | None = None
        self.usage = Usage()  # from the server's last chunk, when it sends one
        self._pieces = 0  # text pieces seen: the completion tokens when the server sends no usage
        self._timer: LLMTimer | None = LLMTimer("remote", client.name)
        self._error: BaseException | None = None

    def __iter__(self) -> RemoteTextStream:
        return self

    def _open(self) -> Iterator[dict]:
        self._cm, response = self._client._open_stream(self._body)
        deadline = time.monotonic() + self._client.timeout_s
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise Unavailable(f"the LLM server's stream ran past {self._client.timeout_s:.0f}s")
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except json.JSONDecodeError:
                raise Unavailable(f"the LLM server streamed something that is not JSON: {data[:100]!r}")
            yield event

    def __next__(self) -> str:
        try:
            if self._events is None:
                self._events = self._open()
            while True:
                event = next(self._events)
                if isinstance(event, dict) and isinstance(event.get("usage"), dict):
                    self.usage = Usage(event["usage"].get("prompt_tokens", 0) or 0,
                                       event["usage"].get("completion_tokens", 0) or 0)
                try:
                    choice = event["choices"][0]
                except (KeyError, IndexError, TypeError):
                    if isinstance(event, dict) and "error" in event:
                        raise Unavailable(f"the LLM server failed mid-stream: {event['error']}")
                    continue
                if choice.get("finish_reason"):
                    self.finish_reason = choice["finish_reason"]
                text = (choice.get("delta") or {}).get("content")
                if text:
                    self._pieces += 1
                    return text
        except StopIteration:
            self.close()
            raise
        except httpx.TimeoutException:
            self._error = Unavailable("timeout")
            self.close()
            raise Unavailable(f"the LLM server stopped answering for {self._client.timeout_s:.0f}s")
        except httpx.HTTPError as exc:
            self._error = Unavailable("connection")
            self.close()
            raise Unavailable(f"the LLM server connection failed: {exc.__class__.__name__}: {exc}")
        except BaseException as exc:
            self._error = exc
            self.close()
            raise

    def close(self) -> None:
        if self._timer is not None and (self._events is not None or self._error is not None):
            timer, self._timer = self._timer, None
            timer.tokens(self.usage.prompt_tokens, self.usage.completion_tokens or self._pieces)
            timer.finish(self._error)
        if self._cm is not None:
            cm, self._cm = self._cm, None
            try:
                cm.__exit__(None, None, None)
            except Exception:
                pass

    def __del__(self) -> None:
        self.close()


class RemoteLLM:
    """A client for one model on an OpenAI-compatible server."""

    backend = "remote"

    def __init__(self, base_url: str, model: str = "", api_key: str = "", *, timeout_s: float = 120.0,
                 max_retries: int = 2, backoff_s: float = 0.5, n_ctx: int = 0) -> None:
        if not base_url:
            raise InvalidInput("llm_base_url is required for the remote backend (e.g. http://127.0.0.1:8080/v1)")
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInput(f"llm_base_url must start with http:// or https://, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = model or "remote"
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.n_ctx = n_ctx
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 10.0))
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout)
        # Learned on first use: does the server take response_format json_schema / native tools?
        self.json_schema_mode: str | None = None
        self.native_tools: bool | None = None  # None: not asked yet (see LLM._server_honours_tools)

    def close(self) -> None:
        self._http.close()

    # --- transport ----------------------------------------------------------------------------------
    def _attempts(self) -> Iterator[int]:
        for attempt in range(self.max_retries + 1):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            yield attempt

    def _raise_for(self, response: httpx.Response) -> None:
        message = _server_message(response)
        if response.status_code in (400, 413, 422):
            raise InvalidInput(f"the LLM server rejected the request: {message}")
        if response.status_code in (401, 403):
            raise Unavailable(f"the LLM server refused our credentials (HTTP {response.status_code}): {message}")
        raise Unavailable(f"the LLM server answered HTTP {response.status_code}: {message}")

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """POST JSON and return the JSON answer, retrying what is worth retrying."""
        deadline = time.monotonic() + self.timeout_s * (self.max_retries + 1)
        last: Exception | None = None
        for _ in self._attempts():
            if time.monotonic() > deadline:
                break
            try:
                response = self._http.post(path, json=body)
            except httpx.TimeoutException:
                # A server that takes our request and never answers will do it again: stop here.
                raise Unavailable(f"the LLM server at {self.base_url} did not answer within {self.timeout_s:.0f}s")
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code in _RETRY_STATUS:
                last = Unavailable(f"the LLM server answered HTTP {response.status_code}: {_server_message(response)}")
                continue
            if response.status_code != 200:
                self._raise_for(response)
            try:
                data = response.json()
            except ValueError:
                raise Unavailable(f"the LLM server returned something that is not JSON: {response.text[:100]!r}")
            if not isinstance(data, dict):
                raise Unavailable("the LLM server returned JSON of an unexpected shape")
            return data
        if isinstance(last, Unavailable):
            raise last
        raise Unavailable(f"cannot reach the LLM server at {self.base_url}: "
                          f"{last.__class__.__name__ if last else 'deadline'}: {last}")

    def _open_stream(self, body: dict[str, Any]) -> tuple[Any, httpx.Response]:
        last: Exception | None = None
        for _ in self._attempts():
            cm = self._http.stream("POST", "/chat/completions", json=body)
            try:
                response = cm.__enter__()
            except httpx.TimeoutException:
                raise Unavailable(f"the LLM server at {self.base_url} did not answer within {self.timeout_s:.0f}s")
            except httpx.HTTPError as exc:
                last = exc
                continue
            if response.status_code == 200:
                return cm, response
            response.read()
            cm.__exit__(None, None, None)
            if response.status_code in _RETRY_STATUS:
                last = Unavailable(f"the LLM server answered HTTP {response.status_code}: {_server_message(response)}")
                continue
            self._raise_for(response)
        if isinstance(last, Unavailable):
            raise last
        raise Unavailable(f"cannot reach the LLM server at {self.base_url}: {last.__class__.__name__}: {last}")

    # --- chat ---------------------------------------------------------------------------------------
    def body(self, messages: list[Message], *, max_tokens: int | None, temperature: float,
             stop: list[str] | None, seed: int | None, **extra: Any) -> dict[str, Any]:
        if not messages:
            raise InvalidInput("messages must not be empty")
        body: dict[str, Any] = {"messages": messages, "temperature": temperature}
        if self.model:
            body["model"] = self.model
        if max_tokens is not None:
            if max_tokens < 1:
                raise InvalidInput("max_tokens must be at least 1")
            body["max_tokens"] = max_tokens
        if stop:
            body["stop"] = stop
        if seed is not None:
            body["seed"] = seed
        body.update({key: value for key, value in extra.items() if value is not None})
        return body

    def chat(self, messages: list[Message], *, max_tokens: int | None = None, temperature: float = 0.0,
             stop: list[str] | None = None, seed: int | None = None, stream: bool = False,
             grammar: str | None = None, clip: bool = False, **extra: Any) -> ChatResult | RemoteTextStream:
        """Chat completion; ``extra`` passes OpenAI fields through (``tools``, ``response_format``...).

        ``clip`` is accepted for symmetry with the embedded backend (the server clips on its own)."""
        if grammar:
            extra["grammar"] = grammar  # llama-server and llama_cpp.server accept a GBNF grammar field
        body = self.body(messages, max_tokens=max_tokens, temperature=temperature, stop=stop, seed=seed, **extra)
        if stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})  # the usage arrives in a last chunk
            return RemoteTextStream(self, body)
        with LLMTimer("remote", self.name) as timer:
            data = self.post("/chat/completions", body)
            usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
            timer.tokens(usage.get("prompt_tokens", 0) or 0, usage.get("completion_tokens", 0) or 0)
        try:
            choice = data["choices"][0]
            message = choice["message"]
            text = message.get("content") or ""
            if not isinstance(text, str):
                raise TypeError("content is not text")
        except (KeyError, IndexError, TypeError) as exc:
            raise Unavailable(f"the LLM server returned a reply without a message: {exc}")
        usage = data.get("usage") or {}
        return ChatResult(text=text, tool_calls=_parse_tool_calls(message.get("tool_calls")),
                          finish_reason=choice.get("finish_reason") or "stop",
                          usage=Usage(usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)),
                          model=data.get("model") or self.name)

    def render(self, messages: list[Message]) -> list[Message]:
        return prepare_messages(messages)
