"""Dev harness: how many names should Whisper's hotwords hold? (``townsquare/voice/vocabulary.py``)

Speaks the assistant benchmark's dev-half requests with Piper and transcribes each rendering with the
app's verbs only, and with the verbs and the 8 or 20 people closest to the seeded demo person; prints
the round-trip WER of each. Dev half only. Run from the repository root:

    .venv/bin/python docs/results/voice_dev/vocabulary_sizes.py [requests=200] [people=150]
"""

import sys

from townsquare.bench import voice as vb
from townsquare.bench.assistant_world import build_world
from townsquare.bench.report import scratch_database
from townsquare.social.models import Account
from townsquare.voice import engines, vocabulary
from townsquare.voice.tts import speakable


def main(requests: int = 200, people: int = 150) -> None:
    with scratch_database("vocabulary-sizes-") as (settings, db):
        world = build_world(settings, db, people, 7)
        with db.session() as s:
            demo = s.get(Account, world.demo_id)
            names = vocabulary.people(s, demo, limit=20)
        variants = {"verbs only": vocabulary.APP_WORDS,
                    "verbs + 8 names": ", ".join([vocabulary.APP_WORDS, *names[:8]]),
                    "verbs + 20 names": ", ".join([vocabulary.APP_WORDS, *names[:20]])}
        transcriber, voice = engines.transcriber(), engines.voice("piper")
        errors = dict.fromkeys(variants, 0)
        words = 0
        for _task, text in vb.requests_from_dev(world, requests):
            said = speakable(text)
            samples, _ = vb.spoken_samples(voice, said)  # one rendering, heard with each variant
            words += len(vb.words(said))
            for name, hotwords in variants.items():
                heard = transcriber.transcribe(samples, hotwords=hotwords).text
                errors[name] += vb.edit_distance(vb.words(said), vb.words(heard))
        for name in variants:
            print(f"{name:18} WER {errors[name] / words:.4f}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
