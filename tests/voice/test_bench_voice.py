"""The voice benchmark's scoring and its choice of phrasings (dev half only)."""

import pytest

from townsquare.bench import voice as vb


def test_wer_scoring():
    assert vb.words("Could you please—show me posts? It's 9-5!") == ["could", "you", "please", "show", "me",
                                                                       "posts", "it's", "9", "5"]
    assert vb.words("Post 1,387 in three hours") == vb.words("post 1387 in 3 hours")  # a number either way
    assert vb.words("1,2 and 12,50") == ["1", "2", "and", "12", "50"]  # lists and decimals are not joined
    assert vb.edit_distance("a b c d".split(), "a x c".split()) == 2
    assert vb.edit_distance([], "a b".split()) == 2


class _World:
    def fill_text(self, key, text):
        return text.replace("{topic}", "climbing#" + key)


def test_round_trip_requests_come_from_the_dev_half_only():
    from townsquare.bench.assistant_tasks import load_split

    dev_ids = {t.id for t in load_split("dev") if t.lang == "en"}
    chosen = vb.requests_from_dev(_World(), 200)
    assert len(chosen) == 200
    assert {task.id for task, _ in chosen} <= dev_ids
    assert len({text for _, text in chosen}) > len(dev_ids)  # the second fill picks other entities


@pytest.mark.slow  # seeds a community and loads the speech models and the bundled LLM
def test_spoken_task_success_runs_the_real_pipeline_and_reports_without_typos():
    """Two dev tasks, typed and then spoken by Piper and heard by Whisper, through the real assistant."""
    from townsquare.bench.assistant_world import build_world
    from townsquare.bench.report import scratch_database
    from townsquare.llm.runtime import get_llm
    from townsquare.safety.shields import default_shield
    from townsquare.voice import engines

    with scratch_database("voice-bench-test-") as (settings, db):
        world = build_world(settings, db, 60, 7)
        rows = vb.task_success(db, world, settings, get_llm("assistant", settings), default_shield(settings),
                               engines.voice(settings.voice_tts), engines.transcriber(), split="dev", limit=2)
    assert [r["name"] for r in rows] == ["task success, typed, dev half (English)",
                                         "task success, voice (TTS -> ASR), dev half (English)"]
    for row in rows:
        metrics = row["metrics"]
        assert metrics["tasks"] == 2 and metrics["tasks_without_typos"] <= 2
        assert 0 <= metrics["fully_right_without_typos"] <= 1 and metrics["unconfirmed_side_effects"] == 0
        assert round(metrics["fully_right"] * 2) == 2 - len(row["failed_ids"])
