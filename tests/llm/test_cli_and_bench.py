"""`townsquare chat`, `townsquare bench tools` on a tiny BFCL-format set of our own, and the grader."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from townsquare.cli import app
from townsquare.llm.bench_tools import grade
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


@pytest.mark.slow
def test_bench_tools_on_a_tiny_set(env):
    data = env / "bfcl"
    (data / "possible_answer").mkdir(parents=True)
    fn = {"name": "get_weather", "description": "Get the current weather in a city.",
          "parameters": {"type": "dict", "properties": {"city": {"type": "string", "description": "City"}},
                         "required": ["city"]}}
    cases = {"simple_python": ("What is the weather in Oslo?", [{"get_weather": {"city": ["Oslo"]}}]),
             "irrelevance": ("Write a poem about bread.", None)}
    for category, (question, truth) in cases.items():
        case = {"id": f"{category}_0", "question": [[{"role": "user", "content": question}]], "function": [fn]}
        (data / f"BFCL_v4_{category}.json").write_text(json.dumps(case) + "\n")
        if truth:
            (data / "possible_answer" / f"BFCL_v4_{category}.json").write_text(
                json.dumps({"id": f"{category}_0", "ground_truth": truth}) + "\n")
    out = env / "rows.json"
    args = ["bench", "tools", "--data", str(data), "--systems", "naive,ours", "--categories",
            "simple_python,irrelevance", "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    rows = {row["system"]: row["metrics"] for row in json.loads(out.read_text())}
    assert rows["ours"]["simple_python_acc"] == 1.0 and rows["ours"]["irrelevance_acc"] == 1.0
    assert rows["naive"]["irrelevance_acc"] == 0.0  # a grammar of schemas always calls
    again = CliRunner().invoke(app, args)  # rerun resumes from the per-case cache
    assert again.exit_code == 0 and json.loads(out.read_text())[1]["metrics"] == rows["ours"]


def test_every_nth_case_is_a_deterministic_subset(tmp_path):
    from townsquare.llm.bench_tools import load_category

    lines = [json.dumps({"id": f"simple_python_{i}", "question": [[{"role": "user", "content": str(i)}]],
                         "function": []}) for i in range(10)]
    (tmp_path / "BFCL_v4_simple_python.json").write_text("\n".join(lines) + "\n")
    assert [c["id"][-1] for c in load_category(tmp_path, "simple_python", None, every=4)] == ["0", "4", "8"]
    assert [c["id"][-1] for c in load_category(tmp_path, "simple_python", None, every=4, offset=1)] == ["1", "5", "9"]
    assert len(load_category(tmp_path, "simple_python", 2, every=4)) == 2


def test_every_must_be_positive(env):
    result = CliRunner().invoke(app, ["bench", "tools", "--data", str(env), "--every", "0"])
    assert result.exit_code == 1 and "--every" in result.output
