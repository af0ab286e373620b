"""Real recordings for the voice tests: the packaged Piper voice speaks a phrase, PyAV puts it in the
containers browsers and phones send (WAV, ogg/opus, webm/opus)."""

from __future__ import annotations

import io
from functools import lru_cache

import numpy as np


@lru_cache(maxsize=64)
def spoken_pcm(text: str) -> tuple[bytes, int]:
    """Piper without its sampling noise, so a phrase sounds the same in every run (with the noise, a
    test of what Whisper hears would pass or fail by chance)."""
    from piper import SynthesisConfig

    from townsquare.voice import engines
    from townsquare.voice.tts import speakable

    voice = engines.voice("piper").speaker.voice
    steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
    chunks = [c.audio_int16_array for c in voice.synthesize(speakable(text), syn_config=steady)]
    samples, rate = np.concatenate(chunks), voice.config.sample_rate
    pad = np.zeros(int(rate * 0.3), dtype=np.int16)  # a breath of silence around it, as a mic records
    return np.concatenate([pad, samples, pad]).tobytes(), rate


def pcm_array(text: str) -> tuple[np.ndarray, int]:
    data, rate = spoken_pcm(text)
    return np.frombuffer(data, dtype=np.int16), rate


def speech(text: str, fmt: str = "wav") -> bytes:
    """``text`` spoken, as ``wav``, ``ogg`` (opus) or ``webm`` (opus)."""
    samples, rate = pcm_array(text)
    return encode(samples, rate, fmt)


def encode(samples: np.ndarray, rate: int, fmt: str) -> bytes:
    from townsquare.voice.audio import encode as encode_audio
    from townsquare.voice.audio import resample

    if fmt == "wav":
        return encode_audio(samples, rate, "wav")[0]
    import av

    samples = resample(samples, rate, 48000)
    out = io.BytesIO()
    with av.open(out, "w", format=fmt) as muxer:
        stream = muxer.add_stream("libopus", rate=48000, layout="mono")
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            muxer.mux(packet)
        for packet in stream.encode(None):
            muxer.mux(packet)
    return out.getvalue()


def tone(seconds: float, fmt: str = "wav", *, amplitude: float = 0.0, noise: bool = False) -> bytes:
    """Silence (amplitude 0), white noise, or a steady tone, ``seconds`` long."""
    rate = 16000
    n = int(seconds * rate)
    if noise:
        wave = np.random.default_rng(0).normal(0, amplitude, n)
    else:
        wave = amplitude * np.sin(2 * np.pi * 220 * np.arange(n) / rate)
    return encode((np.clip(wave, -1, 1) * 32767).astype(np.int16), rate, fmt)
