"""Dev harness: how much less likely than its source a sound-alike correction may be
(``readings.SOUND_ALIKE_COST``), measured on the English tasks of the assistant benchmark's *dev* half.

Each task is filled from a seeded community of ``people`` (names and posts differ with its size) and
spoken by Piper (or read from ``cache``, as ``task_gap.py`` writes it for the same ``people``), then
transcribed with the person's vocabulary. ``readings.choose`` itself picks a reading at each cost, and
each reading picked is run through the assistant and graded (once, however many costs picked it).
Run from the repository root:

    .venv/bin/python docs/results/voice_dev/correction_costs.py [cache] [costs=0,2,4,6,8,10,15] [people=60]
"""

import sys
from pathlib import Path

import numpy as np

from townsquare.assistant import agent
from townsquare.assistant.tools import ToolContext
from townsquare.bench import voice as vb
from townsquare.bench.assistant import System, run_task
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.llm.runtime import get_llm
from townsquare.safety.shields import default_shield
from townsquare.social.models import Account
from townsquare.voice import engines, readings, vocabulary
from townsquare.voice.tts import speakable


def main(cache: str = "", costs: str = "0,2,4,6,8,10,15", people: str = "60") -> None:
    people = int(people)
    widths = [float(c) for c in costs.split(",")]
    with scratch_database("voice-costs-") as (settings, db):
        world = build_world(settings, db, people, 7)
        transcriber, voice = engines.transcriber(), engines.voice(settings.voice_tts)
        llm, shield = get_llm("assistant", settings), default_shield(settings)

        def answering(text: str) -> System:
            return System("spoken", lambda session, demo, conversation, task: [
                step.as_dict() for step in agent.Agent(llm, shield, settings).run_turn(
                    session, demo, conversation, text or "(nothing)")])

        right = dict.fromkeys(widths, 0)
        tasks = vb.english_tasks(world, "dev")
        for n, task in enumerate(tasks, 1):
            path = Path(cache) / f"{task.id}.npy" if cache else None
            if path is not None and path.exists():
                samples = np.load(path)
            else:
                samples, _ = vb.spoken_samples(voice, speakable(task.text))
            with db.session() as s:
                demo = s.get(Account, world.demo_id)
                heard = transcriber.transcribe(samples, hotwords=vocabulary.for_account(s, demo))
                ctx = ToolContext(s, demo, settings)
                picks = {}
                for width in widths:
                    readings.SOUND_ALIKE_COST = width
                    picks[width] = readings.choose(ctx, heard.readings, heard.rescore)
            passed = {text: run_task(db, world, answering(text), task).ok
                      for text in dict.fromkeys(picks.values())}
            for width, text in picks.items():
                right[width] += passed[text]
            print(f"[{n}/{len(tasks)}] {task.id} "
                  + " ".join(f"{w:g}:{right[w]}" for w in widths), file=sys.stderr, flush=True)
        for width in widths:
            print(f"cost {width:g}: {right[width]}/{len(tasks)}")


if __name__ == "__main__":
    main(*sys.argv[1:4])
