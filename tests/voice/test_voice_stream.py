"""The streaming hands-free WebSocket: partial transcripts, steps, and the reply's audio sentence by
sentence; bad input answered with an error message, the connection kept."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from scripted_llm import ScriptedLLM

from townsquare.voice.audio import decode, resample

from .speech import pcm_array, speech

MB = 1024 * 1024


def _pcm16k(text: str) -> bytes:
    samples, rate = pcm_array(text)
    return resample(samples, rate, 16000).astype("<i2").tobytes()


def _until(ws, kind: str) -> list[dict]:
    seen = []
    while True:
        message = ws.receive_json()
        seen.append(message)
        if message["type"] in (kind, "error"):
            return seen


@pytest.fixture
def me(signup):
    return signup("stream_me")


def test_streamed_turn_partials_steps_and_sentence_audio(app, client, me, signup, follow_posts):
    app.state.llms["assistant"] = ScriptedLLM([("catch_me_up", {})])
    pcm = _pcm16k("Catch me up on what my friends have been posting this week.")
    with client.websocket_connect(f"/api/voice/stream?access_token={me.token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "start", "format": "pcm16", "sample_rate": 16000})
        step = 16000  # half a second of 16-bit audio per frame, as a client streams it
        for i in range(0, len(pcm), step):
            ws.send_bytes(pcm[i:i + step])
        ws.send_json({"type": "end"})
        messages = _until(ws, "done")
    kinds = [m["type"] for m in messages]
    assert "partial" in kinds, kinds  # while the audio arrived
    transcript = next(m for m in messages if m["type"] == "transcript")["text"].lower()
    assert "catch me up" in transcript
    steps = [m["step"] for m in messages if m["type"] == "step"]
    assert [s["type"] for s in steps][:3] == ["user", "tool_call", "tool_result"]
    assert steps[1]["tool"] == "catch_me_up"
    audio = [m for m in messages if m["type"] == "audio"]
    assert len(audio) >= 2 and [a["index"] for a in audio] == list(range(len(audio)))
    assert kinds.index("audio") < kinds.index("reply")  # audio starts before the turn is over
    first = decode(base64.b64decode(audio[0]["base64"]), max_seconds=60, max_bytes=8 * MB)
    assert first.seconds > 0.3
    done = messages[-1]
    assert done["type"] == "done" and done["timings"]["first_audio_s"] <= done["timings"]["turn_s"]


@pytest.fixture
def follow_posts(client, me, signup):
    """Someone ``me`` follows posted twice, so "catch me up" has a few sentences to say."""
    mia = signup("mia_stream", display_name="Mia")
    assert client.post(f"/api/accounts/{mia.id}/follow", headers=me.headers).status_code in (200, 201)
    for text in ("Sunset bouldering at the crag today", "New lens arrived, photos soon"):
        assert client.post("/api/posts", json={"text": text}, headers=mia.headers).status_code == 201


def test_container_audio_and_typed_turns_continue_a_conversation(app, client, me):
    app.state.llms["assistant"] = ScriptedLLM([], [], answer="Hello! How can I help?")
    with client.websocket_connect(f"/api/voice/stream?access_token={me.token}") as ws:
        ws.receive_json()
        ws.send_json({"type": "start", "format": "webm"})
        ws.send_bytes(speech("Hello there.", "webm"))
        ws.send_json({"type": "end"})
        first = _until(ws, "done")
        reply = next(m for m in first if m["type"] == "reply")
        assert "hello" in next(m for m in first if m["type"] == "transcript")["text"].lower()
        ws.send_json({"type": "text", "text": "thanks", "conversation_id": reply["conversation_id"]})
        second = _until(ws, "done")
        assert next(m for m in second if m["type"] == "reply")["conversation_id"] == reply["conversation_id"]


def test_bad_input_is_an_error_message_and_the_connection_stays(app, client, me):
    app.state.llms["assistant"] = ScriptedLLM([])
    with client.websocket_connect(f"/api/voice/stream?access_token={me.token}") as ws:
        ws.receive_json()
        ws.send_bytes(b"\0\0")  # audio before start
        assert ws.receive_json()["code"] == "invalid_input"
        ws.send_text("not json")
        assert ws.receive_json()["type"] == "error"
        ws.send_json({"type": "start", "format": "mp4"})
        assert ws.receive_json()["code"] == "invalid_input"
        ws.send_json({"type": "start", "format": "pcm16"})
        ws.send_bytes(np.zeros(16000 * 2, dtype="<i2").tobytes())  # two seconds of silence
        ws.send_json({"type": "end"})
        assert ws.receive_json()["code"] == "no_speech"
        ws.send_json({"type": "start", "format": "pcm16"})
        too_long = np.zeros(16000 * 61, dtype="<i2").tobytes()
        ws.send_bytes(too_long)
        assert ws.receive_json()["code"] == "audio_too_large"
        ws.send_json({"type": "start", "format": "ogg"})
        ws.send_bytes(b"garbage" * 100)
        ws.send_json({"type": "end"})
        assert ws.receive_json()["code"] == "unsupported_audio"
        ws.send_json({"type": "text", "text": "hi"})  # still usable
        assert _until(ws, "done")[-1]["type"] == "done"


def test_authentication(client, me):
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as closed:
        with client.websocket_connect("/api/voice/stream?access_token=nope") as ws:
            ws.receive_json()
    assert closed.value.code == 4001
    with client.websocket_connect("/api/voice/stream", headers={"Authorization": f"Bearer {me.token}"}) as ws:
        assert ws.receive_json()["type"] == "ready"
    # The session cookie works only from this site's pages (a cross-site page could open the socket).
    client.cookies.set("ts_session", me.token)
    with pytest.raises(WebSocketDisconnect) as cross:
        with client.websocket_connect("/api/voice/stream", headers={"Origin": "https://evil.example"}) as ws:
            ws.receive_json()
    assert cross.value.code == 4003
    with client.websocket_connect("/api/voice/stream", headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "ready"
