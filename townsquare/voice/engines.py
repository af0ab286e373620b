"""The speech models of a process, loaded on first use and shared (as the LLM runtime shares its model):
about 80 MB for Whisper tiny.en and 60 MB for the Piper voice."""

from __future__ import annotations

import threading

from townsquare.errors import Unavailable

_lock = threading.Lock()
_transcribers: dict = {}
_voices: dict = {}


def transcriber():
    from townsquare.voice.asr import Transcriber

    if "default" not in _transcribers:
        with _lock:
            if "default" not in _transcribers:
                try:
                    _transcribers["default"] = Transcriber()
                except ImportError as exc:
                    raise Unavailable(f"speech recognition is not installed: pip install 'townsquare[voice]' "
                                      f"({exc.name})") from None
    return _transcribers["default"]


def voice(kind: str = "piper"):
    from townsquare.voice.tts import Voice, load_speaker

    if kind not in _voices:
        with _lock:
            if kind not in _voices:
                try:
                    _voices[kind] = Voice(load_speaker(kind))
                except ImportError as exc:
                    raise Unavailable(f"speech synthesis is not installed: pip install 'townsquare[voice]' "
                                      f"({exc.name})") from None
    return _voices[kind]
