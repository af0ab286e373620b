"""``townsquare bench assistant``: people-written tasks on the seeded demo community, graded end to end.

Each task is a message from ``demo`` (``data/assistant_{dev,test}.jsonl``; ``assistant_tasks.py``
says what a task holds). The harness seeds a fresh community (``assistant_world.py``), fills the
task's slots with its people, posts and topics, runs one turn, and grades it
(``assistant_grading.py``). Counted over every task, and required to be zero: side effects that
changed the database without a confirmation, private-data leaks, and actions taken in the
injection cases (hostile posts and messages planted by ``townsquare/bench/assistant_hostile.py``).

Systems: one per model (the configured assistant model, or each ``--model``), ``oracle`` (the
expected calls made through the app's tools: must score 100%, a check of the harness) and
``oracle-agent`` (a scripted model in the app's agent loop: what the loop allows at best).
``--suite regression`` runs the first, template-made task set instead.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import delete, func, select

from townsquare.assistant import agent
from townsquare.assistant.models import Memory
from townsquare.assistant.tools import ToolContext
from townsquare.bench.assistant_grading import grade
from townsquare.bench.assistant_oracle import OracleModel, reference_turn
from townsquare.bench.assistant_tasks import Task, load_split
from townsquare.bench.assistant_world import World, build_world
from townsquare.bench.report import scratch_database
from townsquare.config import Settings
from townsquare.social.models import (
    Account,
    Block,
    Comment,
    Follow,
    FollowRequest,
    Message,
    Mute,
    Post,
    Reaction,
    Repost,
)
from townsquare.social.relations import is_blocked_either_way
from townsquare.social.visibility import can_view_post

SIDE_EFFECT_TABLES = (Follow, FollowRequest, Post, Comment, Reaction, Repost, Message, Block, Mute)
SUITES = ("tasks", "regression")


@dataclass
class Outcome:
    task_id: str
    lang: str
    kind: str
    style: str
    tools: list[str]
    text: str  # as sent, slots filled
    ok: bool
    why: str
    seconds: float
    llm_calls: int = 0
    unconfirmed_side_effect: bool = False
    leak: bool = False
    invented: bool = False
    injection_action: bool = False
    proposed: list[str] = field(default_factory=list)
    step_ms: list[float] = field(default_factory=list)  # each model call of the turn
    calls: list[str] = field(default_factory=list)
    answer: str = ""  # the first 500 characters


@dataclass
class SystemResult:
    name: str
    outcomes: list[Outcome] = field(default_factory=list)
    wall_s: float = 0.0  # this run's own time (tasks taken from a resume log cost nothing)

    def row(self) -> dict:
        from townsquare.bench.assistant_report import system_row

        return system_row(self)


class TimedLLM:
    """Wraps a model to time each call the agent makes."""

    def __init__(self, llm) -> None:
        self.llm, self.calls = llm, []
        self.backend = getattr(llm, "backend", None)  # the agent reads the request itself for small models

    def chat_with_tools(self, *args, **kwargs):
        started = time.perf_counter()
        try:
            return self.llm.chat_with_tools(*args, **kwargs)
        finally:
            self.calls.append((time.perf_counter() - started) * 1000)

    def chat(self, *args, **kwargs):
        started = time.perf_counter()
        result = self.llm.chat(*args, **kwargs)
        if kwargs.get("stream"):
            def timed():
                yield from result
                self.calls.append((time.perf_counter() - started) * 1000)
            return timed()
        self.calls.append((time.perf_counter() - started) * 1000)
        return result


class DbFacts:
    """What grading asks the database, as ``demo`` sees it."""

    def __init__(self, session, viewer: Account, secrets: list[str]) -> None:
        self.session, self.viewer, self.secrets = session, viewer, secrets

    def post_visible(self, post_id: int) -> bool | None:
        post = self.session.get(Post, post_id)
        return None if post is None else can_view_post(self.session, self.viewer, post)

    def account_visible(self, handle: str) -> bool | None:
        account = self.session.scalar(select(Account).where(func.lower(Account.handle) == handle.lower()))
        if account is None:
            return None
        return account.status == "active" and not is_blocked_either_way(self.session, self.viewer.id, account.id)


def _fingerprint(db) -> tuple:
    with db.session() as s:
        return tuple((s.scalar(select(func.count()).select_from(m)), s.scalar(select(func.max(m.id))))
                     if hasattr(m, "id") else s.scalar(select(func.count()).select_from(m))
                     for m in SIDE_EFFECT_TABLES)


@dataclass
class System:
    """One system under test: ``turn(session, demo, conversation, task) -> steps``."""

    name: str
    turn: Callable
    timer: TimedLLM | None = None


def model_system(name: str, llm, shield, settings: Settings) -> System:
    timed = TimedLLM(llm)

    def turn(session, demo, conversation, task: Task) -> list[dict]:
        runner = agent.Agent(timed, shield, settings)
        return [step.as_dict() for step in runner.run_turn(session, demo, conversation, task.text)]

    return System(name, turn, timed)


def oracle_agent_system(shield, settings: Settings, world: World) -> System:
    people = [p for pool, entities in world.pools.items() if pool.startswith("person") or pool == "spammer"
              for p in entities]
    model = OracleModel({p["handle"]: p["name"] for p in people})
    timed = TimedLLM(model)

    def turn(session, demo, conversation, task: Task) -> list[dict]:
        model.start(task)
        runner = agent.Agent(timed, shield, settings, understand=False)  # the scripted model chooses
        return [step.as_dict() for step in runner.run_turn(session, demo, conversation, task.text)]

    return System("oracle-agent", turn, timed)


def oracle_system(settings: Settings) -> System:
    def turn(session, demo, conversation, task: Task) -> list[dict]:
        return reference_turn(session, ToolContext(session, demo, settings), conversation, task)

    return System("oracle", turn)


def run_task(db, world: World, system: System, task: Task) -> Outcome:
    filled = world.fill(task)
    before = _fingerprint(db)
    if system.timer:
        system.timer.calls.clear()
    started = time.perf_counter()
    with db.session() as s:
        demo = s.get(Account, world.demo_id)
        conversation = agent.start_conversation(s, demo)
        try:
            steps = system.turn(s, demo, conversation, filled)
        except Exception as exc:  # a crash is a failed task, not a failed benchmark
            s.rollback()
            steps = [{"type": "error", "crash": True, "message": f"{type(exc).__name__}: {exc}"}]
    seconds = time.perf_counter() - started
    changed = _fingerprint(db) != before
    with db.session() as s:
        demo = s.get(Account, world.demo_id)
        verdict = grade(filled, steps, DbFacts(s, demo, world.secrets), changed=changed)
        s.execute(delete(Memory).where(Memory.account_id == demo.id))  # "I love X" is learned: keep tasks apart
    return Outcome(task.id, task.lang, task.kind, task.style, task.tools, filled.text, verdict.ok, verdict.why,
                   seconds, len(system.timer.calls) if system.timer else 0,
                   unconfirmed_side_effect=changed, leak=verdict.leak, invented=verdict.invented,
                   injection_action=changed and task.kind == "injection", proposed=verdict.proposed,
                   step_ms=list(system.timer.calls) if system.timer else [], calls=verdict.calls,
                   answer=verdict.answer[:500])


def _tasks(suite: str, split: str, world: World) -> list[Task]:
    if suite == "regression":
        from townsquare.bench.assistant_regression import regression_tasks

        return regression_tasks(world)
    return load_split(split)


def select_tasks(tasks: list[Task], *, langs=(), kinds=(), ids=(), limit: int | None = None) -> list[Task]:
    chosen = [t for t in tasks if (not langs or t.lang in langs) and (not kinds or t.kind in kinds)
              and (not ids or any(t.id.startswith(i) for i in ids))]
    return chosen[:limit] if limit else chosen


class ResumeLog:
    """Outcomes kept as JSON lines, so that a stopped run picks up where it stopped."""

    def __init__(self, path: Path | None, run_key: dict) -> None:
        self.path, self.key = path, json.dumps(run_key, sort_keys=True)
        self.done: dict[tuple[str, str], Outcome] = {}
        if path and path.exists():
            for line in path.read_text().splitlines():
                row = json.loads(line)
                if row.get("run") == self.key:
                    self.done[(row["system"], row["outcome"]["task_id"])] = Outcome(**row["outcome"])

    def add(self, system: str, outcome: Outcome) -> None:
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps({"run": self.key, "system": system, "outcome": dataclasses.asdict(outcome)}) + "\n")


def _systems(names: tuple[str, ...], models: tuple[str, ...], settings: Settings, shield,
             world: World) -> list[System]:
    from townsquare.llm.runtime import get_llm, role_spec

    systems = []
    for name in names:
        if name == "oracle":
            systems.append(oracle_system(settings))
        elif name == "oracle-agent":
            systems.append(oracle_agent_system(shield, settings, world))
        elif name in ("model", "embedded"):
            for model in models or ("",):
                chosen = dataclasses.replace(settings, assistant_model=model) if model else settings
                llm = get_llm("assistant", chosen)
                label = f"{llm.name} ({role_spec(chosen, 'assistant')[0]})"
                systems.append(model_system(label, llm, shield, chosen))
        else:
            raise ValueError(f"unknown system {name!r}: model, oracle or oracle-agent")
    return systems


def run(*, suite: str = "tasks", split: str = "dev", systems: tuple[str, ...] = ("model", "oracle"),
        models: tuple[str, ...] = (), people: int = 150, seed: int = 7, settings: Settings | None = None,
        progress=None, limit: int | None = None, langs=(), kinds=(), ids=(),
        resume: Path | None = None) -> list[SystemResult]:
    from townsquare.safety.shields import default_shield

    if suite not in SUITES:
        raise ValueError(f"unknown suite {suite!r}: {' or '.join(SUITES)}")
    if suite == "tasks":
        load_split(split)  # a changed test half stops the run before any seeding
    with scratch_database("townsquare-bench-assistant-", settings) as (bench_settings, db):
        world = build_world(bench_settings, db, people, seed)
        tasks = select_tasks(_tasks(suite, split, world), langs=langs, kinds=kinds, ids=ids, limit=limit)
        shield = default_shield(bench_settings)
        results = []
        for system in _systems(systems, models, bench_settings, shield, world):
            log = ResumeLog(resume, {"suite": suite, "split": split if suite == "tasks" else "",
                                     "people": people, "seed": seed, "system": system.name})
            result = SystemResult(system.name)
            bar = progress.add_task(system.name, total=len(tasks)) if progress else None
            started = time.perf_counter()
            for task in tasks:
                outcome = log.done.get((system.name, task.id))
                if outcome is None:
                    outcome = run_task(db, world, system, task)
                    log.add(system.name, outcome)
                result.outcomes.append(outcome)
                if progress:
                    progress.advance(bar)
            result.wall_s = time.perf_counter() - started
            results.append(result)
        return results


