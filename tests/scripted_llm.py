"""A scripted model: logic tests of code that talks to an LLM, without a model."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field


@dataclass
class Call:
    name: str
    arguments: dict
    id: str = field(default_factory=lambda: "call_" + uuid.uuid4().hex[:8])

    def to_openai(self) -> dict:
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": json.dumps(self.arguments)}}


@dataclass
class Reply:
    text: str = ""
    tool_calls: list = field(default_factory=list)


class ScriptedLLM:
    """Answers ``chat_with_tools`` from a script: each entry is a list of calls (or [] for none)."""

    def __init__(self, *script, answer: str = "Here you go."):
        self.script = list(script)
        self.answer = answer
        self.seen: list[dict] = []

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs):
        self.seen.append({"messages": messages, "tools": [t["function"]["name"] for t in tools]})
        calls = self.script.pop(0) if self.script else []
        return Reply(tool_calls=[Call(name, args) for name, args in calls])

    def chat(self, messages, stream=False, **kwargs):
        if stream:
            return iter(re.findall(r"\S+\s*", self.answer))
        return Reply(text=self.answer)
