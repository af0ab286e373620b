"""Decoding recordings with limits: containers browsers send, silence, too long, corrupt."""

from __future__ import annotations

import time

import numpy as np
import pytest

from townsquare.voice import audio

from .speech import speech, tone

MB = 1024 * 1024


@pytest.mark.parametrize("fmt", ["wav", "ogg", "webm"])
def test_decodes_what_browsers_and_phones_send_to_16k_mono(fmt):
    decoded = audio.decode(speech("Catch me up.", fmt), max_seconds=60, max_bytes=8 * MB)
    assert decoded.samples.dtype == np.float32
    assert 1.0 < decoded.seconds < 3.0
    assert not audio.is_silent(decoded)


def test_silence_is_detected_without_a_model():
    decoded = audio.decode(tone(2.0), max_seconds=60, max_bytes=8 * MB)
    assert audio.is_silent(decoded) and decoded.dbfs < audio.SILENCE_DBFS


def test_a_ten_minute_recording_is_refused_fast():
    long = tone(600.0, "ogg", amplitude=0.2)  # ten minutes of opus: small enough to upload
    assert len(long) < 8 * MB
    started = time.perf_counter()
    with pytest.raises(audio.AudioTooLarge) as caught:
        audio.decode(long, max_seconds=60, max_bytes=8 * MB)
    assert caught.value.status == 413 and "60 s" in caught.value.message
    assert time.perf_counter() - started < 5  # stops decoding at the limit


@pytest.mark.parametrize("data,status", [(b"", 422), (b"not audio at all" * 50, 415),
                                         (b"RIFF\x24\x00\x00\x00WAVEfmt garbage", 415)])
def test_corrupt_or_empty_audio_is_a_clear_error(data, status):
    with pytest.raises(audio.AudioError) as caught:
        audio.decode(data, max_seconds=60, max_bytes=8 * MB)
    assert caught.value.status == status


def test_a_truncated_file_is_refused_or_decoded_never_crashes():
    data = speech("Who should I follow for photography?", "webm")
    try:
        decoded = audio.decode(data[: len(data) // 2], max_seconds=60, max_bytes=8 * MB)
    except audio.AudioError as exc:
        assert exc.status in (415, 422)
    else:
        assert decoded.seconds > 0.1


def test_an_image_is_not_audio():
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, "PNG")
    with pytest.raises(audio.AudioError) as caught:
        audio.decode(out.getvalue(), max_seconds=60, max_bytes=8 * MB)
    assert caught.value.status == 415


def test_size_limit_before_decoding():
    with pytest.raises(audio.AudioTooLarge):
        audio.decode(b"\0" * (MB + 1), max_seconds=60, max_bytes=MB)


@pytest.mark.parametrize("fmt", ["mp3", "opus", "aac", "flac", "wav"])
def test_encoded_speech_decodes_back_to_the_same_length(fmt):
    samples = (np.sin(np.arange(22050) / 10) * 10000).astype(np.int16)
    data, content_type = audio.encode(samples, 22050, fmt)
    assert content_type.startswith("audio/")
    back = audio.decode(data, max_seconds=60, max_bytes=8 * MB)
    assert abs(back.seconds - 1.0) < 0.15


def test_pcm_is_24k_raw_as_openai_sends_it():
    samples = np.zeros(22050, dtype=np.int16)
    data, _ = audio.encode(samples, 22050, "pcm")
    assert len(data) == 2 * 24000


def test_pcm16_stream_resampled():
    pcm = (np.sin(np.arange(48000) / 5) * 5000).astype("<i2").tobytes()
    decoded = audio.from_pcm16(pcm, 48000)
    assert abs(decoded.seconds - 1.0) < 0.01
