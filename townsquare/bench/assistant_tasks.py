"""The assistant benchmark's tasks: what a person writes, and the outcome that counts as fully right.

Tasks live in ``townsquare/bench/data/assistant_{dev,test}.jsonl``, one JSON object a line::

    {"id": "en-042", "lang": "en", "kind": "action", "style": "by_name",
     "text": "can you follow {person_not_followed.name} for me",
     "expect": [{"tool": "follow", "confirm": true,
                 "args": {"handle": {"equals": "{person_not_followed.handle}"}}}]}

``{pool.attr}`` slots name entities of the seeded world (people, posts, topics); the harness fills
them (``assistant_world.py``). Fields:

- ``expect``: the calls that must be made, each with argument checks (``equals``, ``one_of``,
  ``contains``, ``contains_any``, ``present``) and ``confirm: true`` for side effects (which must
  wait for the person's confirmation, each as its own pending action). ``also``: other calls that
  count as this one, where a request fits two tools. ``ordered: true`` when the order matters. Calls not listed are allowed if read-only; an unlisted side effect fails the task.
- ``no_tools: true``: no tool may be called at all (chit-chat, general knowledge).
- ``answer``: optional checks on the answer: ``mentions_any`` (one of these must appear),
  ``mentions_none`` (none may appear).

The ``test`` file is frozen: its sha256 is recorded below and checked when it is loaded.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

DATA_DIR = Path(__file__).parent / "data"
SPLITS = ("dev", "test")
# sha256 of data/assistant_test.jsonl, recorded when the split was made. Never tune on that file.
TEST_SHA256 = "852e313b82b53b1b608eba64f326469ce6154c23ce071c40db434e3075c924e7"

LANGS = ("en", "es", "bn")
KINDS = {
    "read": "one read-only tool",
    "action": "one side effect, confirmed",
    "multi": "several calls, or a call and a question about it, in one request",
    "chain": "an action whose target comes from something read first",
    "none": "no tool: chit-chat or general knowledge",
    "privacy": "something the person may not see, or that does not exist",
    "injection": "reads hostile content that asks for actions",
}
STYLES = ("plain", "casual", "terse", "polite", "typos", "indirect", "by_name", "verbose")
CHECK_OPS = ("equals", "one_of", "contains", "contains_any", "present")
SLOT = re.compile(r"\{([a-z]+(?:_[a-z]+)*?)(?:_(\d+))?(?:\.([a-z_]+))?\}")


class TaskFileError(ValueError):
    """A task file that is missing, malformed, or (for the test half) changed."""


@dataclass
class Expected:
    tool: str
    args: dict[str, dict] = field(default_factory=dict)  # argument -> {op: value}
    confirm: bool = False  # a side effect: must become a pending action, never run
    also: list[Expected] = field(default_factory=list)  # alternatives that count as this call

    def to_json(self) -> dict:
        return {"tool": self.tool, **({"confirm": True} if self.confirm else {}),
                **({"args": self.args} if self.args else {}),
                **({"also": [a.to_json() for a in self.also]} if self.also else {})}

    @classmethod
    def from_json(cls, row: dict) -> Expected:
        unknown = set(row) - {"tool", "args", "confirm", "also"}
        if unknown:
            raise TaskFileError(f"unknown fields {sorted(unknown)} in an expected call")
        return cls(row["tool"], dict(row.get("args") or {}), bool(row.get("confirm", False)),
                   [cls.from_json(a) for a in row.get("also") or []])


@dataclass
class Task:
    id: str
    lang: str
    kind: str
    style: str
    text: str
    expect: list[Expected] = field(default_factory=list)
    ordered: bool = False
    no_tools: bool = False
    answer: dict = field(default_factory=dict)

    @property
    def tools(self) -> list[str]:
        return [e.tool for e in self.expect]

    def to_json(self) -> dict:
        out: dict = {"id": self.id, "lang": self.lang, "kind": self.kind, "style": self.style, "text": self.text,
                     "expect": [e.to_json() for e in self.expect]}
        if self.ordered:
            out["ordered"] = True
        if self.no_tools:
            out["no_tools"] = True
        if self.answer:
            out["answer"] = self.answer
        return out


def task_from_json(row: dict) -> Task:
    known = {"id", "lang", "kind", "style", "text", "expect", "ordered", "no_tools", "answer"}
    unknown = set(row) - known
    if unknown:
        raise TaskFileError(f"task {row.get('id')!r}: unknown fields {sorted(unknown)}")
    expect = [Expected.from_json(e) for e in row.get("expect") or []]
    return Task(id=row["id"], lang=row["lang"], kind=row["kind"], style=row["style"], text=row["text"],
                expect=expect, ordered=bool(row.get("ordered", False)), no_tools=bool(row.get("no_tools", False)),
                answer=dict(row.get("answer") or {}))


def slots_of(task: Task) -> set[str]:
    """Every ``pool`` or ``pool_N`` the task refers to."""
    texts = [task.text, json.dumps([e.to_json() for e in task.expect]), json.dumps(task.answer)]
    return {m.group(1) + (f"_{m.group(2)}" if m.group(2) else "") for t in texts for m in SLOT.finditer(t)}


def validate(task: Task, tools: dict | None = None, pools: dict[str, set[str]] | None = None) -> None:
    """Raise ``TaskFileError`` for a task that cannot be graded: unknown tool, argument, check,
    kind, style or language, a ``confirm`` that does not match the tool, or an unknown slot."""
    if tools is None:
        from townsquare.assistant.tools import TOOLS as tools
    from townsquare.bench.assistant_world import POOL_ATTRS

    pools = POOL_ATTRS if pools is None else pools
    where = f"task {task.id!r}"
    if task.lang not in LANGS or task.kind not in KINDS or task.style not in STYLES:
        raise TaskFileError(f"{where}: lang/kind/style must be one of {LANGS} / {tuple(KINDS)} / {STYLES}")
    if not task.text.strip():
        raise TaskFileError(f"{where}: empty text")
    for e in [e for main in task.expect for e in (main, *main.also)]:
        tool = tools.get(e.tool)
        if tool is None:
            raise TaskFileError(f"{where}: no tool {e.tool!r}")
        if e.confirm != tool.side_effect:
            raise TaskFileError(f"{where}: {e.tool} {'is' if tool.side_effect else 'is not'} a side effect: "
                                f"set confirm to {str(tool.side_effect).lower()}")
        for name, check in e.args.items():
            if name not in tool.parameters.get("properties", {}):
                raise TaskFileError(f"{where}: {e.tool} takes no argument {name!r}")
            if not isinstance(check, dict) or len(check) != 1 or next(iter(check)) not in CHECK_OPS:
                raise TaskFileError(f"{where}: the check of {e.tool}.{name} must be one of {CHECK_OPS}")
    if task.no_tools and task.expect:
        raise TaskFileError(f"{where}: no_tools with expected calls")
    side_effects = [e for e in task.expect if e.confirm]
    rules = {"none": task.no_tools, "read": len(task.expect) == 1 and not side_effects,
             "action": len(task.expect) == 1 and len(side_effects) == 1,
             "multi": len(task.expect) >= 2 or bool(task.expect and task.answer.get("mentions_any")),
             "chain": bool(side_effects), "privacy": not side_effects, "injection": not side_effects}
    if not rules[task.kind]:
        raise TaskFileError(f"{where}: its expectations do not fit kind {task.kind!r} ({KINDS[task.kind]})")
    for texts in (task.text, json.dumps([e.to_json() for e in task.expect]), json.dumps(task.answer)):
        for m in SLOT.finditer(texts):
            pool, attr = m.group(1), m.group(3) or ""
            if pool not in pools or attr not in pools[pool]:
                raise TaskFileError(f"{where}: unknown slot {m.group(0)}")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def split_path(split: str, data_dir: Path = DATA_DIR) -> Path:
    if split not in SPLITS:
        raise TaskFileError(f"no split {split!r}: use {' or '.join(SPLITS)}")
    return data_dir / f"assistant_{split}.jsonl"


def read_tasks(path: Path) -> list[Task]:
    if not path.exists():
        raise TaskFileError(f"missing task file {path}")
    tasks = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            tasks.append(task_from_json(json.loads(line)))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise TaskFileError(f"{path.name}:{number}: not a task ({exc})")
    return tasks


def load_split(split: str, data_dir: Path = DATA_DIR, expected_test_sha256: str | None = None) -> list[Task]:
    """The tasks of one half, checked: the test half must hash to ``TEST_SHA256``."""
    path = split_path(split, data_dir)
    if split == "test":
        want = expected_test_sha256 or TEST_SHA256
        got = sha256_of(path) if path.exists() else "missing"
        if got != want:
            raise TaskFileError(f"the frozen test half {path.name} changed (sha256 {got[:12]}…, recorded "
                                f"{want[:12]}…): restore it from git; tune on the dev half only")
    tasks = read_tasks(path)
    seen: set[str] = set()
    for task in tasks:
        if task.id in seen:
            raise TaskFileError(f"{path.name}: task id {task.id!r} twice")
        seen.add(task.id)
        validate(task)
    return tasks


def split_tasks(tasks: list[Task], seed: int = 16) -> tuple[list[Task], list[Task]]:
    """Split once into (dev, test), stratified by kind and language: within each stratum, tasks are
    ordered by style and tool, paired, and one of each pair goes to each half at random."""
    rng = random.Random(seed)
    strata: dict[tuple[str, str], list[Task]] = defaultdict(list)
    for task in tasks:
        strata[(task.kind, task.lang)].append(task)
    dev, test = [], []
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda t: (t.style, ",".join(sorted(t.tools)), t.id))
        for i in range(0, len(group), 2):
            pair = group[i:i + 2]
            rng.shuffle(pair)
            dev.append(pair[0])
            if len(pair) > 1:
                test.append(pair[1])
            elif rng.random() < 0.5:  # an odd one out goes to either half
                test.append(dev.pop())
    order = {t.id: i for i, t in enumerate(tasks)}
    return sorted(dev, key=lambda t: order[t.id]), sorted(test, key=lambda t: order[t.id])


def write_tasks(path: Path, tasks: list[Task]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(t.to_json(), ensure_ascii=False) + "\n" for t in tasks), encoding="utf-8")
