"""`townsquare chat`, `townsquare bench tools` on a tiny BFCL-format set of our own, the halves and the grader."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townsquare.bench.tools import grade, halves_of, load_category
from townsquare.cli import app
from townsquare.errors import InvalidInput
from townsquare.llm.calibration import calibrate
from townsquare.llm.types import ToolCall


def test_grader_follows_bfcl_rules():
    truth = [{"area": {"base": [10], "height": [5], "unit": ["units", ""]}}]
    assert grade("simple_python", [ToolCall("area", {"base": 10, "height": 5})], truth)
    assert grade("simple_python", [ToolCall("area", {"base": 10.0, "height": 5, "unit": "Units"})], truth)
    assert not grade("simple_python", [ToolCall("area", {"base": 10})], truth)  # required missing
    assert not grade("simple_python", [ToolCall("area", {"base": 10, "height": 5, "color": "red"})], truth)
    assert not grade("simple_python", [ToolCall("volume", {"base": 10, "height": 5})], truth)
    assert not grade("simple_python", [], truth)
    assert grade("irrelevance", [], None) and not grade("irrelevance", [ToolCall("area", {})], None)
    nested = [{"f": {"budget": [{"min": [1], "max": [2]}], "city": ["San Diego", "SD"]}}]
    assert grade("multiple", [ToolCall("f", {"budget": {"min": 1, "max": 2}, "city": "san diego"})], nested)


@pytest.mark.slow
def test_relevance_calibration_separates_our_tool_set():
    result = calibrate()
    assert 0.2 <= result["threshold"] <= 0.5
    assert result["served_called"] >= 0.8 and result["near_miss_stopped"] >= 0.65 and result["other_stopped"] >= 0.95


@pytest.fixture()
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TOWNSQUARE_LLM_CONTEXT", "2048")
    return tmp_path


@pytest.mark.slow
def test_chat_one_message(env):
    result = CliRunner().invoke(app, ["chat", "-m", "Say hi", "--max-tokens", "4", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_chat_reports_bad_configuration_in_one_line(env, monkeypatch):
    monkeypatch.setenv("TOWNSQUARE_LLM_BACKEND", "remote")
    result = CliRunner().invoke(app, ["chat", "-m", "hi"])
    assert result.exit_code == 1
    assert "llm_base_url" in result.output


def _tiny_set(data, fn, cases):
    (data / "possible_answer").mkdir(parents=True)
    for category, items in cases.items():
        lines, answers = [], []
        for i, (question, truth) in enumerate(items):
            lines.append(json.dumps({"id": f"{category}_{i}", "question": [[{"role": "user", "content": question}]],
                                     "function": [fn]}))
            answers.append(json.dumps({"id": f"{category}_{i}", "ground_truth": truth}))
        (data / f"BFCL_v4_{category}.json").write_text("\n".join(lines) + "\n")
        if items[0][1]:
            (data / "possible_answer" / f"BFCL_v4_{category}.json").write_text("\n".join(answers) + "\n")


@pytest.mark.slow
def test_bench_tools_on_a_tiny_set(env):
    data = env / "bfcl"
    fn = {"name": "get_weather", "description": "Get the current weather in a city.",
          "parameters": {"type": "dict", "properties": {"city": {"type": "string", "description": "City"}},
                         "required": ["city"]}}
    _tiny_set(data, fn, {"simple_python": [("What is the weather in Oslo?", [{"get_weather": {"city": ["Oslo"]}}]),
                                           ("What is the weather in Lima?", [{"get_weather": {"city": ["Lima"]}}])],
                         "irrelevance": [("Write a poem about bread.", None), ("Sing me a song.", None)]})
    out = env / "rows.json"
    args = ["bench", "tools", "--data", str(data), "--systems", "naive,ours", "--categories",
            "simple_python,irrelevance", "--ablate", "spans", "--no-check", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {(row["system"], row["half"]): row["metrics"] for row in json.loads(out.read_text())}
    assert set(rows) == {(s, h) for s in ("naive", "ours", "ours-no-spans") for h in ("dev", "test")}
    for half in ("dev", "test"):
        assert rows[("ours", half)]["simple_python_acc"] == 1.0 and rows[("ours", half)]["irrelevance_acc"] == 1.0
        assert rows[("naive", half)]["irrelevance_acc"] == 0.0  # a grammar of schemas always calls
        assert "simple_python_vs_naive_points" in rows[("ours", half)]
    again = CliRunner().invoke(app, args)  # rerun resumes from the per-case cache
    assert again.exit_code == 0
    assert {(r["system"], r["half"]): r["metrics"] for r in json.loads(out.read_text())} == rows
    summary = CliRunner().invoke(app, [*args[:5], "naive,ours,plain", *args[6:], "--cached-only"])
    assert summary.exit_code == 0, summary.output
    cells = {(r["system"], r["half"]): r["metrics"] for r in json.loads(out.read_text())}
    assert cells[("plain", "dev")]["simple_python_n"] == 0 and cells[("ours", "dev")] == rows[("ours", "dev")]
    checked = CliRunner().invoke(app, args[:-3] + ["--json", str(out)])  # our own files are not the frozen ones
    assert checked.exit_code == 1 and "not the frozen one" in checked.output


def test_halves_are_deterministic_and_even(tmp_path):
    ids = [f"simple_python_{i}" for i in range(11)]
    halves = halves_of(ids)
    assert halves == halves_of(list(reversed(ids)))  # the file's order does not matter
    assert sum(h == "dev" for h in halves.values()) == 6 and sum(h == "test" for h in halves.values()) == 5


def test_the_frozen_test_half_is_checked(tmp_path, monkeypatch):
    from townsquare.bench import tools as bt

    lines = [json.dumps({"id": f"simple_python_{i}", "question": [[{"role": "user", "content": str(i)}]],
                         "function": []}) for i in range(10)]
    (tmp_path / "BFCL_v4_simple_python.json").write_text("\n".join(lines) + "\n")
    test_lines = [line for line, case in zip(lines, load_category(tmp_path, "simple_python", check=False), strict=True)
                  if case["half"] == "test"]
    monkeypatch.setitem(bt.TEST_HALF_SHA256, "simple_python", bt.test_half_digest(test_lines))
    assert len(load_category(tmp_path, "simple_python", "test")) == 5
    assert len(load_category(tmp_path, "simple_python", "dev", limit=2)) == 2
    (tmp_path / "BFCL_v4_simple_python.json").write_text("\n".join(lines[:-1] + [lines[-1].replace('"9"', '"x"')]))
    with pytest.raises(InvalidInput, match="not the frozen one"):
        load_category(tmp_path, "simple_python", "test")


def test_grounders_are_listed(env):
    result = CliRunner().invoke(app, ["bench", "tools", "--list-grounders"])
    assert result.exit_code == 0 and "numbers" in result.output and "Serves" in result.output


def test_unknown_half_or_grounder_is_one_clear_line(env):
    result = CliRunner().invoke(app, ["bench", "tools", "--data", str(env), "--half", "middle"])
    assert result.exit_code == 1 and "--half" in result.output
    result = CliRunner().invoke(app, ["bench", "tools", "--data", str(env), "--grounders", "telepathy"])
    assert result.exit_code == 1 and "unknown grounder" in result.output
