"""Oracles: scripted systems that make exactly the expected calls. They check the harness, not a model.

- ``oracle``: the expected calls run straight through the app's tools: read-only tools run,
  each side effect becomes its own pending action (``actions.propose``). It must score 100%: a
  miss means a task the world cannot satisfy or a grading bug.
- ``oracle-agent``: a scripted *model* inside the app's own agent loop, which offers it the tools
  and runs its calls. Its misses are tasks the current agent loop cannot do for any model (for
  instance two side effects in one turn, or an action chosen after reading something).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import Session

from townsquare.assistant import actions
from townsquare.assistant.tools import TOOLS, ToolContext, run_tool
from townsquare.bench.assistant_tasks import Expected, Task
from townsquare.errors import TownsquareError
from townsquare.llm.types import ChatResult, ToolCall, new_call_id


def oracle_args(expected: Expected, task: Task, seen: dict | None = None) -> dict:
    """Arguments that pass the expected call's checks. An argument that must only be present takes
    what earlier results of the turn showed (``seen``: "post_id" and "handle" lists), else the
    request; so do required arguments without a check."""
    seen = seen or {}
    args: dict = {}
    for name, spec in expected.args.items():
        op, want = next(iter(spec.items()))
        if op in ("one_of", "contains_any"):
            args[name] = want[0]
        elif op == "present":
            args[name] = (seen.get(name) or [task.text[:200]])[0]
        else:
            args[name] = want
    for name in TOOLS[expected.tool].parameters.get("required", []):
        args.setdefault(name, task.text[:200])
    return args


def seen_in(data: dict, seen: dict) -> None:
    """Collect the post ids and author handles a tool result showed, in order."""
    items = list(data.get("posts") or []) + list(data.get("highlights") or [])
    items += [data["post"]] if data.get("post") else []
    for item in items:
        seen.setdefault("post_id", []).append(str(item["id"]))
        seen.setdefault("handle", []).append(str(item.get("author", "")).lstrip("@"))


def oracle_answer(task: Task) -> str:
    wanted = task.answer.get("mentions_any") or []
    return f"{wanted[0]}." if wanted else "Happy to help with that."


class OracleModel:
    """A scripted model for the agent loop: it asks for the task's expected calls that the loop
    offers, all at once, and for nothing once they were asked for. Set ``task`` before each turn."""

    name = "oracle"

    def __init__(self) -> None:
        self.task: Task | None = None
        self._asked: set[int] = set()

    def start(self, task: Task) -> None:
        self.task, self._asked = task, set()

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs) -> ChatResult:
        offered = {t["function"]["name"] for t in tools}
        seen: dict = {}
        for message in messages:
            if message.get("role") == "tool":
                try:
                    seen_in(json.loads(message["content"]).get("quoted_data_not_instructions") or {}, seen)
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
        calls = []
        for i, expected in enumerate(self.task.expect if self.task else []):
            waits = [n for n, spec in expected.args.items() if "present" in spec and n in ("post_id", "handle")]
            if any(not seen.get(n) for n in waits):
                continue  # its target comes from a result the loop has not shown yet
            if i not in self._asked and expected.tool in offered:
                self._asked.add(i)
                calls.append(ToolCall(expected.tool, oracle_args(expected, self.task, seen)))
        return ChatResult(tool_calls=calls, finish_reason="tool_calls" if calls else "stop")

    def chat(self, messages, stream: bool = False, **kwargs):
        text = oracle_answer(self.task) if self.task else "Done."
        return iter([text]) if stream else ChatResult(text=text)


def reference_turn(session: Session, ctx: ToolContext, conversation, task: Task) -> list[dict]:
    """The expected calls made directly, as the steps an agent would yield."""
    steps: list[dict] = [{"type": "user", "text": task.text}]
    texts: list[str] = []
    seen: dict = {}
    for expected in task.expect:
        call_id, args = new_call_id(), oracle_args(expected, task, seen)
        steps.append({"type": "tool_call", "id": call_id, "tool": expected.tool, "arguments": args})
        try:
            if expected.confirm:
                action = actions.propose(session, ctx, conversation, expected.tool, args)
                steps.append({"type": "confirmation", "action_id": str(action.id), "tool": action.tool,
                              "arguments": action.arguments, "summary": action.summary})
                continue
            result = run_tool(ctx, expected.tool, args)
        except (TownsquareError, TypeError) as exc:
            message = getattr(exc, "message", str(exc))
            steps.append({"type": "tool_result", "id": call_id, "tool": expected.tool, "ok": False, "error": message})
            continue
        texts.append(result.text)
        seen_in(result.data, seen)
        steps.append({"type": "tool_result", "id": call_id, "tool": expected.tool, "ok": True, "text": result.text,
                      "data": result.data, "citations": [str(c) for c in result.citations]})
    if not task.expect or task.answer.get("mentions_any"):
        texts.append(oracle_answer(task))
    steps.append({"type": "text", "text": "\n\n".join(texts)})
    steps.append({"type": "done", "reason": "answer"})
    return steps
