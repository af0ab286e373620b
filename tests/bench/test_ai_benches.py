"""The studio benchmark harness, on a tiny community: it must be able to fail and to pass (the
assistant's harness is tested in test_assistant_bench.py)."""

from scripted_llm import ScriptedLLM

from townsquare.studio import bench as studio_bench


def test_studio_harness_grounds_refuses_and_never_leaks():
    (result,) = studio_bench.run(people=20, seed=3, modes=("extractive",), llm=ScriptedLLM(answer="I don't know."))
    metrics = result.row()["metrics"]
    assert metrics["questions"] >= 40 and metrics["avoided_questions"] >= 20 and metrics["probes"] >= 40
    assert metrics["leaks"] == 0
    assert metrics["avoided_declined"] == 1.0
    assert metrics["grounding_accuracy"] >= 0.85
