"""OpenAI-compatible speech endpoints, so existing voice clients work with ``base_url=<server>/v1``:
``POST /v1/audio/transcriptions`` (Whisper tiny.en, on this machine) and ``POST /v1/audio/speech``
(the packaged Piper voice). The person's API token is the key; nothing is stored."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import PlainTextResponse, Response
from pydantic import Field
from sqlalchemy.orm import Session

from townsquare.api.schemas import StrictModel
from townsquare.errors import TownsquareError
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account
from townsquare.voice import audio as audio_io
from townsquare.voice import engines, vocabulary
from townsquare.voice.tts import MAX_SPEECH_CHARS

router = APIRouter(prefix="/v1/audio", tags=["openai-compatible"])

TRANSCRIPTION_MODELS = ("whisper-1", "whisper-tiny.en", "gpt-4o-transcribe", "gpt-4o-mini-transcribe")
SPEECH_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts", "piper")
MAX_PROMPT_CHARS = 400  # of the client's own prompt: the rest of Whisper's budget is the person's vocabulary


class SpeechIn(StrictModel):
    model: str = "tts-1"
    input: str = Field(min_length=1, max_length=MAX_SPEECH_CHARS)
    # OpenAI's voices are accepted (clients send one) and all speak with the packaged voice.
    voice: str = Field("alloy", max_length=40)
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: float = Field(1.0, ge=0.25, le=4.0)
    instructions: str | None = Field(None, max_length=4000)


@router.post("/transcriptions")
def transcriptions(request: Request, file: UploadFile = File(..., description="the recording"),
                   model: str = Form("whisper-1"), language: str = Form(""), prompt: str = Form(""),
                   response_format: str = Form("json"), temperature: float = Form(0.0),
                   account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """OpenAI's transcription API. ``prompt`` (words to expect) comes first in Whisper's prompt, then
    the words this person is likely to say (``voice.vocabulary``)."""
    settings = request.app.state.settings
    if model not in TRANSCRIPTION_MODELS:
        raise TownsquareError(f"model must be one of {', '.join(TRANSCRIPTION_MODELS)}", code="model_not_found",
                              status=400)
    if language and language.lower().split("-")[0] != "en":
        raise TownsquareError("this server transcribes English only (language: en)", code="unsupported_language",
                              status=400)
    if response_format not in ("json", "text", "verbose_json"):
        raise TownsquareError("response_format must be json, text or verbose_json", code="unsupported_format",
                              status=400)
    data = file.file.read(settings.voice_max_audio_bytes + 1)
    decoded = audio_io.decode(data, max_seconds=settings.voice_max_audio_s, max_bytes=settings.voice_max_audio_bytes)
    hotwords = ", ".join(p for p in (prompt.strip()[:MAX_PROMPT_CHARS], vocabulary.for_account(session, account)) if p)
    text = "" if audio_io.is_silent(decoded) else engines.transcriber().transcribe(decoded.samples,
                                                                                  hotwords=hotwords).text
    if response_format == "text":
        return PlainTextResponse(text)
    if response_format == "verbose_json":
        return {"task": "transcribe", "language": "english", "duration": round(decoded.seconds, 3), "text": text}
    return {"text": text}


@router.post("/speech")
def speech(body: SpeechIn, request: Request, account: Account = Depends(current_account)):
    if body.model not in SPEECH_MODELS:
        raise TownsquareError(f"model must be one of {', '.join(SPEECH_MODELS)}", code="model_not_found", status=400)
    _spoken, samples, rate = engines.voice(request.app.state.settings.voice_tts).render(body.input)
    if body.speed != 1.0:  # faster speech: fewer samples at the same rate (pitch moves with it)
        samples = audio_io.resample(samples, int(rate * body.speed), rate)
    data, content_type = audio_io.encode(samples, rate, body.response_format)
    return Response(data, media_type=content_type)
