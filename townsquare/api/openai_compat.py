"""An OpenAI-compatible API (``/v1``) for the assistant and creator AIs.

Any OpenAI client works with ``base_url=<server>/v1`` and the person's API token as the key.
Models: ``assistant`` (acts in the app as the token's owner; side effects come back as pending
actions to confirm in the app or through ``/api/assistant/actions/{id}/confirm``) and every public
creator AI as ``creator/<handle>`` or ``creator/<handle>/<ai>``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from townsquare.api.deps import current_account, get_session
from townsquare.api.models_state import llm_for, shield_for
from townsquare.api.sse import SSE_HEADERS
from townsquare.assistant import agent
from townsquare.assistant.models import AssistantConversation, AssistantStep
from townsquare.errors import InvalidInput, NotFound, TownsquareError
from townsquare.social.models import Account

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

ASSISTANT_MODEL = "assistant"


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None


class ChatCompletionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")  # temperature, tools, user...: accepted, not needed
    model: str = Field(min_length=1, max_length=200)
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=200)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=8192)


def _text_of(message: ChatMessageIn) -> str:
    if isinstance(message.content, list):
        return "".join(str(part.get("text", "")) for part in message.content if part.get("type") == "text")
    return message.content or ""


def _completion(model: str, text: str, extra: dict) -> dict:
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:24], "object": "chat.completion", "created": int(time.time()),
            "model": model, "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}, "townsquare": extra}


def _chunks(model: str, pieces: Iterator[str], extra_at_end) -> Iterator[str]:
    import json

    cid, created = "chatcmpl-" + uuid.uuid4().hex[:24], int(time.time())

    def chunk(delta: dict, finish: str | None = None, **more) -> str:
        body = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **more}
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        for piece in pieces:
            if piece:
                yield chunk({"content": piece})
    except TownsquareError as exc:
        yield f"data: {json.dumps({'error': {'code': exc.code, 'message': exc.message}})}\n\n"
    yield chunk({}, "stop", townsquare=extra_at_end())
    yield "data: [DONE]\n\n"


@router.get("/models")
def list_models(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    from townsquare.studio.models import CreatorAI
    from townsquare.studio.service import listed_ais_query

    data = [{"id": ASSISTANT_MODEL, "object": "model", "created": 0, "owned_by": "townsquare"}]
    # listed_ais_query applies the block rule: no AI of someone who blocks you or whom you block.
    rows = session.execute(listed_ais_query(account).order_by(CreatorAI.id).limit(500)).all()
    for ai, owner in rows:
        data.append({"id": f"creator/{owner.handle}/{ai.slug}", "object": "model",
                     "created": int(ai.created_at.timestamp()), "owned_by": owner.handle})
    return {"object": "list", "data": data}


def _check_assistant_request(body: ChatCompletionIn) -> None:
    """Reject what the turn would reject, before anything is stored or a stream has started (a 422,
    not a 200 stream that carries the error)."""
    history = [m for m in body.messages if m.role in ("user", "assistant")]
    if not history or history[-1].role != "user":
        raise InvalidInput("the last message must be from the user")
    text = _text_of(history[-1]).strip()
    if not text:
        raise InvalidInput("say something to the assistant")
    if len(text) > agent.MAX_MESSAGE_CHARS:
        raise InvalidInput(f"messages to the assistant are at most {agent.MAX_MESSAGE_CHARS} characters")


def _assistant_turn(request: Request, session: Session, account: Account, body: ChatCompletionIn):
    """Run the last user message as a turn of a new stored conversation seeded with the earlier ones."""
    _check_assistant_request(body)
    history = [m for m in body.messages if m.role in ("user", "assistant")]
    conversation = agent.start_conversation(session, account, title="API: " + _text_of(history[-1])[:100])
    for message in history[:-1]:
        kind = "user" if message.role == "user" else "text"
        session.add(AssistantStep(conversation_id=conversation.id, turn=0, kind=kind,
                                  payload={"text": _text_of(message)}))
    session.flush()
    runner = agent.Agent(llm_for(request, "assistant"), shield_for(request), request.app.state.settings)
    return conversation, runner.run_turn(session, account, conversation, _text_of(history[-1]))


def _extra(conversation: AssistantConversation, steps: list[dict]) -> dict:
    pending = next((s for s in steps if s["type"] == "confirmation"), None)
    return {"conversation_id": str(conversation.id),
            "pending_action": None if pending is None else {
                "id": pending["action_id"], "summary": pending["summary"], "tool": pending["tool"],
                "confirm_url": f"/api/assistant/actions/{pending['action_id']}/confirm"},
            "steps": [s for s in steps if s["type"] != "text_delta"]}


@router.post("/chat/completions")
def chat_completions(body: ChatCompletionIn, request: Request, account: Account = Depends(current_account),
                     session: Session = Depends(get_session)):
    if body.model == ASSISTANT_MODEL:
        _check_assistant_request(body)
        if not body.stream:
            conversation, steps_iter = _assistant_turn(request, session, account, body)
            steps = [s.as_dict() for s in steps_iter]
            final = next((s["text"] for s in reversed(steps) if s["type"] == "text"), "")
            return _completion(body.model, final, _extra(conversation, steps))
        return _stream_assistant(request, account, body)
    if body.model.startswith("creator/"):
        from townsquare.api.studio_chat import openai_creator_chat

        return openai_creator_chat(request, session, account, body)
    raise NotFound(f"no model {body.model!r}; GET /v1/models lists them")


def _stream_assistant(request: Request, account: Account, body: ChatCompletionIn) -> StreamingResponse:
    db = request.app.state.db
    account_id = account.id
    collected: list[dict] = []
    holder: dict = {}

    def pieces() -> Iterator[str]:
        with db.session() as stream_session:
            me = stream_session.get(Account, account_id)
            conversation, steps_iter = _assistant_turn(request, stream_session, me, body)
            holder["conversation"] = conversation
            streamed = ""
            for step in steps_iter:
                data = step.as_dict()
                collected.append(data)
                if step.kind == "text_delta":
                    streamed += data["text"]
                    yield data["text"]
                elif step.kind == "text":
                    if not streamed:
                        yield data["text"]
                    elif data["text"].strip() != streamed.strip():  # replaced by the output shield
                        yield "\n\n[removed by the safety shield] " + data["text"]

    def extra() -> dict:
        conversation = holder.get("conversation")
        return _extra(conversation, collected) if conversation is not None else {}

    return StreamingResponse(_chunks(body.model, pieces(), extra), media_type="text/event-stream",
                             headers=SSE_HEADERS)
