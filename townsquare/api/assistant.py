"""The assistant's native API (``/api/assistant``): conversations, streamed turns, confirmations, memory."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import Field
from sqlalchemy.orm import Session

from townsquare.api.models_state import llm_for, shield_for
from townsquare.api.schemas import StrictModel, parse_id
from townsquare.api.sse import SSE_HEADERS, sse_frame
from townsquare.assistant import actions, agent, memory
from townsquare.assistant.models import AssistantConversation, Memory
from townsquare.errors import TownsquareError
from townsquare.server.deps import current_account, get_session
from townsquare.social.models import Account

router = APIRouter(prefix="/api/assistant", tags=["assistant"])


class MessageIn(StrictModel):
    text: str = Field(max_length=agent.MAX_MESSAGE_CHARS * 2)
    stream: bool = True


class MemoryIn(StrictModel):
    text: str = Field(max_length=2000)


def _conversation(c: AssistantConversation) -> dict:
    return {"id": str(c.id), "title": c.title, "created_at": c.created_at.isoformat(),
            "updated_at": c.updated_at.isoformat()}


def _memory(m: Memory) -> dict:
    return {"id": str(m.id), "text": m.text, "source": m.source, "created_at": m.created_at.isoformat(),
            "updated_at": m.updated_at.isoformat()}


@router.post("/conversations", status_code=201)
def create_conversation(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return _conversation(agent.start_conversation(session, account))


@router.get("/conversations")
def list_conversations(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return {"items": [_conversation(c) for c in agent.list_conversations(session, account)]}


@router.get("/conversations/{conversation_id}")
def get_conversation(conversation_id: str, account: Account = Depends(current_account),
                     session: Session = Depends(get_session)):
    conversation = agent.get_conversation(session, account, parse_id(conversation_id, what="conversation"))
    steps = [{"id": str(s.id), "turn": s.turn, "type": s.kind, **s.payload, "created_at": s.created_at.isoformat()}
             for s in agent.conversation_steps(session, conversation)]
    return {**_conversation(conversation), "steps": steps}


@router.post("/conversations/{conversation_id}/messages")
def send_message(conversation_id: str, body: MessageIn, request: Request,
                 account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """Run one turn. ``stream: true`` (default) answers with server-sent events, one per step;
    otherwise a JSON object with all the steps."""
    conversation = agent.get_conversation(session, account, parse_id(conversation_id, what="conversation"))
    if not body.text.strip():
        from townsquare.errors import InvalidInput

        raise InvalidInput("say something to the assistant")
    runner = agent.Agent(llm_for(request, "assistant"), shield_for(request), request.app.state.settings,
                         feed=request.app.state.services.feed)
    services = request.app.state.services
    account_id, conv_id = account.id, conversation.id
    if not body.stream:
        steps = [s.as_dict() for s in runner.run_turn(session, account, conversation, body.text)]
        return {"conversation_id": str(conv_id), "steps": [s for s in steps if s["type"] != "text_delta"]}


    def events() -> Iterator[str]:
        # The stream outlives the request's session: it runs in a transaction of its own.
        try:
            with services.session() as stream_session:
                me = stream_session.get(Account, account_id)
                conv = stream_session.get(AssistantConversation, conv_id)
                for step in runner.run_turn(stream_session, me, conv, body.text):
                    yield sse_frame(step.as_dict(), step.kind)
        except TownsquareError as exc:
            yield sse_frame({"type": "error", "code": exc.code, "message": exc.message}, "error")
            yield sse_frame({"type": "done", "reason": "error"}, "done")

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)


@router.post("/actions/{action_id}/confirm")
def confirm_action(action_id: str, request: Request, account: Account = Depends(current_account),
                   session: Session = Depends(get_session)):
    """Run a proposed action, exactly once (409 when it was already confirmed or cancelled)."""
    result = actions.confirm(session, account, parse_id(action_id, what="action"), request.app.state.settings)
    return {"status": "done", "text": result.text, "data": result.data,
            "citations": [str(c) for c in result.citations]}


@router.post("/actions/{action_id}/cancel")
def cancel_action(action_id: str, account: Account = Depends(current_account),
                  session: Session = Depends(get_session)):
    action = actions.cancel(session, account, parse_id(action_id, what="action"))
    return {"status": action.status, "summary": action.summary}


@router.get("/memories")
def list_memories(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return {"items": [_memory(m) for m in memory.list_memories(session, account.id)]}


@router.post("/memories", status_code=201)
def add_memory(body: MemoryIn, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return _memory(memory.add_memory(session, account.id, body.text))


@router.patch("/memories/{memory_id}")
def edit_memory(memory_id: str, body: MemoryIn, account: Account = Depends(current_account),
                session: Session = Depends(get_session)):
    return _memory(memory.edit_memory(session, account.id, parse_id(memory_id, what="memory"), body.text))


@router.delete("/memories/{memory_id}", status_code=204)
def delete_memory(memory_id: str, account: Account = Depends(current_account),
                  session: Session = Depends(get_session)):
    memory.delete_memory(session, account.id, parse_id(memory_id, what="memory"))
