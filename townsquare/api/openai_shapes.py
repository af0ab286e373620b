"""The OpenAI chat-completions format: the request body, and responses as one body or as a stream
of chunks. Used by ``/v1`` for the assistant (``openai_compat.py``) and for creator AIs
(``studio_chat.py``)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from townsquare.assistant.agent import Generation
from townsquare.errors import TownsquareError


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # user, top_p, seed...: accepted, not used
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(None, ge=1, le=8192)
    max_completion_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    conversation_id: str | None = Field(None, max_length=20, description="Townsquare: continue this conversation.")

    def generation(self) -> Generation:
        stop = [self.stop] if isinstance(self.stop, str) else list(self.stop or [])
        return Generation(max_tokens=self.max_completion_tokens or self.max_tokens,
                                temperature=self.temperature or 0.0, stop=stop or None)


def text_of(message: ChatMessageIn) -> str:
    if isinstance(message.content, list):
        return "".join(str(part.get("text", "")) for part in message.content if part.get("type") == "text")
    return message.content or ""


def _usage(counts: dict | None) -> dict:
    counts = counts or {}
    prompt, completion = int(counts.get("prompt_tokens", 0)), int(counts.get("completion_tokens", 0))
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def completion_body(model: str, text: str, finish_reason: str, usage: dict | None, extra: dict) -> dict:
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": finish_reason}],
            "usage": _usage(usage), "townsquare": extra}


def stream_chunks(model: str, pieces: Iterator[str], ending: Callable[[], tuple[str, dict | None, dict]],
                  include_usage: bool) -> Iterator[str]:
    """OpenAI ``chat.completion.chunk`` frames: one per piece as it comes, then the finish reason
    (with Townsquare's extra), the usage chunk when asked for, and ``[DONE]``. ``ending()`` gives
    ``(finish_reason, usage, extra)`` once the pieces are exhausted."""
    cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())

    def chunk(delta: dict, finish: str | None = None, **more) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
        return f"data: {json.dumps(body, ensure_ascii=False, default=str)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for piece in pieces:
            if piece:
                yield chunk({"content": piece})
    except TownsquareError as exc:
        yield f"data: {json.dumps({'error': {'code': exc.code, 'message': exc.message}})}\n\n"
    finish, usage, extra = ending()
    yield chunk({}, finish, townsquare=extra)
    if include_usage:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model, "choices": [],
                "usage": _usage(usage)}
        yield f"data: {json.dumps(body)}\n\n"
    yield "data: [DONE]\n\n"
