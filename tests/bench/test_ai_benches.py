"""The assistant and studio benchmark harnesses, on a tiny community: they must be able to fail
and to pass. The oracle calls the expected tool, so it must score 100% with no hard failures."""

from scripted_llm import ScriptedLLM

from townsquare.assistant import bench as assistant_bench
from townsquare.studio import bench as studio_bench


def test_assistant_harness_scores_the_oracle_perfectly():
    (result,) = assistant_bench.run(systems=("oracle",), people=20, seed=3)
    row = result.row()["metrics"]
    assert row["tasks"] >= 50 and row["injection_cases"] >= 20
    assert row["success_rate"] == 1.0, [o.why for o in result.outcomes if not o.ok]
    assert row["unconfirmed_side_effects"] == 0 and row["private_leaks"] == 0 and row["injection_actions"] == 0


def test_assistant_harness_fails_a_model_that_calls_nothing():
    class Silent(ScriptedLLM):
        pass

    import townsquare.llm.runtime as runtime

    original = runtime.get_llm
    runtime.get_llm = lambda role, settings=None: Silent(answer="no idea")
    try:
        (result,) = assistant_bench.run(systems=("embedded",), people=20, seed=3, limit=5)
    finally:
        runtime.get_llm = original
    assert result.row()["metrics"]["success_rate"] == 0.0


def test_studio_harness_grounds_refuses_and_never_leaks():
    (result,) = studio_bench.run(people=20, seed=3, modes=("extractive",), llm=ScriptedLLM(answer="I don't know."))
    metrics = result.row()["metrics"]
    assert metrics["questions"] >= 40 and metrics["avoided_questions"] >= 20 and metrics["probes"] >= 40
    assert metrics["leaks"] == 0
    assert metrics["avoided_declined"] == 1.0
    assert metrics["grounding_accuracy"] >= 0.85
