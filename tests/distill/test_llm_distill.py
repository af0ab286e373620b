"""``distill llm``: the training set by construction, and the real path end to end (LoRA on the
bundled SmolLM2, merge, llama.cpp's converter, a GGUF the embedded backend loads, registered)."""

from __future__ import annotations

import json
import stat

import pytest

from townsquare.config import load_settings
from townsquare.distill.llm import LLMDistillConfig, list_llm_models, run_llm_distill
from townsquare.distill.llm_data import MAKERS, TEMPLATES, build_examples, check_answer
from townsquare.errors import InvalidInput, Unavailable


def test_examples_are_right_by_construction_and_vary():
    examples = build_examples(400, seed=5)
    assert {e.kind for e in examples} == set(MAKERS)
    assert all(check_answer(e, e.target) for e in examples)
    tool_args = [e for e in examples if e.kind == "tool_args"]
    assert {e.meta["tool"] for e in tool_args} == set(TEMPLATES)
    # Every string argument is a span of the request (what the tool layer's grammar allows).
    for e in tool_args:
        for v in e.meta["arguments"].values():
            if isinstance(v, str) and e.meta["tool"] != "react_to_post":
                assert v in e.meta["request"], (v, e.meta["request"])
    requests = [e.meta["request"] for e in tool_args]
    assert len(set(requests)) > 0.9 * len(requests)
    # A wrong answer is caught.
    e = tool_args[0]
    assert not check_answer(e, json.dumps({"other": "x"}))
    # The same seed gives the same set; another seed another one.
    assert [x.target for x in build_examples(50, seed=5)] == [x.target for x in examples[:50]]
    assert [x.target for x in build_examples(50, seed=6)] != [x.target for x in examples[:50]]


def test_the_app_tools_are_the_real_schemas():
    from townsquare.assistant.tools import TOOLS

    assert set(TEMPLATES) <= set(TOOLS)
    for e in build_examples(200, seed=1):
        if e.kind == "tool_args":
            props = TOOLS[e.meta["tool"]].parameters["properties"]
            assert set(e.meta["arguments"]) <= set(props)


def _settings(tmp_path, **kw):
    return load_settings(env={}, data_dir=tmp_path / "data", secret_key="test", **kw)


TINY = dict(steps=1, examples=4, eval_examples=0, batch_size=1, lora_rank=2, lora_layers=1, max_tokens=96,
            threads=2, evaluate=False, outtype="q8_0")


def test_an_unreachable_teacher_is_one_clear_error(tmp_path):
    settings = _settings(tmp_path)
    cfg = LLMDistillConfig(**{**TINY, "teacher_url": "http://127.0.0.1:9/v1", "teacher_model": "big"})
    with pytest.raises(Unavailable, match="teacher"):
        run_llm_distill(settings, cfg)
    assert not (tmp_path / "data" / "models" / "llm").exists()


@pytest.mark.slow
def test_a_failing_conversion_registers_nothing(tmp_path, monkeypatch):
    bad = tmp_path / "convert_hf_to_gguf.py"
    bad.write_text("import sys\nprint('unsupported model', file=sys.stderr)\nsys.exit(1)\n")
    bad.chmod(bad.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("TOWNSQUARE_GGUF_CONVERTER", str(bad))
    settings = _settings(tmp_path)
    with pytest.raises(InvalidInput, match="GGUF conversion failed: unsupported model"):
        run_llm_distill(settings, LLMDistillConfig(**TINY, name="broken"))
    root = tmp_path / "data" / "models" / "llm"
    assert not root.exists() or list(root.iterdir()) == []


@pytest.mark.slow
def test_real_lora_merge_and_gguf_export_end_to_end(tmp_path):
    settings = _settings(tmp_path)
    out = run_llm_distill(settings, LLMDistillConfig(**{**TINY, "steps": 2}, name="tiny"))
    path = tmp_path / "data" / "models" / "llm" / "tiny" / "model.gguf"
    assert out["path"] == str(path) and path.stat().st_size > 50_000_000
    assert out["training"]["steps"] == 2 and out["training"]["first_loss"] > 0
    assert (path.parent / "MODEL_CARD.md").read_text().count("SmolLM2") >= 1
    assert [m["name"] for m in list_llm_models(settings)] == ["tiny"]
    # The registered file is what a setting selects: the app's runtime loads and runs it.
    from townsquare.llm.runtime import get_llm

    llm = get_llm("assistant", _settings(tmp_path, assistant_model=str(path)))
    assert llm.chat([{"role": "user", "content": "Say hi."}], max_tokens=5).text.strip()
    # The same name again: refused, the registered model untouched.
    with pytest.raises(InvalidInput, match="registered already"):
        run_llm_distill(settings, LLMDistillConfig(**TINY, name="tiny"))
