"""Streaming hands-free turns over a WebSocket (``/api/voice/stream``): partial transcripts while the
person speaks, the assistant's steps as they happen, and the reply's audio sentence by sentence.

Client -> server (one turn after another on one connection):
  ``{"type": "start", "format": "pcm16"|"wav"|"webm"|"ogg", "sample_rate": 16000, "conversation_id": ...}``,
  then binary frames of audio, then ``{"type": "end"}`` (optionally with ``"image_base64"``);
  or ``{"type": "text", "text": ..., "conversation_id": ...}`` for a typed request.
Server -> client: ``ready``, ``partial`` (text so far), ``transcript``, ``step`` (each assistant step, under ``step``),
``text_delta``, ``audio`` (``index``, ``text``, ``format: wav``, ``base64``), ``reply``, ``done``
(with timings), or ``error`` (``code``, ``message``, ``status``: the turn is dropped, the
connection stays open).

Authentication: ``Authorization: Bearer``, ``?access_token=``, or the session cookie (then only
from this site's own pages: the ``Origin`` must be this host, as a cross-site page could open it).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from urllib.parse import urlsplit

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from townsquare.api.voice import hands_free
from townsquare.assistant import agent
from townsquare.errors import InvalidInput, TownsquareError
from townsquare.server.deps import SESSION_COOKIE
from townsquare.social.models import Account
from townsquare.social.tokens import resolve_token
from townsquare.voice import audio as audio_io
from townsquare.voice import tts, vocabulary
from townsquare.voice.turns import TurnReply

router = APIRouter()

PARTIAL_EVERY_S = 1.0  # a partial transcript for each second of new speech
FORMATS = ("pcm16", "wav", "webm", "ogg")


def _secret(websocket: WebSocket) -> tuple[str, bool]:
    """(token, came from the cookie)."""
    header = websocket.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip(), False
    if websocket.query_params.get("access_token"):
        return websocket.query_params["access_token"], False
    return websocket.cookies.get(SESSION_COOKIE, ""), True


def _same_origin(websocket: WebSocket) -> bool:
    origin = websocket.headers.get("origin")
    return origin is not None and urlsplit(origin).netloc == websocket.headers.get("host", "")


def _account_id(services, secret: str) -> int | None:
    with services.session() as session:
        account = resolve_token(session, secret)
        return account.id if account is not None else None


class Turn:
    """The audio of one turn as it arrives."""

    def __init__(self, message: dict, settings) -> None:
        self.format = str(message.get("format", "pcm16"))
        if self.format not in FORMATS:
            raise InvalidInput(f"format must be one of {', '.join(FORMATS)}")
        try:
            self.sample_rate = int(message.get("sample_rate", audio_io.SAMPLE_RATE))
        except (TypeError, ValueError):
            raise InvalidInput("sample_rate must be a number")
        if not 8000 <= self.sample_rate <= 96000:
            raise InvalidInput("sample_rate must be between 8000 and 96000")
        self.conversation_id = message.get("conversation_id")
        self.speak = bool(message.get("speak", True))
        self.settings = settings
        self.data = bytearray()
        self.partial_at = 0.0  # seconds of audio at the last partial transcript
        self.hotwords = ""  # the person's likely words (voice.vocabulary), set when the turn starts

    def add(self, chunk: bytes) -> None:
        self.data.extend(chunk)
        if len(self.data) > self.settings.voice_max_audio_bytes:
            raise audio_io.AudioTooLarge("the recording is larger than the limit of one turn")
        if self.format == "pcm16" and self.seconds() > self.settings.voice_max_audio_s:
            raise audio_io.AudioTooLarge(
                f"the recording is longer than the {self.settings.voice_max_audio_s:g} s limit of one turn")

    def seconds(self) -> float:
        if self.format == "pcm16":
            return len(self.data) / 2 / self.sample_rate
        return len(self.data) / 4000  # opus at ~32 kbit/s: only used to space the partial transcripts

    def audio(self) -> audio_io.Audio:
        if self.format == "pcm16":
            return audio_io.from_pcm16(bytes(self.data), self.sample_rate)
        return audio_io.decode(bytes(self.data), max_seconds=self.settings.voice_max_audio_s,
                               max_bytes=self.settings.voice_max_audio_bytes)


def _conversation_id(raw) -> int | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    if not (text.isascii() and text.isdigit()):
        raise InvalidInput("conversation_id is not a valid id")
    return int(text)


def run_turn(app, account_id: int, said_or_audio, turn: Turn | None, conversation_id, image: bytes | None,
             send) -> None:
    """A whole turn, in a worker thread; ``send(dict)`` delivers one message to the client."""
    handsfree = hands_free(app)
    timings: dict[str, float] = {}
    speak = turn.speak if turn is not None else True
    if isinstance(said_or_audio, str):
        said = said_or_audio
    else:
        heard = handsfree.hear_audio(said_or_audio, turn.hotwords if turn is not None else "")
        with app.state.services.session() as session:
            said = handsfree.said(session, session.get(Account, account_id), heard)
        timings["asr_s"] = round(heard.asr_s, 3)
    send({"type": "transcript", "text": said})
    seen = handsfree.look(image, said) if image else None
    if seen is not None:
        send({"type": "seen", **seen.as_dict()})
    started = time.perf_counter()
    spoken_upto, index, streamed = 0, 0, ""
    budget = [tts.MAX_SPOKEN_CHARS]

    def speak_sentences(text: str) -> None:
        nonlocal index
        for part in handsfree.voice.speak_sentences(text, budget):
            if index == 0:
                timings["first_audio_s"] = round(time.perf_counter() - started, 3)
            send({"type": "audio", "index": index, "text": part.text, "format": "wav",
                  "base64": base64.b64encode(part.wav).decode()})
            index += 1

    with app.state.services.session() as session:
        account = session.get(Account, account_id)
        conversation = handsfree.conversation(session, account, conversation_id, said)
        reply = TurnReply(conversation.id)
        for step in handsfree.respond(session, account, conversation, said, seen):
            reply.add(step)
            if step.kind == "text_delta":
                streamed += step.data.get("text", "")
                send({"type": "text_delta", "text": step.data.get("text", "")})
                cut = _last_sentence_end(streamed)
                if speak and cut > spoken_upto:
                    speak_sentences(streamed[spoken_upto:cut])
                    spoken_upto = cut
                continue
            send({"type": "step", "step": step.as_dict()})
            if step.kind == "text" and speak:
                final = step.data.get("text", "")
                rest = final[spoken_upto:] if spoken_upto and final.startswith(streamed[:spoken_upto]) else final
                if spoken_upto and rest is final:
                    send({"type": "audio_replaced"})  # what was spoken so far was corrected
                speak_sentences(rest)
                spoken_upto = len(final)
    timings["turn_s"] = round(time.perf_counter() - started, 3)
    send({"type": "reply", "conversation_id": str(reply.conversation_id), "text": reply.text,
          "pending_actions": reply.pending})
    send({"type": "done", "timings": timings})


def _last_sentence_end(text: str) -> int:
    ends = [i + 1 for i, ch in enumerate(text[:-1]) if ch in ".!?" and text[i + 1].isspace()]
    return ends[-1] if ends else 0


@router.websocket("/api/voice/stream")
async def voice_stream(websocket: WebSocket):
    services = websocket.app.state.services
    settings = websocket.app.state.settings
    secret, from_cookie = _secret(websocket)
    if from_cookie and not _same_origin(websocket):
        await websocket.close(code=4003)
        return
    account_id = await run_in_threadpool(_account_id, services, secret) if secret else None
    if account_id is None:
        await websocket.close(code=4001)
        return
    await websocket.accept()
    loop = asyncio.get_running_loop()
    send_lock = threading.Lock()

    def send(message: dict) -> None:  # from worker threads
        with send_lock:
            asyncio.run_coroutine_threadsafe(websocket.send_text(json.dumps(message)), loop).result(timeout=30)

    async def error(exc: TownsquareError) -> None:
        await websocket.send_text(json.dumps({"type": "error", "code": exc.code, "message": exc.message,
                                              "status": exc.status}))

    await websocket.send_text(json.dumps({"type": "ready", "formats": list(FORMATS),
                                          "max_seconds": settings.voice_max_audio_s}))
    turn: Turn | None = None
    partial: asyncio.Future | None = None
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            try:
                if message.get("bytes") is not None:
                    if turn is None:
                        raise InvalidInput("send {\"type\": \"start\"} before audio")
                    turn.add(message["bytes"])
                    if turn.seconds() - turn.partial_at >= PARTIAL_EVERY_S and (partial is None or partial.done()):
                        turn.partial_at = turn.seconds()
                        partial = asyncio.ensure_future(_partial(turn, websocket))
                    continue
                try:
                    body = json.loads(message.get("text") or "")
                except ValueError:
                    raise InvalidInput("messages are JSON objects or binary audio frames")
                if not isinstance(body, dict):
                    raise InvalidInput("messages are JSON objects or binary audio frames")
                kind = body.get("type")
                if kind == "start":
                    turn = Turn(body, settings)
                    _conversation_id(turn.conversation_id)
                    turn.hotwords = await run_in_threadpool(_hotwords, services, account_id)
                elif kind == "end":
                    if turn is None or not turn.data:
                        raise InvalidInput("no audio was sent in this turn")
                    if partial is not None:
                        await asyncio.wait([partial])
                    current, turn = turn, None
                    image = _image(body, settings)
                    decoded = await run_in_threadpool(current.audio)
                    await run_in_threadpool(run_turn, websocket.app, account_id, decoded, current,
                                            _conversation_id(current.conversation_id), image, send)
                elif kind == "text":
                    said = str(body.get("text", "")).strip()
                    if not said or len(said) > agent.MAX_MESSAGE_CHARS:
                        raise InvalidInput(f"text is 1 to {agent.MAX_MESSAGE_CHARS} characters")
                    await run_in_threadpool(run_turn, websocket.app, account_id, said, None,
                                            _conversation_id(body.get("conversation_id")), _image(body, settings),
                                            send)
                else:
                    raise InvalidInput("type is start, end or text")
            except TownsquareError as exc:
                turn = None
                await error(exc)
    except WebSocketDisconnect:
        pass


def _image(body: dict, settings) -> bytes | None:
    raw = body.get("image_base64")
    if not raw:
        return None
    if not isinstance(raw, str) or len(raw) > settings.voice_max_image_bytes * 4 // 3 + 8:
        raise TownsquareError("the image is larger than the limit", code="image_too_large", status=413)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        raise InvalidInput("image_base64 is not base64")


def _hotwords(services, account_id: int) -> str:
    with services.session() as session:
        return vocabulary.for_account(session, session.get(Account, account_id))


async def _partial(turn: Turn, websocket: WebSocket) -> None:
    """Transcribe what has arrived so far and send it as a partial transcript (best effort)."""
    from townsquare.voice import engines

    def transcribe() -> str:
        try:
            decoded = turn.audio()
        except TownsquareError:
            return ""  # a container cut mid-frame: the next partial or the end will do
        if audio_io.is_silent(decoded):
            return ""
        return engines.transcriber().transcribe(decoded.samples, hotwords=turn.hotwords).text

    text = await run_in_threadpool(transcribe)
    if text:
        try:
            await websocket.send_text(json.dumps({"type": "partial", "text": text}))
        except RuntimeError:
            pass  # the connection closed meanwhile

