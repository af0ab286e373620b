"""One hands-free turn: hear (decode, check, transcribe), look (OCR, vision), respond (the assistant,
or a spoken answer to its pending confirmation), speak (sentence by sentence).

The assistant is the same agent as the typed one (tools, shields, confirmations, memory); the
person's words and its answers are stored as normal assistant turns. What is specific to having no
screen is only: a short "yes"/"no" answers the confirmation the assistant asked for, and "post this"
with a photo drafts a photo post that waits for that confirmation.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townsquare.assistant import actions, agent
from townsquare.assistant.agent import Step
from townsquare.assistant.models import AssistantConversation, AssistantStep, PendingAction
from townsquare.assistant.tools import ToolContext
from townsquare.errors import TownsquareError
from townsquare.social.models import Account
from townsquare.voice import audio as audio_io
from townsquare.voice import ocr, readings, replies, vision
from townsquare.voice.images import Frame, load_frame

TITLE_PREFIX = "Hands-free: "
MAX_OCR_CHARS = 1200
# What the model writes in its own words is capped for a spoken answer (about 30 s of speech): the
# typed assistant's longer default would be minutes of audio, and a runaway answer worse.
SPOKEN_MAX_TOKENS = 160
NOTHING_HEARD = "I didn't hear anything I could understand. Try again a little closer to the microphone."


@dataclass
class Heard:
    readings: list[str]  # Whisper's readings, likeliest first (at least one)
    seconds: float  # of speech sent
    asr_s: float  # time to transcribe
    rescore: Callable[[list[str]], list[float]] | None = None  # Whisper's score of other readings (asr.Transcript)


@dataclass
class Seen:
    frame: Frame
    text: str  # what OCR read ("" when the photo has no readable text)
    description: str | None  # from the remote vision model, when configured
    problem: str | None = None  # why a description is missing although one was configured
    ocr_s: float = 0.0
    vision_s: float = 0.0

    def as_dict(self) -> dict:
        return {"text": self.text, "description": self.description, "problem": self.problem,
                "width": self.frame.width, "height": self.frame.height}

    def context(self) -> str:
        """What the assistant is told about the photo, as quoted data."""
        parts = []
        if self.text:
            parts.append("Text read in the photo: \"" + " / ".join(self.text[:MAX_OCR_CHARS].splitlines()) + "\"")
        else:
            parts.append("No text could be read in the photo.")
        if self.description:
            parts.append(f"What the photo shows: {self.description}")
        return "[Photo attached] " + " ".join(parts)


@dataclass
class TurnReply:
    """What a turn produced, collected from its steps."""

    conversation_id: int
    steps: list[dict] = field(default_factory=list)
    text: str = ""
    pending: list[str] = field(default_factory=list)  # action ids waiting for confirmation

    def add(self, step: Step) -> None:
        if step.kind == "text_delta":
            return
        self.steps.append(step.as_dict())
        if step.kind == "text":
            self.text = step.data.get("text", "")
        elif step.kind == "confirmation":
            self.pending.append(step.data["action_id"])


class HandsFree:
    """``make_agent``: () -> the app's ``assistant.agent.Agent`` (its LLM, shield and feed)."""

    def __init__(self, settings, make_agent, transcriber, voice) -> None:
        self.settings = settings
        self.make_agent = make_agent
        self.transcriber = transcriber
        self.voice = voice

    # --- hear -----------------------------------------------------------------------------------
    def hear(self, data: bytes, hotwords: str = "") -> Heard:
        """``hotwords``: what the person is likely to say (``vocabulary.for_account``)."""
        decoded = audio_io.decode(data, max_seconds=self.settings.voice_max_audio_s,
                                  max_bytes=self.settings.voice_max_audio_bytes)
        return self.hear_audio(decoded, hotwords)

    def hear_audio(self, decoded: audio_io.Audio, hotwords: str = "") -> Heard:
        if decoded.seconds > self.settings.voice_max_audio_s:
            raise audio_io.AudioTooLarge(
                f"the recording is longer than the {self.settings.voice_max_audio_s:g} s limit of one turn")
        if audio_io.is_silent(decoded):
            raise audio_io.NoSpeech(NOTHING_HEARD)
        started = time.perf_counter()
        transcript = self.transcriber.transcribe(decoded.samples, hotwords=hotwords)
        took = time.perf_counter() - started
        if transcript.empty:
            raise audio_io.NoSpeech(NOTHING_HEARD)
        return Heard(transcript.readings, decoded.seconds, took, transcript.rescore)

    def said(self, session: Session, account: Account, heard: Heard) -> str:
        """What the person said, among Whisper's readings: the one the assistant can act on
        (``voice/readings.py``)."""
        return readings.choose(ToolContext(session, account, self.settings), heard.readings, heard.rescore)

    # --- look -----------------------------------------------------------------------------------
    def look(self, data: bytes, question: str) -> Seen:
        frame = load_frame(data, max_bytes=self.settings.voice_max_image_bytes,
                           max_pixels=self.settings.voice_max_image_pixels)
        started = time.perf_counter()
        text = ocr.read_text(frame)
        ocr_s = time.perf_counter() - started
        started = time.perf_counter()
        described = vision.describe(frame, question, self.settings)
        return Seen(frame, text, described.text, described.problem, ocr_s, time.perf_counter() - started)

    # --- respond --------------------------------------------------------------------------------
    def conversation(self, session: Session, account: Account, conversation_id: int | None,
                     said: str) -> AssistantConversation:
        if conversation_id is not None:
            return agent.get_conversation(session, account, conversation_id)
        return agent.start_conversation(session, account, title=(TITLE_PREFIX + said)[:120])

    def respond(self, session: Session, account: Account, conversation: AssistantConversation, said: str,
                seen: Seen | None = None) -> Iterator[Step]:
        """The turn's steps, stored in the conversation as they happen."""
        waiting = _pending_actions(session, conversation)
        answer = replies.answer(said) if waiting else None
        if answer is not None:
            yield from self._answer_confirmation(session, account, conversation, said, waiting, answer)
            return
        if seen is not None and replies.wants_photo_post(said):
            yield from self._draft_photo_post(session, account, conversation, said, seen)
            return
        message = said if seen is None else f"{said}\n\n{seen.context()}"
        yield from self.make_agent().run_turn(session, account, conversation, message,
                                              agent.Generation(max_tokens=SPOKEN_MAX_TOKENS))

    def _record(self, session: Session, conversation: AssistantConversation, turn: int, kind: str,
                **data) -> Step:
        session.add(AssistantStep(conversation_id=conversation.id, turn=turn, kind=kind, payload=data))
        session.flush()
        return Step(kind, data)

    def _answer_confirmation(self, session, account, conversation, said, waiting, answer) -> Iterator[Step]:
        turn = _next_turn(session, conversation)
        yield self._record(session, conversation, turn, "user", text=said)
        said_back = []
        for action in waiting:
            try:
                if answer == "yes":
                    result = actions.confirm(session, account, action.id, self.settings)
                    said_back.append(result.text)
                    yield Step("tool_result", {"action_id": str(action.id), "tool": action.tool, "confirmed": True,
                                               "text": result.text, "data": result.data})
                else:
                    actions.cancel(session, account, action.id)
                    said_back.append(f"Cancelled: {action.summary}.")
            except TownsquareError as exc:
                said_back.append(f"I couldn't do that: {exc.message}")
                yield Step("error", {"message": exc.message, "code": exc.code, "action_id": str(action.id)})
        yield self._record(session, conversation, turn, "text", text=" ".join(said_back))
        yield self._record(session, conversation, turn, "done", reason="confirmation_answered")

    def _draft_photo_post(self, session, account, conversation, said, seen: Seen) -> Iterator[Step]:
        from townsquare.social import media as media_service

        turn = _next_turn(session, conversation)
        yield self._record(session, conversation, turn, "user", text=f"{said}\n\n{seen.context()}")
        caption = replies.spoken_caption(said)
        shield = self.make_agent().shield
        verdict = shield.check([{"role": "user", "content": said}])
        if not verdict.safe:
            yield self._record(session, conversation, turn, "shield", stage="input", **verdict.as_dict())
            yield self._record(session, conversation, turn, "text", text=agent.REFUSAL)
            yield self._record(session, conversation, turn, "done", reason="shield")
            return
        alt = (seen.description or seen.text or "")[:1500]
        media = media_service.store_upload(session, account, seen.frame.jpeg(), media_dir=self.settings.media_store,
                                           max_bytes=self.settings.max_upload_bytes, description=alt)
        ctx = ToolContext(session, account, self.settings)
        action = actions.propose(session, ctx, conversation, "publish_post",
                                 {"text": caption, "media_ids": [str(media.id)]})
        yield self._record(session, conversation, turn, "confirmation", action_id=str(action.id), tool=action.tool,
                           arguments=action.arguments, summary=action.summary)
        yield self._record(session, conversation, turn, "text",
                           text=f"Please confirm: {action.summary}. Say yes to post it, or cancel.")
        yield self._record(session, conversation, turn, "done", reason="confirmation")


def _next_turn(session: Session, conversation: AssistantConversation) -> int:
    return (session.scalar(select(func.max(AssistantStep.turn)).where(
        AssistantStep.conversation_id == conversation.id)) or 0) + 1


def _pending_actions(session: Session, conversation: AssistantConversation) -> list[PendingAction]:
    """The actions the assistant asked about in the conversation's last turn, still pending: a "yes"
    answers the question just asked, never an older one the talk has moved on from."""
    latest = session.scalar(select(func.max(AssistantStep.turn)).where(
        AssistantStep.conversation_id == conversation.id, AssistantStep.kind == "confirmation"))
    if latest is None or latest != _next_turn(session, conversation) - 1:
        return []
    ids = [int(p["action_id"]) for p in session.scalars(select(AssistantStep.payload).where(
        AssistantStep.conversation_id == conversation.id, AssistantStep.turn == latest,
        AssistantStep.kind == "confirmation")) if p and p.get("action_id")]
    return list(session.scalars(select(PendingAction).where(
        PendingAction.id.in_(ids), PendingAction.status == "pending").order_by(PendingAction.id)))
