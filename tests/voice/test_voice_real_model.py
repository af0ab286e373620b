"""Hands-free turns on the whole real path: spoken requests (Piper), Whisper tiny.en, the bundled
SmolLM2-135M assistant through the real API, Tesseract, and the reply spoken by Piper."""

from __future__ import annotations

import base64

import pytest

from townsquare.voice.audio import decode

from .speech import speech
from .test_images import needs_tesseract, sign

pytestmark = pytest.mark.slow
MB = 1024 * 1024


@pytest.fixture
def people(client, signup):
    me, mia = signup("real_voice_me"), signup("real_voice_mia", display_name="Mia")
    assert client.post(f"/api/accounts/{mia.id}/follow", headers=me.headers).status_code in (200, 201)
    for text in ("Bouldering at Fontainebleau this weekend #climbing", "New lens, sunset photos soon #photography"):
        assert client.post("/api/posts", json={"text": text}, headers=mia.headers).status_code == 201
    return me, mia


def test_catch_me_up_spoken_with_the_bundled_model(client, people):
    me, _ = people
    body = client.post("/api/voice/turns", files={"audio": ("q.webm", speech("Catch me up.", "webm"), "audio/webm")},
                       headers=me.headers).json()
    assert "catch me up" in body["transcript"].lower()
    calls = [s for s in body["steps"] if s["type"] == "tool_call"]
    assert calls and calls[0]["tool"] == "catch_me_up", body["steps"]
    assert "Fontainebleau" in body["reply"]["text"]
    assert decode(base64.b64decode(body["audio"]["base64"]), max_seconds=120, max_bytes=20 * MB).seconds > 2


@needs_tesseract
def test_look_and_ask_with_the_bundled_model(client, people):
    me, _ = people
    body = client.post("/api/voice/turns", files={
        "audio": ("q.wav", speech("What does this sign say?"), "audio/wav"),
        "image": ("sign.jpg", sign(["OPEN DAILY", "9 AM - 5 PM"]), "image/jpeg")}, headers=me.headers)
    assert body.status_code == 200, body.text
    body = body.json()
    assert "OPEN DAILY" in body["seen"]["text"].upper()
    assert body["reply"]["text"] and body["audio"] is not None
