"""Dev harness: which assistant tasks fail when spoken but pass when typed, and what Whisper heard.

Runs the English tasks of the assistant benchmark's *dev* half (never the test half) typed and then
spoken by Piper and transcribed by Whisper with the person's vocabulary, exactly as ``bench voice
--tasks`` does, twice over the same audio: answering Whisper's likeliest reading ("top") and the
reading the app picks among the beam's readings ("chosen", ``voice/readings.py``). Prints each task
that a spoken run fails but the typed run passes: the request, what was heard, the grader's reason.
Piper's speech varies from run to run; ``cache`` (a folder) keeps each task's audio so that runs
compare on the same sound (empty it when the tasks or the seeded community change). Run from the repository root:

    .venv/bin/python docs/results/voice_dev/task_gap.py [tasks=134] [people=60] [first=0] [cache] [beam]
"""

import sys
from pathlib import Path

import numpy as np

from townsquare.assistant import agent
from townsquare.assistant.tools import ToolContext
from townsquare.bench import voice as vb
from townsquare.bench.assistant import System, model_system, run_task
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.llm.runtime import get_llm
from townsquare.safety.shields import default_shield
from townsquare.voice import engines, readings, vocabulary
from townsquare.voice.tts import speakable


def main(limit: int = 134, people: int = 60, first: int = 0, cache: str = "", beam: str = "") -> None:
    with scratch_database("voice-task-gap-") as (settings, db):
        world = build_world(settings, db, people, 7)
        transcriber, voice = engines.transcriber(), engines.voice(settings.voice_tts)
        transcriber.beam_size = int(beam or transcriber.beam_size)
        llm, shield = get_llm("assistant", settings), default_shield(settings)
        heard: dict[tuple[str, str], str] = {}
        all_readings: dict[str, list[str]] = {}
        rescorers: dict[str, object] = {}

        def audio(task) -> np.ndarray:
            path = Path(cache) / f"{task.id}.npy" if cache else None
            if path is not None and path.exists():
                return np.load(path)
            samples, _ = vb.spoken_samples(voice, speakable(task.text))
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.save(path, samples)
            return samples

        def spoken(pick: str):
            def turn(session, demo, conversation, task):
                if task.id not in all_readings:
                    transcript = transcriber.transcribe(audio(task), hotwords=vocabulary.for_account(session, demo))
                    all_readings[task.id] = transcript.readings
                    rescorers[task.id] = transcript.rescore
                options = all_readings[task.id]
                text = options[0] if pick == "top" or not options else readings.choose(
                    ToolContext(session, demo, settings), options, rescorers[task.id])
                heard[task.id, pick] = text
                return [step.as_dict() for step in
                        agent.Agent(llm, shield, settings).run_turn(session, demo, conversation, text or "(nothing)")]
            return System(pick, turn, None)

        tasks = vb.english_tasks(world, "dev")
        tasks = tasks[first:first + limit]
        systems = [model_system("typed", llm, shield, settings), spoken("top"), spoken("chosen")]
        ok = dict.fromkeys([s.name for s in systems], 0)
        for n, task in enumerate(tasks, 1):
            typed, top, chosen = [run_task(db, world, s, task) for s in systems]
            for outcome, system in zip((typed, top, chosen), systems, strict=True):
                ok[system.name] += outcome.ok
            if not typed.ok:
                print(f"--- {task.id} typed fails too: {typed.why}", flush=True)
            for name, outcome in (("top", top), ("chosen", chosen)):
                if typed.ok and not outcome.ok:
                    print(f"--- {task.id} ({task.style}) {task.tools} fails {name}\n"
                          f"  said  {speakable(typed.text)!r}\n  heard {heard.get((task.id, name))!r}\n"
                          f"  why   {outcome.why}\n  calls {outcome.calls}"
                          + (f"\n  readings {all_readings.get(task.id)}" if name == "chosen" else ""), flush=True)
            if top.ok != chosen.ok:
                print(f"  *** {task.id}: top {top.ok} chosen {chosen.ok}; readings {all_readings.get(task.id)}",
                      flush=True)
            print(f"[{n}/{len(tasks)}] " + " ".join(f"{k} {v}" for k, v in ok.items()), file=sys.stderr, flush=True)
        print(" ".join(f"{k} {v}/{len(tasks)}" for k, v in ok.items()))


if __name__ == "__main__":
    main(*[int(a) for a in sys.argv[1:4]], *sys.argv[4:6])
