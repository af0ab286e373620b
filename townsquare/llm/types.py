"""Plain data types shared by the LLM backends and the tool-calling layer."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from townsquare.errors import InvalidInput

Message = dict[str, Any]  # OpenAI chat format: {"role": ..., "content": ..., ["tool_calls"|"tool_call_id"]}


class UnknownTool(InvalidInput):
    """A tool call names a tool that was not offered."""

    code = "unknown_tool"


def new_call_id() -> str:
    return "call_" + uuid.uuid4().hex[:12]


@dataclass
class ToolCall:
    name: str
    arguments: dict[str, Any]
    id: str = field(default_factory=new_call_id)

    def to_openai(self) -> dict[str, Any]:
        """The call as an OpenAI ``tool_calls`` item (arguments as a JSON string)."""
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": json.dumps(self.arguments)}}


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class ChatResult:
    """One assistant turn: text, tool calls (possibly several), why it stopped, token counts."""

    text: str = ""
    tool_calls: list[ToolCall] = field(default_factory=list)
    finish_reason: str = "stop"  # "stop" | "length" | "tool_calls"
    usage: Usage = field(default_factory=Usage)
    model: str = ""

    def to_message(self) -> Message:
        """The turn as an assistant message to append to the conversation."""
        message: Message = {"role": "assistant", "content": self.text or None}
        if self.tool_calls:
            message["tool_calls"] = [call.to_openai() for call in self.tool_calls]
        return message
