"""The hands-free API with real recordings (made by the TTS) and the real speech models; the
assistant's LLM is scripted here (its real runs are in test_voice_real_model.py)."""

from __future__ import annotations

import base64

import pytest
from scripted_llm import ScriptedLLM

from townsquare.voice.audio import decode

from .speech import speech, tone
from .test_images import needs_tesseract, photo_without_text, sign

MB = 1024 * 1024


def _asked(llm) -> str:
    """What the person's message to the assistant was, as the model got it."""
    return [m for m in llm.seen[0]["messages"] if m["role"] == "user"][-1]["content"]


@pytest.fixture
def me(signup):
    return signup("voice_me")


def _turn(client, user, audio: bytes | None = None, *, fmt="wav", text=None, image=None, **form):
    files = {}
    if audio is not None:
        files["audio"] = (f"speech.{fmt}", audio, f"audio/{fmt}")
    if image is not None:
        files["image"] = ("frame.jpg", image, "image/jpeg")
    data = {k: str(v) for k, v in form.items()}
    if text is not None:
        data["text"] = text
    return client.post("/api/voice/turns", files=files or None, data=data, headers=user.headers)


@pytest.mark.parametrize("fmt", ["wav", "webm", "ogg"])
def test_a_spoken_turn_is_heard_answered_and_spoken(app, client, me, fmt):
    llm = ScriptedLLM([("catch_me_up", {})])
    app.state.llms["assistant"] = llm
    response = _turn(client, me, speech("Catch me up.", fmt if fmt != "ogg" else "ogg"), fmt=fmt)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "catch me up" in body["transcript"].lower()
    assert _asked(llm).lower().startswith("catch me up")
    assert [s["type"] for s in body["steps"]][:3] == ["user", "tool_call", "tool_result"]
    assert "caught up" in body["reply"]["text"]
    wav = base64.b64decode(body["audio"]["base64"])
    assert decode(wav, max_seconds=60, max_bytes=8 * MB).seconds > 1.0
    assert set(body["timings"]) >= {"asr_s", "assistant_s", "tts_s"}
    # Stored as a normal assistant turn.
    stored = client.get(f"/api/assistant/conversations/{body['conversation_id']}", headers=me.headers).json()
    assert stored["steps"][0]["type"] == "user" and "catch me up" in stored["steps"][0]["text"].lower()


def test_confirm_by_voice_runs_the_action_once_and_shows_it_in_activity(app, client, me, signup):
    mia = signup("mia_voice", display_name="Mia")
    app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "mia_voice"})])
    first = _turn(client, me, speech("Follow Mia please.")).json()
    assert first["reply"]["pending_actions"], first
    assert "Follow @mia_voice" in first["reply"]["text"]
    assert client.get("/api/voice/activity", headers=me.headers).json()["items"][0]["status"] == "pending"
    assert client.get(f"/api/accounts/{mia.id}", headers=me.headers).json()["follower_count"] == 0

    yes = _turn(client, me, speech("Yes, do it."), conversation_id=first["conversation_id"]).json()
    assert "now follow @mia_voice" in yes["reply"]["text"]
    items = client.get("/api/voice/activity", headers=me.headers).json()["items"]
    assert items[0]["status"] == "done" and "now follow" in items[0]["result"]
    assert client.get(f"/api/accounts/{mia.id}", headers=me.headers).json()["follower_count"] == 1
    # A second "yes" finds nothing pending: it goes to the assistant as a new request.
    app.state.llms["assistant"] = ScriptedLLM([])
    again = _turn(client, me, text="yes", conversation_id=first["conversation_id"]).json()
    assert not any(s["type"] == "tool_result" and s.get("confirmed") for s in again["steps"])


def test_a_yes_answers_only_the_question_just_asked(app, client, me, signup):
    signup("ana_voice")
    app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "ana_voice"})], [])
    first = _turn(client, me, text="follow ana_voice").json()
    _turn(client, me, text="what's the weather like", conversation_id=first["conversation_id"])
    app.state.llms["assistant"] = ScriptedLLM([])
    later = _turn(client, me, text="yes", conversation_id=first["conversation_id"]).json()
    assert not any(s["type"] == "tool_result" for s in later["steps"])
    assert client.get("/api/voice/activity", headers=me.headers).json()["items"][0]["status"] == "pending"


def test_cancel_by_voice(app, client, me, signup):
    signup("leo_voice")
    app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "leo_voice"})])
    first = _turn(client, me, text="follow leo_voice").json()
    no = _turn(client, me, speech("Cancel."), conversation_id=first["conversation_id"]).json()
    assert no["reply"]["text"].startswith("Cancelled")
    assert client.get("/api/voice/activity", headers=me.headers).json()["items"][0]["status"] == "cancelled"


@needs_tesseract
def test_look_and_ask_feeds_ocr_text_to_the_assistant(app, client, me):
    llm = ScriptedLLM([], answer="The sign says the shop is open daily.")
    app.state.llms["assistant"] = llm
    body = _turn(client, me, speech("What does this sign say?"), image=sign(["OPEN DAILY", "9 AM - 5 PM"])).json()
    assert "OPEN DAILY" in body["seen"]["text"].upper()
    told = _asked(llm)
    assert "sign say" in told.lower() and "OPEN DAILY" in told.upper()
    assert body["reply"]["text"]


@needs_tesseract
def test_a_photo_without_text_is_said_so(app, client, me):
    llm = ScriptedLLM([], answer="I can't read any text in it.")
    app.state.llms["assistant"] = llm
    body = _turn(client, me, text="What does this say?", image=photo_without_text()).json()
    assert body["seen"]["text"] == ""
    assert "No text could be read" in _asked(llm)


@needs_tesseract  # the photo is read before the assistant answers
def test_post_this_drafts_a_photo_post_that_waits_for_yes(app, client, me):
    app.state.llms["assistant"] = ScriptedLLM([])
    draft = _turn(client, me, speech("Post this, saying open all week."), image=sign(["OPEN"])).json()
    assert draft["reply"]["pending_actions"]
    assert "photo post" in draft["reply"]["text"], draft
    assert client.get(f"/api/accounts/{me.id}/posts", headers=me.headers).json()["items"] == []
    done = _turn(client, me, text="yes, post it", conversation_id=draft["conversation_id"]).json()
    assert "Published" in done["reply"]["text"]
    posts = client.get(f"/api/accounts/{me.id}/posts", headers=me.headers).json()["items"]
    assert len(posts) == 1 and posts[0]["kind"] == "photo" and "open all week" in posts[0]["text"].lower(), draft


@pytest.mark.parametrize("audio,status,code", [
    (tone(3.0), 422, "no_speech"),
    (tone(3.0, noise=True, amplitude=0.1), 422, "no_speech"),
    (b"definitely not audio" * 20, 415, "unsupported_audio"),
    (tone(600.0, "ogg", amplitude=0.2), 413, "audio_too_large"),
])
def test_bad_audio_is_a_clear_4xx(app, client, me, audio, status, code):
    app.state.llms["assistant"] = ScriptedLLM([])
    response = _turn(client, me, audio, fmt="ogg")
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    assert client.get("/api/assistant/conversations", headers=me.headers).json()["items"] == []


def test_bad_requests(app, client, me, signup):
    app.state.llms["assistant"] = ScriptedLLM([])
    assert _turn(client, me).status_code == 422  # neither audio nor text
    assert _turn(client, me, speech("Hello."), text="hello").status_code == 422  # both
    assert _turn(client, me, text="hi", image=b"\xff\xd8 not a jpeg").status_code == 415
    huge = _turn(client, me, text="hi", image=b"\xff" * (11 * MB))
    assert huge.status_code == 413 and huge.json()["error"]["code"] == "image_too_large"
    assert _turn(client, me, text="hi", conversation_id="abc").status_code == 422
    other = signup("other_voice")
    theirs = _turn(client, other, text="hi").json()["conversation_id"]
    assert _turn(client, me, text="hi", conversation_id=theirs).status_code == 404
    assert client.post("/api/voice/turns", data={"text": "hi"}).status_code == 401


def test_privacy_nothing_kept_unless_opted_in(app, client, me, settings):
    app.state.llms["assistant"] = ScriptedLLM([])
    folder = settings.data_dir / "voice"
    _turn(client, me, speech("Hello there."), image=sign(["HI"]))
    assert client.get("/api/voice/captures", headers=me.headers).json()["items"] == []
    assert not folder.exists() or not any(folder.rglob("*.*"))
    assert client.put("/api/voice/settings", json={"keep_recordings": True}, headers=me.headers).json() == \
        {"keep_recordings": True}
    _turn(client, me, speech("Hello there."), image=sign(["HI"]))
    kept = client.get("/api/voice/captures", headers=me.headers).json()["items"]
    assert sorted(c["kind"] for c in kept) == ["audio", "image"]
    assert len(list(folder.rglob("*.*"))) == 2
    assert client.delete("/api/voice/captures", headers=me.headers).json() == {"deleted": 2}
    assert not any(folder.rglob("*.*"))
    assert client.put("/api/voice/settings", json={"keep_recordings": "maybe"}, headers=me.headers).status_code == 422


def test_openai_transcriptions_and_speech(client, me):
    import openai

    oai = openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key=me.token, http_client=client)
    said = oai.audio.speech.create(model="tts-1", voice="alloy", input="Who should I follow for photography?",
                                   response_format="mp3")
    mp3 = said.content
    assert decode(mp3, max_seconds=60, max_bytes=8 * MB).seconds > 1.0
    text = oai.audio.transcriptions.create(model="whisper-1", file=("q.mp3", mp3, "audio/mpeg"))
    assert "follow for photography" in text.text.lower()
    plain = client.post("/v1/audio/transcriptions", files={"file": ("s.wav", tone(2.0), "audio/wav")},
                        data={"response_format": "text"}, headers=me.headers)
    assert plain.status_code == 200 and plain.text == ""


def test_openai_audio_bad_input(client, me):
    bad = client.post("/v1/audio/transcriptions", files={"file": ("x.wav", b"garbage" * 9, "audio/wav")},
                      headers=me.headers)
    assert bad.status_code == 415 and bad.json()["error"]["code"] == "unsupported_audio"
    assert client.post("/v1/audio/transcriptions", files={"file": ("x.wav", tone(1.0), "audio/wav")},
                       data={"language": "fr"}, headers=me.headers).status_code == 400
    assert client.post("/v1/audio/speech", json={"model": "tts-1", "input": ""}, headers=me.headers).status_code == 422
    assert client.post("/v1/audio/speech", json={"model": "tts-1", "input": "hi", "response_format": "ogg"},
                       headers=me.headers).status_code == 422
    assert client.post("/v1/audio/speech", json={"model": "tts-1", "input": "x" * 5000},
                       headers=me.headers).status_code == 422
    assert client.post("/v1/audio/speech", json={"model": "tts-1", "input": "hi"}).status_code == 401
