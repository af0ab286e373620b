"""Dev harness: Whisper's beam width, word error rate against time (``townsquare/voice/asr.py``).

Speaks the assistant benchmark's dev-half requests with Piper once each and transcribes every
rendering at each beam width, with the seeded demo person's vocabulary as the app gives it; prints
the round-trip WER and the median seconds per request. Dev half only. Run from the repository root:

    .venv/bin/python docs/results/voice_dev/beam_sizes.py [requests=200] [people=150] [beams=1,3,5]
"""

import statistics
import sys
import time

from townsquare.bench import voice as vb
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.social.models import Account
from townsquare.voice import engines, vocabulary
from townsquare.voice.asr import Transcriber
from townsquare.voice.tts import speakable


def main(requests: int = 200, people: int = 150, beams: str = "1,3,5") -> None:
    widths = [int(b) for b in beams.split(",")]
    with scratch_database("beam-sizes-") as (settings, db):
        world = build_world(settings, db, people, 7)
        with db.session() as s:
            hotwords = vocabulary.for_account(s, s.get(Account, world.demo_id))
        transcribers = {b: Transcriber(beam_size=b) for b in widths}
        voice = engines.voice("piper")
        errors, seconds, words = dict.fromkeys(widths, 0), {b: [] for b in widths}, 0
        for n, (_task, text) in enumerate(vb.requests_from_dev(world, requests), 1):
            said = speakable(text)
            samples, _ = vb.spoken_samples(voice, said)
            words += len(vb.words(said))
            for b, transcriber in transcribers.items():
                started = time.perf_counter()
                heard = transcriber.transcribe(samples, hotwords=hotwords).text
                seconds[b].append(time.perf_counter() - started)
                errors[b] += vb.edit_distance(vb.words(said), vb.words(heard))
            print(f"[{n}/{requests}]", file=sys.stderr, flush=True)
        for b in widths:
            print(f"beam {b}: WER {errors[b] / words:.4f}, median {statistics.median(seconds[b]):.2f} s per request")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]), *sys.argv[3:4])
