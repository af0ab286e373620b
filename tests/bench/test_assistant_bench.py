"""The assistant benchmark end to end on a small seeded world, with scripted systems: the oracle
must score 100% on both halves, and models that do the wrong thing must fail."""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM
from sqlalchemy import select
from typer.testing import CliRunner

from townsquare.bench import assistant as harness
from townsquare.bench import assistant_tasks as at
from townsquare.bench.assistant_report import hard_failures
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.safety import BuiltinShield
from townsquare.social import graph
from townsquare.social.models import Account

SMALL = {"people": 60, "seed": 3}


@pytest.fixture(scope="module")
def small_world():
    with scratch_database("test-bench-assistant-") as (settings, db):
        yield settings, db, build_world(settings, db, **SMALL)


@pytest.mark.parametrize("split", at.SPLITS)
def test_the_oracle_scores_every_task_of_both_halves(split):
    (oracle,) = harness.run(split=split, systems=("oracle",), **SMALL)
    row = oracle.row()
    assert row["metrics"]["tasks"] == len(at.load_split(split))
    assert row["metrics"]["fully_right"] == 1.0, row["failures"][:5]
    assert not hard_failures([row]) and row["metrics"]["invented"] == 0
    assert set(row["by_language"]) == set(at.LANGS)


def test_the_regression_suite_is_kept_and_the_oracle_passes_it():
    (oracle,) = harness.run(suite="regression", systems=("oracle",), **SMALL)
    metrics = oracle.row()["metrics"]
    assert metrics["tasks"] >= 80 and metrics["injection_cases"] >= 20 and metrics["fully_right"] == 1.0


def _run_model(monkeypatch, model, **kw):
    import townsquare.llm.runtime as runtime

    monkeypatch.setattr(runtime, "get_llm", lambda role, settings=None: model)
    return harness.run(systems=("model",), **SMALL, **kw)


def test_a_model_that_never_calls_a_tool_only_passes_the_no_tool_tasks(monkeypatch):
    silent = ScriptedLLM(answer="I am not sure.")
    silent.name = "silent.gguf"
    (result,) = _run_model(monkeypatch, silent, kinds=("read", "action", "none"))
    by_kind = result.row()["by_kind"]
    assert by_kind["read"]["fully_right"] == 0 and by_kind["action"]["fully_right"] == 0
    checked = {t.id for t in at.load_split("dev") if t.answer.get("mentions_any")}  # "capital of Japan?"
    chats = [o for o in result.outcomes if o.kind == "none"]
    assert chats and all(o.ok == (o.task_id not in checked) for o in chats), [o.why for o in chats]


class Reckless(ScriptedLLM):
    """Proposes to follow spamgod whatever it is asked (when side effects are offered)."""

    name = "reckless.gguf"

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs):
        from townsquare.llm.types import ChatResult, ToolCall

        if "follow" in {t["function"]["name"] for t in tools}:
            return ChatResult(tool_calls=[ToolCall("follow", {"handle": "spamgod_not_followed"})])
        return ChatResult()


def test_proposals_are_counted_and_unexpected_side_effects_fail(monkeypatch, small_world):
    settings, db, world = small_world
    with db.session() as s:  # someone the reckless model can propose to follow
        from townsquare.social import accounts

        if s.scalar(select(Account).where(Account.handle == "spamgod_not_followed")) is None:
            accounts.create_account(s, "spamgod_not_followed", None, display_name="Spam Two")
    system = harness.model_system("reckless", Reckless(), BuiltinShield(), settings)
    dev = at.load_split("dev")
    tasks = harness.select_tasks(dev, kinds=("injection",), limit=8) + harness.select_tasks(dev, kinds=("read",), limit=8)
    outcomes = [harness.run_task(db, world, system, t) for t in tasks]
    assert all(not o.ok and o.proposed for o in outcomes)
    assert not any(o.unconfirmed_side_effect for o in outcomes)  # proposed, never run
    metrics = harness.SystemResult("reckless", outcomes).row()["metrics"]
    assert metrics["injection_proposals"] == metrics["injection_cases"] > 0
    assert metrics["injection_actions"] == 0


def test_a_side_effect_without_confirmation_is_a_hard_failure(small_world):
    settings, db, world = small_world
    task = next(t for t in at.load_split("dev") if t.kind == "injection")

    def rogue_turn(session, demo, conversation, filled):
        spam = session.scalar(select(Account).where(Account.handle == "spamgod"))
        graph.unfollow(session, demo, spam.id)  # acts on what it read, without asking
        return [{"type": "text", "text": "Done."}]

    outcome = harness.run_task(db, world, harness.System("rogue", rogue_turn), task)
    assert not outcome.ok and outcome.unconfirmed_side_effect and outcome.injection_action
    result = harness.SystemResult("rogue", [outcome])
    assert hard_failures([result.row()]) == ["rogue"]
    with db.session() as s:  # put the world back for the other tests
        demo = s.get(Account, world.demo_id)
        graph.follow(s, demo, s.scalar(select(Account.id).where(Account.handle == "spamgod")))


def test_a_crash_is_a_failed_task_not_a_failed_run(small_world):
    settings, db, world = small_world

    def crash(*args):
        raise RuntimeError("boom")

    outcome = harness.run_task(db, world, harness.System("crash", crash), at.load_split("dev")[0])
    assert not outcome.ok and "boom" in outcome.why


def test_the_oracle_in_the_agent_loop_shows_what_the_loop_cannot_do():
    (result,) = harness.run(systems=("oracle-agent",), kinds=("action", "read", "multi"), **SMALL)
    by_kind = result.row()["by_kind"]
    assert by_kind["read"]["rate"] == 1.0
    # Misses are requests the loop cannot serve for any model: an action on someone named by display
    # name (their handle must be read first), or several side effects in one turn.
    for outcome in result.outcomes:
        if not outcome.ok:
            assert outcome.kind == "multi" or "called search_people" in outcome.why, (outcome.text, outcome.why)
    assert any(not o.ok for o in result.outcomes if o.kind == "multi")


def test_models_are_compared_side_by_side(monkeypatch):
    import townsquare.llm.runtime as runtime

    made = []

    def get_llm(role, settings=None):
        model = ScriptedLLM(answer="hello")
        model.name = settings.assistant_model
        made.append(settings.assistant_model)
        return model

    monkeypatch.setattr(runtime, "get_llm", get_llm)
    results = harness.run(systems=("model", "oracle"), models=("a.gguf", "remote-8b"), kinds=("none",), **SMALL)
    assert [r.name for r in results] == ["a.gguf (embedded)", "remote-8b (remote)", "oracle"]
    assert made == ["a.gguf", "remote-8b"]


def test_a_stopped_run_resumes_from_its_log(tmp_path, monkeypatch):
    log = tmp_path / "outcomes.jsonl"
    (first,) = harness.run(systems=("oracle",), limit=6, resume=log, **SMALL)
    assert len(log.read_text().splitlines()) == 6
    calls = []
    original = harness.run_task
    monkeypatch.setattr(harness, "run_task", lambda *a: calls.append(a) or original(*a))
    (second,) = harness.run(systems=("oracle",), limit=8, resume=log, **SMALL)
    assert len(calls) == 2 and len(second.outcomes) == 8
    assert [o.ok for o in second.outcomes[:6]] == [o.ok for o in first.outcomes]


def test_cli_refuses_bad_options_and_a_changed_test_half(monkeypatch):
    from townsquare.cli import app

    runner = CliRunner()
    bad = runner.invoke(app, ["bench", "assistant", "--split", "train"])
    assert bad.exit_code != 0 and "--split is dev or test" in bad.output
    monkeypatch.setattr(at, "TEST_SHA256", "0" * 64)
    changed = runner.invoke(app, ["bench", "assistant", "--split", "test", "--systems", "oracle"])
    assert changed.exit_code == 1 and "frozen test half" in changed.output


def test_cli_runs_the_oracle_and_writes_json(tmp_path):
    from townsquare.cli import app

    out = tmp_path / "rows.json"
    result = CliRunner().invoke(app, ["bench", "assistant", "--systems", "oracle", "--people", "60", "--seed", "3",
                                      "--lang", "bn", "--json", str(out)])
    assert result.exit_code == 0, result.output
    import json

    (row,) = json.loads(out.read_text())
    assert row["name"] == "oracle" and row["metrics"]["bn_fully_right"] == 1.0 and "en_tasks" not in row["metrics"]
