"""Hands-free API (``/api/voice``): a spoken (or typed) turn with an optional photo, the person's
activity, and their privacy setting. The streaming variant is ``api/voice_stream.py``; the
OpenAI-compatible ``/v1/audio/*`` routes are ``api/openai_audio.py``. The rules live in
``townsquare/voice``; these routes parse, call and shape."""

from __future__ import annotations

import base64
import time

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from sqlalchemy.orm import Session

from townsquare.api.schemas import StrictModel, parse_id
from townsquare.assistant import agent
from townsquare.errors import InvalidInput
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account
from townsquare.voice import activity, engines, privacy, vocabulary
from townsquare.voice.audio import AudioTooLarge
from townsquare.voice.images import ImageError
from townsquare.voice.turns import HandsFree, TurnReply

router = APIRouter(prefix="/api/voice", tags=["voice"])


def hands_free(app) -> HandsFree:
    """Hands-free turns with the app's assistant (its LLM, shield and feed) and speech models."""
    settings, services = app.state.settings, app.state.services

    def make_agent():
        return agent.Agent(services.llm("assistant"), services.shield(), settings, feed=services.feed)

    return HandsFree(settings, make_agent, engines.transcriber(), engines.voice(settings.voice_tts))


def read_limited(upload: UploadFile | None, limit: int, error) -> bytes:
    if upload is None:
        return b""
    data = upload.file.read(limit + 1)
    if len(data) > limit:
        raise error
    return data


class SettingsIn(StrictModel):
    keep_recordings: bool


@router.post("/turns")
def voice_turn(request: Request,
               audio: UploadFile | None = File(None, description="the spoken request: WAV, webm/opus, ogg/opus, "
                                                                 "FLAC or MP3, at most voice_max_audio_s long"),
               text: str = Form("", max_length=agent.MAX_MESSAGE_CHARS, description="a typed request instead"),
               image: UploadFile | None = File(None, description="a camera frame to ask about (JPEG, PNG, WebP)"),
               conversation_id: str = Form("", description="continue this conversation; empty: a new one"),
               speak: bool = Form(True, description="include the reply as WAV audio"),
               account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """One hands-free turn: the transcript, the assistant's steps, its reply as text and speech."""
    settings = request.app.state.settings
    recording = read_limited(audio, settings.voice_max_audio_bytes, AudioTooLarge(
        f"the recording is larger than the {settings.voice_max_audio_bytes // (1024 * 1024)} MB limit"))
    photo = read_limited(image, settings.voice_max_image_bytes, ImageError(
        f"the image is larger than the {settings.voice_max_image_bytes // (1024 * 1024)} MB limit",
        code="image_too_large", status=413))
    if bool(recording) == bool(text.strip()):
        raise InvalidInput("send either a recording (audio) or a typed request (text)")
    conv_id = parse_id(conversation_id, what="conversation", in_body=True) if conversation_id.strip() else None
    if conv_id is not None:
        agent.get_conversation(session, account, conv_id)  # 404 before any model runs
    handsfree = hands_free(request.app)
    timings: dict[str, float] = {}
    heard = None
    if recording:
        heard = handsfree.hear(recording, vocabulary.for_account(session, account))
        said, timings["asr_s"] = handsfree.said(session, account, heard), round(heard.asr_s, 3)
    else:
        said = text.strip()
    seen = handsfree.look(photo, said) if photo else None
    if seen is not None:
        timings["ocr_s"], timings["vision_s"] = round(seen.ocr_s, 3), round(seen.vision_s, 3)
    conversation = handsfree.conversation(session, account, conv_id, said)
    reply = TurnReply(conversation.id)
    started = time.perf_counter()
    for step in handsfree.respond(session, account, conversation, said, seen):
        reply.add(step)
    timings["assistant_s"] = round(time.perf_counter() - started, 3)
    spoken = None
    if speak and reply.text.strip():
        started = time.perf_counter()
        speech = handsfree.voice.speak_reply(reply.text)
        timings["tts_s"] = round(time.perf_counter() - started, 3)
        spoken = {"format": "wav", "text": speech.text, "seconds": round(speech.seconds, 2),
                  "base64": base64.b64encode(speech.wav).decode()}
    privacy.keep(session, settings.data_dir, account.id, conversation.id, "audio", recording, "audio")
    privacy.keep(session, settings.data_dir, account.id, conversation.id, "image", photo, "img")
    return {"conversation_id": str(conversation.id), "transcript": said,
            "audio_seconds": round(heard.seconds, 2) if heard else None,
            "seen": seen.as_dict() if seen else None, "steps": reply.steps,
            "reply": {"text": reply.text, "pending_actions": reply.pending}, "audio": spoken, "timings": timings}


@router.get("/activity")
def get_activity(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Every side effect the assistant proposed for you, newest first, with its status."""
    return {"items": activity.recent_actions(session, account.id)}


@router.get("/settings")
def get_settings(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return {"keep_recordings": privacy.settings_of(session, account.id).keep_recordings}


@router.put("/settings")
def put_settings(body: SettingsIn, account: Account = Depends(current_account),
                 session: Session = Depends(get_session)):
    """``keep_recordings``: keep your recordings and camera frames (off by default)."""
    return {"keep_recordings": privacy.set_keep_recordings(session, account.id, body.keep_recordings).keep_recordings}


@router.get("/captures")
def list_captures(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return {"items": [{"id": str(c.id), "kind": c.kind, "size_bytes": c.size_bytes,
                       "conversation_id": str(c.conversation_id) if c.conversation_id else None,
                       "created_at": c.created_at.isoformat()} for c in privacy.list_captures(session, account.id)]}


@router.delete("/captures")
def delete_captures(request: Request, account: Account = Depends(current_account),
                    session: Session = Depends(get_session)):
    return {"deleted": privacy.delete_captures(session, request.app.state.settings.data_dir, account.id)}
