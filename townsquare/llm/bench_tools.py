"""``townsquare bench tools``: BFCL v4 tool calling, three systems on the same model in one run.

Systems (all on the configured model, normally the bundled SmolLM2-135M):

- ``plain``: plain prompting -- the tools as JSON in the system prompt, free generation, and every
  parser we have (Hermes tags, Llama JSON, pythonic) applied to whatever comes out.
- ``naive``: naive constrained decoding -- the same prompt, and a grammar made of the tools' JSON
  schemas (``{"name": <one of the tools>, "arguments": <its schema>}``) and nothing more.
- ``ours``: ``LLM.chat_with_tools`` (relevance, selection, grounded grammar, few-shot; see docs/llm.md),
  with ``tool_choice="auto"`` and ``parallel_tool_calls=False`` (these BFCL categories are single-call).

Grading follows BFCL's AST checker: one call, the right function name, no unexpected argument, every
argument's value among the accepted ones (strings compared after BFCL's normalisation: lowercase,
without spaces and ``,./-_*^``), every argument without ``""`` among its accepted values present;
irrelevance succeeds when no call is made. Per-case results are cached in a JSONL file, so a stopped
run resumes where it stopped.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from townsquare.errors import InvalidInput, TownsquareError
from townsquare.llm.tool_parsers import parse_tool_calls
from townsquare.llm.tools import Tool, normalise_tools
from townsquare.llm.types import ToolCall

CATEGORIES = ("simple_python", "multiple", "irrelevance")
SYSTEMS = ("plain", "naive", "ours")
SYSTEM_NAMES = {"plain": "plain prompting", "naive": "naive constrained decoding", "ours": "our tool layer"}


def load_category(data: Path, category: str, limit: int | None, every: int = 1, offset: int = 0
                  ) -> list[dict[str, Any]]:
    """The cases of one category (with their answers): the first ``limit``, or every ``every``-th case
    starting at ``offset`` (a deterministic subset spread over the whole file)."""
    path = data / f"BFCL_v4_{category}.json"
    if not path.exists():
        raise InvalidInput(f"{path} not found (expected the BFCL v4 files in {data})")
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    answers_path = data / "possible_answer" / f"BFCL_v4_{category}.json"
    if answers_path.exists():
        answers = {a["id"]: a["ground_truth"] for a in map(json.loads, answers_path.read_text().splitlines()) if a}
        for case in cases:
            case["ground_truth"] = answers.get(case["id"])
    if every > 1:
        cases = cases[offset % every::every]
    return cases[:limit] if limit else cases


# --- grading (BFCL's AST checker, condensed) ----------------------------------------------------------

def _standardize(text: str) -> str:
    return re.sub(r"[ ,./\-_*^]", "", text).lower().replace("'", '"')


def _matches(value: Any, accepted: Any) -> bool:
    if isinstance(accepted, str):
        return isinstance(value, str) and _standardize(value) == _standardize(accepted)
    if isinstance(accepted, bool) or isinstance(value, bool):
        return type(value) is type(accepted) and value == accepted
    if isinstance(accepted, int | float):
        return isinstance(value, int | float) and float(value) == float(accepted)
    if isinstance(accepted, list):
        return isinstance(value, list) and len(value) == len(accepted) and all(
            _matches(v, a) for v, a in zip(value, accepted, strict=True))
    if isinstance(accepted, dict):  # nested object: each key has a list of accepted values
        if not isinstance(value, dict) or set(value) - set(accepted):
            return False
        return all(_accepted(value[k], options) if k in value else "" in options for k, options in accepted.items())
    return value == accepted


def _accepted(value: Any, options: list[Any]) -> bool:
    return any(_matches(value, option) for option in options if option != "")


def grade(category: str, calls: list[ToolCall], truth: list[dict] | None) -> bool:
    if category == "irrelevance":
        return not calls
    if not truth or len(calls) != len(truth):
        return False
    call = calls[0]
    name, expected = next(iter(truth[0].items()))
    if call.name != name:
        return False
    for key, value in call.arguments.items():
        if key not in expected or not _accepted(value, expected[key]):
            return False
    return all(key in call.arguments or "" in options for key, options in expected.items())


# --- systems --------------------------------------------------------------------------------------------

def _system_prompt(tools: list[Tool]) -> str:
    listing = json.dumps([tool.to_openai()["function"] for tool in tools], ensure_ascii=False)
    return ("You are a helpful assistant with access to these functions:\n" + listing + "\n"
            'To call a function, reply with only <tool_call>{"name": <function name>, "arguments": '
            "<arguments as JSON>}</tool_call>. If no function fits the request, answer in plain text.")


def run_plain(llm: Any, messages: list[dict], tools: list[Tool]) -> list[ToolCall]:
    prompt = [{"role": "system", "content": _system_prompt(tools)}] + messages
    result = llm.backend.chat(prompt, max_tokens=96, temperature=0.0, clip=True)
    _, calls = parse_tool_calls(result.text)
    return calls


def naive_grammar(tools: list[Tool]) -> str:
    from townsquare.llm.grammar import schema_grammar

    options = [{"type": "object", "properties": {"name": {"const": tool.name}, "arguments": tool.parameters},
                "required": ["name", "arguments"]} for tool in tools]
    return schema_grammar(options[0] if len(options) == 1 else {"anyOf": options})


def run_naive(llm: Any, messages: list[dict], tools: list[Tool]) -> list[ToolCall]:
    prompt = [{"role": "system", "content": _system_prompt(tools)}] + messages
    result = llm.backend.chat(prompt, max_tokens=128, temperature=0.0, grammar=naive_grammar(tools), clip=True)
    try:
        value = json.loads(result.text)
    except json.JSONDecodeError:
        return []  # cut off at max_tokens: no call
    return [ToolCall(value["name"], value.get("arguments") or {})]


def run_ours(llm: Any, messages: list[dict], tools: list[Tool]) -> list[ToolCall]:
    result = llm.chat_with_tools(messages, [tool.to_openai() for tool in tools], "auto",
                                 parallel_tool_calls=False, respond=False)
    return result.tool_calls


RUNNERS: dict[str, Callable[[Any, list[dict], list[Tool]], list[ToolCall]]] = {
    "plain": run_plain, "naive": run_naive, "ours": run_ours}


def run_case(llm: Any, system: str, category: str, case: dict[str, Any]) -> dict[str, Any]:
    messages = case["question"][0]
    tools = normalise_tools(case["function"])
    start = time.perf_counter()
    error = None
    try:
        calls = RUNNERS[system](llm, messages, tools)
    except TownsquareError as exc:
        calls, error = [], f"{exc.__class__.__name__}: {exc.message}"
    seconds = time.perf_counter() - start
    return {"system": system, "id": case["id"], "category": category,
            "ok": grade(category, calls, case.get("ground_truth")), "seconds": round(seconds, 3),
            "calls": [{"name": c.name, "arguments": c.arguments} for c in calls], "error": error}


def summarise(results: list[dict[str, Any]], systems: list[str], categories: list[str]) -> list[dict[str, Any]]:
    rows = []
    for system in systems:
        mine = [r for r in results if r["system"] == system]
        metrics: dict[str, Any] = {}
        for category in categories:
            cat = [r for r in mine if r["category"] == category]
            metrics[f"{category}_acc"] = round(sum(r["ok"] for r in cat) / len(cat), 4) if cat else None
            metrics[f"{category}_n"] = len(cat)
        accs = [metrics[f"{c}_acc"] for c in categories if metrics[f"{c}_acc"] is not None]
        metrics["mean_acc"] = round(sum(accs) / len(accs), 4) if accs else None
        metrics["median_s_per_case"] = round(statistics.median(r["seconds"] for r in mine), 3) if mine else None
        metrics["errors"] = sum(1 for r in mine if r["error"])
        rows.append({"name": SYSTEM_NAMES[system], "system": system, "metrics": metrics})
    return rows
