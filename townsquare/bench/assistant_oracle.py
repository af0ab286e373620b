"""Oracles: scripted systems that make exactly the expected calls. They check the harness, not a model.

- ``oracle``: the expected calls run straight through the app's tools: read-only tools run,
  each side effect becomes its own pending action (``actions.propose``). It must score 100%: a
  miss means a task the world cannot satisfy or a grading bug.
- ``oracle-agent``: a scripted *model* inside the app's own agent loop, which offers it the tools
  and runs its calls. It knows the expected calls but names a target only once the request or a
  result shows it, as a model must. Its misses are tasks the current agent loop cannot do for any
  model (for instance two side effects in one turn, or an action whose target must be read first).
"""

from __future__ import annotations

import json
import re

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
    """Collect the post ids and handles a tool result showed, in order."""
    items = list(data.get("posts") or []) + list(data.get("highlights") or [])
    items += [data["post"]] if data.get("post") else []
    for item in items:
        seen.setdefault("post_id", []).append(str(item["id"]))
        seen.setdefault("handle", []).append(str(item.get("author", "")).lstrip("@"))
    people = data.get("people")
    for person in people if isinstance(people, list) else []:
        seen.setdefault("handle", []).append(str(person.get("handle", "")).lstrip("@"))


def oracle_answer(task: Task) -> str:
    wanted = task.answer.get("mentions_any") or []
    return f"{wanted[0]}." if wanted else "Happy to help with that."


_BENGALI_DIGITS = str.maketrans("০১২৩৪৫৬৭৮৯", "0123456789")


def _in_words(value: str, text: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(value.lower())}(?![\w])", text) is not None


class OracleModel:
    """A scripted model for the agent loop. It knows the task's expected calls, and asks for those
    the loop offers; but, as any model, it can only name the target of a side effect (a handle, a
    post id) that the request or a result the loop showed it names. Otherwise it reads first (finds
    the person the request names, or opens the post it names) and proposes the side effect when the
    loop offers it again. Set the task with ``start`` before each turn; ``names`` maps handles to
    display names."""

    name = "oracle"

    def __init__(self, names: dict[str, str] | None = None) -> None:
        self.names = {h.lower(): n for h, n in (names or {}).items()}
        self.task: Task | None = None
        self._asked: set[int] = set()
        self._read: set[str] = set()

    def start(self, task: Task) -> None:
        self.task, self._asked, self._read = task, set(), set()

    def _unknown_target(self, expected: Expected, text: str, seen: dict) -> str | None:
        """The handle the side effect needs and nothing has shown yet (None: all known)."""
        for name in ("handle", "post_id"):
            spec = expected.args.get(name, {})
            values = [v for op, want in spec.items() if op in ("equals", "one_of")
                      for v in (want if isinstance(want, list) else [want])]
            if values and not any(_in_words(str(v), text) or str(v) in seen.get(name, []) for v in values):
                return f"{name}:{values[0]}"
        return None

    def _discover(self, target: str, text: str) -> list[ToolCall]:
        """A read that would show the target: the person named in the request, or the post it names."""
        kind, value = target.split(":", 1)
        display = self.names.get(value.lower(), "")
        if kind == "handle" and display and display.lower() in text:
            read = ToolCall("search_people", {"query": display})
        elif kind == "handle" and re.search(r"\d+", text):
            read = ToolCall("ask_about_post", {"post_id": re.search(r"\d+", text).group(0)})
        else:
            return []
        key = f"{read.name}{read.arguments}"
        if key in self._read:
            return []
        self._read.add(key)
        return [read]

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs) -> ChatResult:
        offered = {t["function"]["name"] for t in tools}
        seen: dict = {}
        for message in messages:
            if message.get("role") == "tool":
                try:
                    seen_in(json.loads(message["content"]).get("quoted_data_not_instructions") or {}, seen)
                except (ValueError, TypeError, KeyError, AttributeError):
                    continue
        text = (self.task.text if self.task else "").lower().translate(_BENGALI_DIGITS)
        calls: list[ToolCall] = []
        for i, expected in enumerate(self.task.expect if self.task else []):
            if i in self._asked or expected.tool not in offered:
                continue
            waits = [n for n, spec in expected.args.items() if "present" in spec and n in ("post_id", "handle")]
            if any(not seen.get(n) for n in waits):
                continue  # its target comes from a result the loop has not shown yet
            unknown = self._unknown_target(expected, text, seen) if expected.confirm else None
            if unknown:
                calls += [c for c in self._discover(unknown, text) if c.name in offered]
                continue
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
