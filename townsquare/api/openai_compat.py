"""An OpenAI-compatible API (``/v1``) for the assistant and creator AIs.

Any OpenAI client works with ``base_url=<server>/v1`` and the person's API token as the key.
Models: ``assistant`` (acts in the app as the token's owner; side effects come back as pending
actions to confirm in the app or through ``/api/assistant/actions/{id}/confirm``) and every public
creator AI as ``creator/<handle>`` or ``creator/<handle>/<ai>``.

What the API honours: ``stream`` (token by token, as the model writes), ``max_tokens`` /
``max_completion_tokens``, ``temperature`` and ``stop`` for what the model writes in its own words
(with ``finish_reason: "length"`` when ``max_tokens`` cut it), ``usage`` (tokens the model read and
wrote over every call of the turn; in a stream with ``stream_options: {"include_usage": true}``).
``tools`` are refused with a 400: these models act with the app's own tools. A client conversation
maps to one stored conversation: a request whose earlier messages are the transcript of one of the
person's ``/v1`` conversations continues it (or name it: ``conversation_id`` in the body).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from townsquare.api.models_state import llm_for, shield_for
from townsquare.api.openai_shapes import ChatCompletionIn, completion_body, stream_chunks, text_of
from townsquare.api.schemas import parse_id
from townsquare.api.sse import SSE_HEADERS
from townsquare.assistant import agent
from townsquare.errors import InvalidInput, NotFound, TownsquareError
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account

router = APIRouter(prefix="/v1", tags=["openai-compatible"])

ASSISTANT_MODEL = "assistant"
V1_TITLE = "API: "


def _check_request(body: ChatCompletionIn) -> None:
    """What no model of this API can do: refused before anything is stored (a 400 or 422)."""
    if body.tools and body.tool_choice != "none":
        raise TownsquareError(f"model {body.model!r} acts with the app's own tools; `tools` are not supported",
                              code="tools_not_supported", status=400)
    if body.n != 1:
        raise TownsquareError("n must be 1", code="unsupported_parameter", status=400)
    stops = [body.stop] if isinstance(body.stop, str) else list(body.stop or [])
    if len(stops) > 4 or any(not s or len(s) > 100 for s in stops):
        raise TownsquareError("stop is at most 4 non-empty strings of at most 100 characters",
                              code="invalid_stop", status=400)


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


# --- the assistant --------------------------------------------------------------------------------
def _assistant_request(body: ChatCompletionIn) -> tuple[list[tuple[str, str]], str]:
    """``(earlier (role, text) pairs, the new message)``; rejects what the turn would reject, before
    anything is stored or a stream has started (a 422, not a 200 stream that carries the error)."""
    history = [(m.role, text_of(m)) for m in body.messages if m.role in ("user", "assistant")]
    if not history or history[-1][0] != "user":
        raise InvalidInput("the last message must be from the user")
    text = history[-1][1].strip()
    if not text:
        raise InvalidInput("say something to the assistant")
    if len(text) > agent.MAX_MESSAGE_CHARS:
        raise InvalidInput(f"messages to the assistant are at most {agent.MAX_MESSAGE_CHARS} characters")
    return history[:-1], text


def _conversation_for(session: Session, account: Account, body: ChatCompletionIn, earlier: list, text: str):
    if body.conversation_id:
        return agent.get_conversation(session, account, parse_id(body.conversation_id, what="conversation"))
    found = agent.find_conversation(session, account, earlier, title_prefix=V1_TITLE)
    if found is not None:
        return found
    return agent.start_conversation(session, account, title=V1_TITLE + text[:100], transcript=earlier)


def _assistant_turn(request: Request, session: Session, account: Account, body: ChatCompletionIn):
    earlier, text = _assistant_request(body)
    conversation = _conversation_for(session, account, body, earlier, text)
    runner = agent.Agent(llm_for(request, "assistant"), shield_for(request), request.app.state.settings,
                         feed=request.app.state.services.feed)
    return conversation, runner.run_turn(session, account, conversation, text, body.generation())


def _extra(conversation, steps: list[dict], first_token_ms: float | None = None) -> dict:
    pending = [s for s in steps if s["type"] == "confirmation"]
    actions = [{"id": p["action_id"], "summary": p["summary"], "tool": p["tool"],
                "confirm_url": f"/api/assistant/actions/{p['action_id']}/confirm"} for p in pending]
    extra = {"conversation_id": str(conversation.id), "pending_action": actions[0] if actions else None,
             "pending_actions": actions, "steps": [s for s in steps if s["type"] != "text_delta"]}
    if first_token_ms is not None:
        extra["timings"] = {"model_first_token_ms": round(first_token_ms, 1)}
    return extra


def _ending(steps: list[dict]) -> tuple[str, dict | None]:
    done = next((s for s in reversed(steps) if s["type"] == "done"), {})
    usage = done.get("usage")
    return (usage or {}).get("finish_reason", "stop"), usage


@router.post("/chat/completions")
def chat_completions(body: ChatCompletionIn, request: Request, account: Account = Depends(current_account),
                     session: Session = Depends(get_session)):
    _check_request(body)
    if body.model == ASSISTANT_MODEL:
        _assistant_request(body)
        if not body.stream:
            conversation, steps_iter = _assistant_turn(request, session, account, body)
            steps = [s.as_dict() for s in steps_iter]
            final = next((s["text"] for s in reversed(steps) if s["type"] == "text"), "")
            finish, usage = _ending(steps)
            return completion_body(body.model, final, finish, usage, _extra(conversation, steps))
        return _stream_assistant(request, account, body)
    if body.model.startswith("creator/"):
        from townsquare.api.studio_chat import openai_creator_chat

        return openai_creator_chat(request, session, account, body)
    raise NotFound(f"no model {body.model!r}; GET /v1/models lists them")


def _stream_assistant(request: Request, account: Account, body: ChatCompletionIn) -> StreamingResponse:
    services = request.app.state.services
    account_id = account.id
    collected: list[dict] = []
    holder: dict = {}
    started = time.perf_counter()

    def pieces() -> Iterator[str]:
        with services.session() as stream_session:
            me = stream_session.get(Account, account_id)
            conversation, steps_iter = _assistant_turn(request, stream_session, me, body)
            holder["conversation"] = conversation
            streamed = ""
            for step in steps_iter:
                data = step.as_dict()
                collected.append(data)
                if step.kind == "text_delta":
                    if not streamed:
                        holder["first_token_ms"] = (time.perf_counter() - started) * 1e3
                    streamed += data["text"]
                    yield data["text"]
                elif step.kind == "text":
                    if not streamed:
                        holder.setdefault("first_token_ms", (time.perf_counter() - started) * 1e3)
                        yield data["text"]
                    elif data["text"].strip() != streamed.strip():  # replaced after it streamed
                        notice = "[removed by the safety shield] " if data.get("replaced_by") == "shield" else ""
                        yield "\n\n" + notice + data["text"]

    def ending() -> tuple[str, dict | None, dict]:
        conversation = holder.get("conversation")
        finish, usage = _ending(collected)
        extra = _extra(conversation, collected, holder.get("first_token_ms")) if conversation is not None else {}
        return finish, usage, extra

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(stream_chunks(body.model, pieces(), ending, include_usage),
                             media_type="text/event-stream", headers=SSE_HEADERS)
