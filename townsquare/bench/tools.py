"""``townsquare bench tools``: BFCL v4 tool calling, three systems on the same model in one run.

Systems (all on the configured model, normally the bundled SmolLM2-135M):

- ``plain``: plain prompting -- the tools as JSON in the system prompt, free generation, and every
  parser we have (Hermes tags, Llama JSON, pythonic) applied to whatever comes out.
- ``naive``: naive constrained decoding -- the same prompt, and a grammar made of the tools' JSON
  schemas (``{"name": <one of the tools>, "arguments": <its schema>}``) and nothing more.
- ``ours``: ``LLM.chat_with_tools`` (relevance gate, selection, schema grammar with grounders, few-shot;
  see docs/llm.md), ``tool_choice="auto"`` and ``parallel_tool_calls=False`` (these BFCL splits are
  single-call). ``ours-no-NAME``: the same with the grounder NAME switched off (an ablation).

**Dev and test halves.** Each split's file is divided once, deterministically, by the sha256 of each
case id: the half with the lower hashes is ``dev`` (tune on it), the other ``test`` (frozen; report
only). The sha256 of each test half is stored below and checked on load, so a changed file or a changed
split rule is an error rather than a silent new test set.

Grading follows BFCL's AST checker: one call, the right function name, no unexpected argument, every
argument's value among the accepted ones (strings compared after BFCL's normalisation: lowercase,
without spaces and ``,./-_*^``), every argument without ``""`` among its accepted values present;
irrelevance succeeds when no call is made. Per-case results are cached in a JSONL file under a key made
of the model and the source code of the system, so a stopped run resumes where it stopped and rows of
older code are never reused.
"""

from __future__ import annotations

import hashlib
import inspect
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
HALVES = ("dev", "test")
SYSTEM_NAMES = {"plain": "plain prompting", "naive": "naive constrained decoding", "ours": "our tool layer"}
_SPLIT_SALT = "townsquare-bench-tools-v1:"
# sha256 of each frozen test half (the case lines, in file order, joined by newlines).
TEST_HALF_SHA256 = {
    "simple_python": "3456bbf58e291c1c1b4de133765ba4b43400a337b42e3742e7e971e0a9fe54f5",
    "multiple": "abb69c083b1ecb123f6b6f24d55e62c4d104e1b86d99b6eb11b30e85a2907998",
    "irrelevance": "2f7636db9ce79c394aa12fbedbc0f860f3282e8af0bd246fdaaeff26a9e12463",
}


def halves_of(case_ids: list[str]) -> dict[str, str]:
    """Each case's half: the cases ordered by the sha256 of their id (stable across file orders); the
    first half of that order (rounded up) is ``dev``, the rest ``test``."""
    order = sorted(case_ids, key=lambda cid: hashlib.sha256((_SPLIT_SALT + cid).encode()).hexdigest())
    cut = (len(order) + 1) // 2
    return {cid: "dev" if i < cut else "test" for i, cid in enumerate(order)}


def test_half_digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def load_category(data: Path, category: str, half: str | None = None, limit: int | None = None,
                  check: bool = True) -> list[dict[str, Any]]:
    """The cases of one category with their answers and their ``half``; only that ``half`` when given,
    the first ``limit`` of it when given. ``check``: the test half must hash to ``TEST_HALF_SHA256``."""
    path = data / f"BFCL_v4_{category}.json"
    if not path.exists():
        raise InvalidInput(f"{path} not found (expected the BFCL v4 files in {data})")
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    cases = [json.loads(line) for line in lines]
    halves = halves_of([case["id"] for case in cases])
    for case in cases:
        case["half"] = halves[case["id"]]
    expected = TEST_HALF_SHA256.get(category)
    if check and expected:
        digest = test_half_digest([line for line, case in zip(lines, cases, strict=True) if case["half"] == "test"])
        if digest != expected:
            raise InvalidInput(f"the test half of {path.name} is not the frozen one (sha256 {digest[:12]}..., "
                               f"expected {expected[:12]}...): the file or the split changed")
    answers_path = data / "possible_answer" / f"BFCL_v4_{category}.json"
    if answers_path.exists():
        answers = {a["id"]: a["ground_truth"] for a in map(json.loads, answers_path.read_text().splitlines()) if a}
        for case in cases:
            case["ground_truth"] = answers.get(case["id"])
    if half:
        cases = [case for case in cases if case["half"] == half]
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


def run_ours(llm: Any, messages: list[dict], tools: list[Tool], grounders: list[str] | None = None
             ) -> list[ToolCall]:
    result = llm.chat_with_tools(messages, [tool.to_openai() for tool in tools], "auto",
                                 parallel_tool_calls=False, respond=False, grounders=grounders)
    return result.tool_calls


RUNNERS: dict[str, Callable[..., list[ToolCall]]] = {"plain": run_plain, "naive": run_naive, "ours": run_ours}


def system_names(systems: list[str], ablate: list[str]) -> list[str]:
    """The systems to run: those asked for, then ``ours-no-NAME`` for each grounder in ``ablate``."""
    return list(systems) + [f"ours-no-{name}" for name in ablate]


def grounders_for(system: str, grounders: list[str]) -> list[str] | None:
    """The grounders a system runs with (None: not our layer)."""
    if system == "ours":
        return list(grounders)
    if system.startswith("ours-no-"):
        return [name for name in grounders if name != system[len("ours-no-"):]]
    return None


def code_key(system: str, model: str, threshold: float, grounders: list[str] | None) -> str:
    """A cache key that changes with the model and with the code a system runs."""
    if grounders is None:
        sources = [inspect.getsource(f) for f in (_system_prompt, RUNNERS[system], naive_grammar)]
    else:
        from townsquare.llm import grammar, multicall, request, runtime, tool_calling, tools, values
        from townsquare.llm import grounders as grounder_module

        sources = [inspect.getsource(m) for m in (grammar, grounder_module, multicall, request, runtime, tool_calling,
                                                  tools, values)]
        sources += [str(threshold), ",".join(grounders)]
    digest = hashlib.sha256("\n".join(sources).encode()).hexdigest()[:12]
    return f"{model}|{system}|{digest}"


def run_case(llm: Any, system: str, case: dict[str, Any], grounders: list[str] | None) -> dict[str, Any]:
    messages = case["question"][0]
    tools = normalise_tools(case["function"])
    start = time.perf_counter()
    error = None
    try:
        if grounders is None:
            calls = RUNNERS[system](llm, messages, tools)
        else:
            calls = run_ours(llm, messages, tools, grounders)
    except TownsquareError as exc:
        calls, error = [], f"{exc.__class__.__name__}: {exc.message}"
    seconds = time.perf_counter() - start
    category = case["id"].rsplit("_", 1)[0]
    return {"system": system, "id": case["id"], "category": category, "half": case["half"],
            "ok": grade(category, calls, case.get("ground_truth")), "seconds": round(seconds, 3),
            "calls": [{"name": c.name, "arguments": c.arguments} for c in calls], "error": error}


def summarise(results: list[dict[str, Any]], systems: list[str], categories: list[str], halves: list[str]
              ) -> list[dict[str, Any]]:
    """One row per system and half: accuracy per category, the margin over naive constrained decoding
    when it ran, median seconds per case and errors."""
    rows = []
    for half in halves:
        for system in systems:
            mine = [r for r in results if r["system"] == system and r["half"] == half]
            metrics: dict[str, Any] = {}
            for category in categories:
                cat = [r for r in mine if r["category"] == category]
                metrics[f"{category}_acc"] = round(sum(r["ok"] for r in cat) / len(cat), 4) if cat else None
                metrics[f"{category}_n"] = len(cat)
            accs = [metrics[f"{c}_acc"] for c in categories if metrics[f"{c}_acc"] is not None]
            metrics["mean_acc"] = round(sum(accs) / len(accs), 4) if accs else None
            metrics["median_s_per_case"] = round(statistics.median(r["seconds"] for r in mine), 3) if mine else None
            metrics["errors"] = sum(1 for r in mine if r["error"])
            base = "ours" if system == "ours" else system.split("-no-")[0]
            name = SYSTEM_NAMES.get(system) or f"{SYSTEM_NAMES[base]} without {system.split('-no-')[1]}"
            rows.append({"name": f"{name} [{half}]", "system": system, "half": half, "metrics": metrics})
    for row in rows:
        naive = next((r for r in rows if r["system"] == "naive" and r["half"] == row["half"]), None)
        if naive and row["system"].startswith("ours"):
            row["metrics"] |= {f"{c}_vs_naive_points": round(100 * (row["metrics"][f"{c}_acc"]
                                                                    - naive["metrics"][f"{c}_acc"]), 1)
                               for c in categories if row["metrics"][f"{c}_acc"] is not None
                               and naive["metrics"][f"{c}_acc"] is not None}
    return rows
