"""Dev harness: every reading the chooser weighs for each spoken dev-half task, each graded.

For each English task of the assistant benchmark's *dev* half (never the test half), filled from a
seeded community of ``people``, spoken by Piper (or read from ``cache``, as ``task_gap.py`` writes it)
and transcribed with the person's vocabulary: the readings ``readings.choose`` weighs (the beam's and
the sound-alike corrections kept), each with Whisper's log-probability of it, what the chooser reads
in it (level, sureness, known names), and whether the assistant answering it passes the task. One
JSON line per task goes to ``out``; a rerun skips the tasks already there (stop and rerun freely).
The file lets choosing rules be compared offline against the same graded readings, and shows the
ceiling: the tasks where some reading passes. Run from the repository root:

    .venv/bin/python docs/results/voice_dev/reading_grades.py [cache] [people=60] [out=work/grades.jsonl]
"""

import json
import sys
from pathlib import Path

import numpy as np

from townsquare.assistant import agent
from townsquare.assistant.tools import ToolContext
from townsquare.assistant.understand import understand
from townsquare.bench import voice as vb
from townsquare.bench.assistant import System, model_system, run_task
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.llm.runtime import get_llm
from townsquare.safety.shields import default_shield
from townsquare.social.models import Account
from townsquare.voice import engines, readings, vocabulary
from townsquare.voice.tts import speakable


def main(cache: str = "", people: str = "60", out: str = "work/grades.jsonl") -> None:
    done = set()
    if Path(out).exists():
        done = {json.loads(line)["id"] for line in Path(out).read_text().splitlines() if line.strip()}
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with scratch_database("voice-grades-") as (settings, db), open(out, "a") as sink:
        world = build_world(settings, db, int(people), 7)
        transcriber, voice = engines.transcriber(), engines.voice(settings.voice_tts)
        llm, shield = get_llm("assistant", settings), default_shield(settings)
        typed = model_system("typed", llm, shield, settings)

        def answering(text: str) -> System:
            return System("spoken", lambda session, demo, conversation, task: [
                step.as_dict() for step in agent.Agent(llm, shield, settings).run_turn(
                    session, demo, conversation, text or "(nothing)")])

        tasks = vb.english_tasks(world, "dev")
        for n, task in enumerate(tasks, 1):
            if task.id in done:
                continue
            said = speakable(world.fill(task).text)
            path = Path(cache) / f"{task.id}.npy" if cache else None
            if path is not None and path.exists():
                samples = np.load(path)
            else:
                samples, _ = vb.spoken_samples(voice, said)
                if path is not None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    np.save(path, samples)
            with db.session() as s:
                demo = s.get(Account, world.demo_id)
                heard = transcriber.transcribe(samples, hotwords=vocabulary.for_account(s, demo))
                ctx = ToolContext(s, demo, settings)
                weighed = (readings.with_corrections(ctx, heard.readings, heard.rescore)
                           if heard.rescore else heard.readings)
                chosen = readings.choose(ctx, heard.readings, heard.rescore)
                whisper = heard.rescore(weighed) if heard.rescore else [0.0] * len(weighed)
                rows = []
                for rank, (text, score) in enumerate(zip(weighed, whisper, strict=True)):
                    plan = understand(ctx, text)
                    level, sureness = readings.assess(plan)
                    rows.append({"text": text, "rank": rank, "beam": text in heard.readings, "whisper": score,
                                 "level": level, "sureness": sureness, "known": readings.known(ctx, text, plan)})
            for row in rows:
                row["ok"] = run_task(db, world, answering(row["text"]), task).ok
            line = {"id": task.id, "style": task.style, "said": said, "chosen": chosen,
                    "typed_ok": run_task(db, world, typed, task).ok, "readings": rows}
            sink.write(json.dumps(line) + "\n")
            sink.flush()
            print(f"[{n}/{len(tasks)}] {task.id} chosen ok "
                  f"{next((r['ok'] for r in rows if r['text'] == chosen), None)} any {any(r['ok'] for r in rows)}",
                  file=sys.stderr, flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
