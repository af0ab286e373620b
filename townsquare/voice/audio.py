"""Recordings in, audio out: decoding with limits, silence, and WAV encoding.

Browsers record webm/opus or ogg/opus, glasses and scripts send WAV, FLAC or MP3: PyAV (FFmpeg's
libraries, in the wheel) decodes them all to 16 kHz mono, the rate the speech model wants. A
recording longer than the limit is refused while it decodes, so a 10-minute file costs a fraction
of a second, not a transcription.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass

import numpy as np

from townsquare.errors import TownsquareError

SAMPLE_RATE = 16_000
# Below this level (dBFS, RMS of the whole recording) nothing was said: no model call.
SILENCE_DBFS = -55.0


class AudioError(TownsquareError):
    status = 422
    code = "invalid_audio"


class AudioTooLarge(AudioError):
    status = 413
    code = "audio_too_large"


class UnsupportedAudio(AudioError):
    status = 415
    code = "unsupported_audio"


class NoSpeech(AudioError):
    status = 422
    code = "no_speech"


@dataclass
class Audio:
    samples: np.ndarray  # float32 in [-1, 1], mono, SAMPLE_RATE
    format: str  # the container the bytes were in (wav, ogg, webm, ...)

    @property
    def seconds(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def dbfs(self) -> float:
        if len(self.samples) == 0:
            return -120.0
        rms = float(np.sqrt(np.mean(np.square(self.samples, dtype=np.float64))))
        return 20.0 * np.log10(max(rms, 1e-6))


def check_size(data: bytes, max_bytes: int) -> None:
    if not data:
        raise AudioError("the recording is empty", code="empty_audio")
    if len(data) > max_bytes:
        raise AudioTooLarge(f"the recording is larger than the {max_bytes // (1024 * 1024)} MB limit")


def decode(data: bytes, *, max_seconds: float, max_bytes: int) -> Audio:
    """Decode any audio file PyAV reads to 16 kHz mono float32; refuse it past ``max_seconds``."""
    import av

    check_size(data, max_bytes)
    limit = int(max_seconds * SAMPLE_RATE)
    chunks: list[np.ndarray] = []
    total = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise UnsupportedAudio("the file has no audio track")
            fmt = (container.format.name or "").split(",")[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=SAMPLE_RATE)
            for frame in container.decode(audio=0):
                for out in resampler.resample(frame):
                    pcm = out.to_ndarray().reshape(-1)
                    chunks.append(pcm)
                    total += len(pcm)
                if total > limit:
                    raise AudioTooLarge(f"the recording is longer than the {max_seconds:g} s limit of one turn")
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, OSError, UnicodeDecodeError) as exc:
        raise UnsupportedAudio(f"the audio could not be decoded (corrupt or unsupported format): "
                               f"{str(exc)[:120]}") from None
    pcm = np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.int16)
    if len(pcm) == 0:
        raise AudioError("the recording holds no audio", code="empty_audio")
    if len(pcm) > limit:
        raise AudioTooLarge(f"the recording is longer than the {max_seconds:g} s limit of one turn")
    return Audio((pcm.astype(np.float32) / 32768.0), fmt)


def from_pcm16(data: bytes, sample_rate: int = SAMPLE_RATE) -> Audio:
    """Raw little-endian 16-bit mono PCM (the WebSocket stream), resampled to 16 kHz if needed."""
    pcm = np.frombuffer(data[: len(data) - len(data) % 2], dtype="<i2").astype(np.float32) / 32768.0
    if sample_rate != SAMPLE_RATE and len(pcm):
        positions = np.arange(0, len(pcm), sample_rate / SAMPLE_RATE)
        pcm = np.interp(positions, np.arange(len(pcm)), pcm).astype(np.float32)
    return Audio(pcm, "pcm16")


def is_silent(audio: Audio) -> bool:
    return audio.dbfs < SILENCE_DBFS


def to_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """16-bit mono WAV bytes from float32 samples in [-1, 1] (or int16)."""
    if samples.dtype != np.int16:
        samples = (np.clip(samples, -1.0, 1.0) * 32767.0).astype(np.int16)
    out = io.BytesIO()
    with wave.open(out, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(sample_rate)
        wav.writeframes(samples.astype("<i2").tobytes())
    return out.getvalue()


def wav_samples(data: bytes) -> np.ndarray:
    """The int16 samples of a 16-bit mono WAV made by ``to_wav``."""
    with wave.open(io.BytesIO(data)) as wav:
        return np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")


# OpenAI's /v1/audio/speech formats: container, codec, sample rate, content type.
ENCODINGS = {
    "mp3": ("mp3", "libmp3lame", None, "audio/mpeg"),
    "opus": ("ogg", "libopus", 48000, "audio/ogg"),
    "aac": ("adts", "aac", None, "audio/aac"),
    "flac": ("flac", "flac", None, "audio/flac"),
    "wav": (None, None, None, "audio/wav"),
    "pcm": (None, None, 24000, "audio/pcm"),  # raw 16-bit little-endian mono at 24 kHz, as OpenAI's
}


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    if rate == target or len(samples) == 0:
        return samples
    positions = np.arange(0, len(samples), rate / target)
    return np.interp(positions, np.arange(len(samples)), samples.astype(np.float32)).astype(samples.dtype)


def encode(samples: np.ndarray, sample_rate: int, fmt: str) -> tuple[bytes, str]:
    """int16 mono samples as ``fmt`` (a key of ENCODINGS) -> (bytes, content type)."""
    import av

    container, codec, rate, content_type = ENCODINGS[fmt]
    if fmt == "wav":
        return to_wav(samples, sample_rate), content_type
    if rate:
        samples, sample_rate = resample(samples, sample_rate, rate), rate
    if fmt == "pcm":
        return samples.astype("<i2").tobytes(), content_type
    out = io.BytesIO()
    with av.open(out, "w", format=container) as muxer:
        stream = muxer.add_stream(codec, rate=sample_rate, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.astype(np.int16).reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = sample_rate
        for packet in stream.encode(frame):
            muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue(), content_type
