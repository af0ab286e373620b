"""Dev harness: which assistant tasks fail when spoken but pass when typed, and what Whisper heard.

Runs the English tasks of the assistant benchmark's *dev* half (never the test half) typed and then
spoken by Piper and transcribed by Whisper with the person's vocabulary, exactly as ``bench voice
--tasks`` does, and prints each task that only the spoken run fails: the request, what was heard, and
the grader's reason. Run from the repository root:

    .venv/bin/python docs/results/voice_dev/task_gap.py [tasks=134] [people=60] [first=0]
"""

import sys

from townsquare.assistant import agent
from townsquare.bench import voice as vb
from townsquare.bench.assistant import System, model_system, run_task
from townsquare.bench.assistant_tasks import load_split
from townsquare.bench.assistant_world import WorldError, build_world
from townsquare.bench.report import scratch_database
from townsquare.llm.runtime import get_llm
from townsquare.safety.shields import default_shield
from townsquare.voice import engines, vocabulary
from townsquare.voice.tts import speakable


def main(limit: int = 134, people: int = 60, first: int = 0) -> None:
    with scratch_database("voice-task-gap-") as (settings, db):
        world = build_world(settings, db, people, 7)
        transcriber, voice = engines.transcriber(), engines.voice(settings.voice_tts)
        llm, shield = get_llm("assistant", settings), default_shield(settings)
        heard_by_task: dict[str, str] = {}

        def spoken_turn(session, demo, conversation, task):
            samples, _ = vb.spoken_samples(voice, speakable(task.text))
            heard = transcriber.transcribe(samples, hotwords=vocabulary.for_account(session, demo)).text
            heard_by_task[task.id] = heard
            return [step.as_dict() for step in
                    agent.Agent(llm, shield, settings).run_turn(session, demo, conversation, heard or "(nothing)")]

        tasks = []
        for task in (t for t in load_split("dev") if t.lang == "en"):
            try:
                world.fill(task)
            except WorldError:
                continue
            tasks.append(task)
        tasks = tasks[first:first + limit]
        typed_system, spoken_system = model_system("typed", llm, shield, settings), System("spoken", spoken_turn, None)
        typed_ok = spoken_ok = 0
        for n, task in enumerate(tasks, 1):
            typed = run_task(db, world, typed_system, task)
            spoken = run_task(db, world, spoken_system, task)
            typed_ok += typed.ok
            spoken_ok += spoken.ok
            if typed.ok and not spoken.ok:
                print(f"--- {task.id} ({task.style}) {task.tools}\n  said  {speakable(typed.text)!r}\n"
                      f"  heard {heard_by_task.get(task.id)!r}\n  why   {spoken.why}\n  calls {spoken.calls}",
                      flush=True)
            elif not typed.ok:
                print(f"--- {task.id} typed fails too: {typed.why}", flush=True)
            print(f"[{n}/{len(tasks)}] typed {typed_ok} spoken {spoken_ok}", file=sys.stderr, flush=True)
        print(f"typed {typed_ok}/{len(tasks)} spoken {spoken_ok}/{len(tasks)}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:4]))
