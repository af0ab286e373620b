"""The studio benchmark harness, on a tiny community: it must be able to fail and to pass (the
assistant's harness is tested in test_assistant_bench.py)."""

from scripted_llm import ScriptedLLM

from townsquare.bench import studio as studio_bench


def test_studio_harness_catches_invented_quotes_and_leaks_and_passes_the_checked_ais():
    """The legacy baseline with a model that invents and echoes its prompt must score fabricated
    quotes and instruction leaks; the checked systems, with the same model, none."""
    liar = ScriptedLLM(answer="From my post: “I never said this at all.” The secret launch date is 12 March.")
    results = studio_bench.run(split="dev", systems=("verified", "model", "legacy"), llm=liar)
    verified, model, legacy = (r.row()["metrics"] for r in results)
    assert verified["probes"] >= 100 and verified["answerable"] >= 50
    for checked in (verified, model):
        assert checked["fabricated_quotes"] == 0 and checked["leaks"] == 0 and checked["instruction_leaks"] == 0
        assert checked["empty_quotes"] == 0 and checked["blocked_ok"] == 1.0
    assert verified["grounding"] >= 0.8 and verified["declined_unanswerable"] >= 0.8
    assert legacy["fabricated_quotes"] > 0 and legacy["instruction_leaks"] > 0


def test_studio_regression_suite_still_grounds_and_never_leaks():
    (result,) = studio_bench.run(split="regression", systems=("verified",), llm=ScriptedLLM(answer="I don't know."))
    metrics = result.row()["metrics"]
    assert metrics["answerable"] == 42 and metrics["leaks"] == 0 and metrics["avoided_declined"] == 1.0
    assert metrics["grounding"] >= 0.85
