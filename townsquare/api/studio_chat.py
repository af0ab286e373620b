"""Creator AIs on the OpenAI-compatible API: model ``creator/<handle>`` or ``creator/<handle>/<ai>``."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from townsquare.api.models_state import llm_for, shield_for
from townsquare.api.openai_shapes import completion_body, stream_chunks, text_of
from townsquare.api.sse import SSE_HEADERS
from townsquare.errors import InvalidInput, NotFound
from townsquare.social.models import Account
from townsquare.studio import chat, service
from townsquare.studio.models import AIMessage, CreatorAI


def _resolve(session: Session, viewer: Account, model: str) -> CreatorAI:
    parts = model.split("/")
    if len(parts) not in (2, 3) or parts[0] != "creator" or not all(parts[1:]):
        raise NotFound(f"no model {model!r}; creator AIs are creator/<handle> or creator/<handle>/<ai>")
    return service.find_ai(session, viewer, parts[1], parts[2] if len(parts) == 3 else None)


def openai_creator_chat(request: Request, session: Session, account: Account, body):
    ai = _resolve(session, account, body.model)
    if ai.visibility == "private" and ai.owner_id != account.id:
        raise NotFound(f"no model {body.model!r}")
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        raise InvalidInput("the last message must be from the user")
    text = chat.check_message(text_of(turns[-1]))
    llm, shield, settings = llm_for(request, "creator"), shield_for(request), request.app.state.settings

    def extra(message: AIMessage | None) -> dict:
        if message is None:
            return {}
        return {"label": chat.AI_LABEL, "is_ai": True, "status": message.status,
                "citations": [chat.citation(p) for p in (message.citations or [])]}

    if not body.stream:
        final = [m for m in chat.talk(session, ai, account, text, llm=llm, shield=shield, settings=settings)
                 if isinstance(m, AIMessage)][-1]
        return completion_body(body.model, final.content, "stop", None, extra(final))
    services, ai_id, account_id = request.app.state.services, ai.id, account.id
    holder: dict = {}

    def pieces():
        with services.session() as s:
            streamed = ""
            for item in chat.talk(s, s.get(CreatorAI, ai_id), s.get(Account, account_id), text, llm=llm,
                                  shield=shield, settings=settings):
                if isinstance(item, AIMessage):
                    holder["message"] = item
                    if item.content.strip() != streamed.strip():
                        yield item.content if not streamed else "\n\n" + item.content
                else:
                    streamed += item
                    yield item

    include_usage = bool(body.stream_options and body.stream_options.include_usage)
    return StreamingResponse(stream_chunks(body.model, pieces(), lambda: ("stop", None, extra(holder.get("message"))),
                                           include_usage), media_type="text/event-stream", headers=SSE_HEADERS)
