"""Creator AI studio API (``/api/studio``): create and edit AIs, cards, chat, auto-replies, dashboard."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Depends, Query, Request, UploadFile
from fastapi.responses import Response, StreamingResponse
from pydantic import Field
from sqlalchemy.orm import Session

from townsquare.api.models_state import llm_for, shield_for
from townsquare.api.schemas import StrictModel, parse_id
from townsquare.api.sse import SSE_HEADERS, sse_frame
from townsquare.errors import InvalidInput, NotFound, TownsquareError
from townsquare.server.deps import current_account, get_session, optional_account
from townsquare.social.media import media_url
from townsquare.social.models import Account, Media
from townsquare.studio import autoreply, cards, chat, service
from townsquare.studio.dashboard import dashboard
from townsquare.studio.models import AIChat, AIMessage, CreatorAI
from townsquare.studio.service import AIFields

router = APIRouter(prefix="/api/studio", tags=["studio"])


class LinkIn(StrictModel):
    title: str = Field("", max_length=200)
    url: str = Field(max_length=2048)


class ExampleIn(StrictModel):
    user: str = Field(max_length=1000)
    ai: str = Field(max_length=1000)


class AIIn(StrictModel):
    name: str | None = Field(None, max_length=200)
    description: str | None = Field(None, max_length=1000)
    instructions: str | None = Field(None, max_length=10000)
    tone: str | None = Field(None, max_length=1000)
    topics_to_avoid: list[str] | None = Field(None, max_length=50)
    links: list[LinkIn] | None = Field(None, max_length=50)
    greeting: str | None = Field(None, max_length=5000)
    example_dialogues: list[ExampleIn] | None = Field(None, max_length=50)
    visibility: str | None = None
    avatar_media_id: str | None = None
    paused: bool | None = None


class ChatIn(StrictModel):
    text: str = Field(max_length=chat.MAX_MESSAGE_CHARS * 2)
    stream: bool = True


class AutoReplyIn(StrictModel):
    enabled: bool
    audience: str = "followers"
    daily_limit: int = Field(20, ge=1, le=autoreply.MAX_DAILY_LIMIT)


class ReplyEditIn(StrictModel):
    text: str = Field(min_length=1, max_length=5000)


def _fields(body: AIIn) -> AIFields:
    data = body.model_dump(exclude_unset=True)
    if "links" in data and data["links"] is not None:
        data["links"] = [dict(link) for link in data["links"]]
    if "example_dialogues" in data and data["example_dialogues"] is not None:
        data["example_dialogues"] = [dict(e) for e in data["example_dialogues"]]
    if data.get("avatar_media_id") is not None:
        data["avatar_media_id"] = parse_id(data["avatar_media_id"], what="media", in_body=True)
    return AIFields(**data)


def render_ai(session: Session, ai: CreatorAI, *, owner_view: bool = False) -> dict:
    owner = session.get(Account, ai.owner_id)
    avatar = session.get(Media, ai.avatar_media_id) if ai.avatar_media_id else None
    out = {"id": str(ai.id), "slug": ai.slug, "name": ai.name, "label": chat.AI_LABEL, "is_ai": True,
           "creator": {"id": str(owner.id), "handle": owner.handle, "display_name": owner.display_name},
           "model": service.model_id(ai, owner), "description": ai.description, "greeting": ai.greeting,
           "links": ai.links, "visibility": ai.visibility, "paused": ai.paused,
           "avatar_url": media_url(avatar) if avatar else None}
    if owner_view:
        out.update({"instructions": ai.instructions, "tone": ai.tone, "topics_to_avoid": ai.topics_to_avoid,
                    "example_dialogues": ai.example_dialogues,
                    "has_lorebook": bool((ai.card or {}).get("character_book")),
                    "auto_replies": {c: {"enabled": s.enabled, "audience": s.audience, "daily_limit": s.daily_limit}
                                     for c, s in autoreply.get_settings(session, ai).items()}})
    return out


def render_message(m: AIMessage) -> dict:
    return {"id": str(m.id), "role": m.role, "text": m.content, "status": m.status, "is_ai": m.role == "assistant",
            "citations": [chat.citation(p) for p in (m.citations or [])],
            "created_at": m.created_at.isoformat()}


# --- the creator's own AIs -------------------------------------------------------------------------


@router.get("/ais")
def my_ais(account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return {"items": [render_ai(session, ai, owner_view=True) for ai in service.list_own_ais(session, account)]}


@router.post("/ais", status_code=201)
def create_ai(body: AIIn, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return render_ai(session, service.create_ai(session, account, _fields(body)), owner_view=True)


@router.patch("/ais/{ai_id}")
def update_ai(ai_id: str, body: AIIn, account: Account = Depends(current_account),
              session: Session = Depends(get_session)):
    ai = service.get_own_ai(session, account, parse_id(ai_id, what="AI"))
    return render_ai(session, service.update_ai(session, account, ai, _fields(body)), owner_view=True)


@router.delete("/ais/{ai_id}", status_code=204)
def delete_ai(ai_id: str, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    service.delete_ai(session, account, service.get_own_ai(session, account, parse_id(ai_id, what="AI")))


@router.post("/ais/import", status_code=201)
async def import_card(file: UploadFile, account: Account = Depends(current_account),
                      session: Session = Depends(get_session)):
    """Create an AI from a Character Card V2: a JSON file, or a PNG with the card in its ``chara`` chunk."""
    raw = await file.read(cards.MAX_PNG_BYTES + 1)
    is_png = raw.startswith(cards.PNG_SIGNATURE)
    if not is_png and len(raw) > cards.MAX_CARD_BYTES:
        raise InvalidInput(f"the card is too large; at most {cards.MAX_CARD_BYTES} bytes")
    ai = service.import_card(session, account, raw, is_png=is_png)
    return render_ai(session, ai, owner_view=True)


@router.get("/ais/{ai_id}/card")
def export_card(ai_id: str, request: Request, format: str = Query("json", pattern="^(json|png)$"),
                account: Account = Depends(current_account), session: Session = Depends(get_session)):
    """The AI as a Character Card V2, JSON or embedded in a PNG (the AI's avatar when it is a PNG)."""
    ai = service.get_own_ai(session, account, parse_id(ai_id, what="AI"))
    card = service.export_card(ai, account)
    if format == "json":
        return card
    png = _avatar_png(session, ai, request.app.state.settings.media_store)
    return Response(cards.card_to_png(card, png), media_type="image/png",
                    headers={"Content-Disposition": f'attachment; filename="{ai.slug}.png"'})


def _avatar_png(session: Session, ai: CreatorAI, media_dir) -> bytes:
    import io

    from PIL import Image

    from townsquare.social import media as media_service

    media = session.get(Media, ai.avatar_media_id) if ai.avatar_media_id else None
    if media is not None and media.kind == "image":
        try:
            data = media_service.read_file(media_dir, media_service.file_name(media))
        except NotFound:
            data = None
        if data is not None:
            image = Image.open(io.BytesIO(data)).convert("RGB")
            out = io.BytesIO()
            image.save(out, format="PNG")
            return out.getvalue()
    out = io.BytesIO()
    Image.new("RGB", (256, 256), (79, 70, 229)).save(out, format="PNG")
    return out.getvalue()


@router.put("/ais/{ai_id}/auto-replies/{channel}")
def set_auto_replies(ai_id: str, channel: str, body: AutoReplyIn, account: Account = Depends(current_account),
                     session: Session = Depends(get_session)):
    ai = service.get_own_ai(session, account, parse_id(ai_id, what="AI"))
    row = autoreply.configure(session, ai, channel, enabled=body.enabled, audience=body.audience,
                              daily_limit=body.daily_limit)
    return {"channel": row.channel, "enabled": row.enabled, "audience": row.audience, "daily_limit": row.daily_limit}


@router.get("/ais/{ai_id}/auto-replies")
def auto_reply_queue(ai_id: str, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    ai = service.get_own_ai(session, account, parse_id(ai_id, what="AI"))
    return {"items": [{"id": str(r.id), "channel": r.channel, "source_id": str(r.source_id),
                       "reply_id": str(r.reply_id) if r.reply_id else None, "text": r.text, "status": r.status,
                       "created_at": r.created_at.isoformat()} for r in autoreply.queue(session, ai)]}


@router.patch("/auto-replies/{reply_id}")
def edit_auto_reply(reply_id: str, body: ReplyEditIn, account: Account = Depends(current_account),
                    session: Session = Depends(get_session)):
    reply = autoreply.edit_reply(session, account, parse_id(reply_id, what="auto-reply"), body.text)
    return {"id": str(reply.id), "text": reply.text, "status": reply.status}


@router.delete("/auto-replies/{reply_id}", status_code=204)
def delete_auto_reply(reply_id: str, account: Account = Depends(current_account),
                      session: Session = Depends(get_session)):
    autoreply.delete_reply(session, account, parse_id(reply_id, what="auto-reply"))


@router.get("/ais/{ai_id}/dashboard")
def ai_dashboard(ai_id: str, account: Account = Depends(current_account), session: Session = Depends(get_session)):
    return dashboard(session, service.get_own_ai(session, account, parse_id(ai_id, what="AI")))


# --- fans ----------------------------------------------------------------------------------------


@router.get("/discover")
def discover(limit: int = Query(10, ge=1, le=50), viewer: Account | None = Depends(optional_account),
             session: Session = Depends(get_session)):
    """Creator AIs to chat with, suggested like accounts (people you follow first, then popular ones)."""
    return {"items": [{**render_ai(session, ai), "why": why}
                      for ai, _, why in service.discover_ais(session, viewer, limit)]}


@router.get("/creators/{handle}/ais")
def creator_ais(handle: str, viewer: Account | None = Depends(optional_account),
                session: Session = Depends(get_session)):
    """A creator's public AIs (what their profile shows)."""
    from townsquare.social.accounts import get_account_by_handle
    from townsquare.social.blocks import require_visible

    owner = require_visible(session, viewer, get_account_by_handle(session, handle))
    return {"items": [render_ai(session, ai) for ai in service.list_public_ais(session, owner.id, viewer)]}


@router.get("/creators/{handle}/ais/{slug}")
def get_creator_ai(handle: str, slug: str, viewer: Account | None = Depends(optional_account),
                   session: Session = Depends(get_session)):
    return render_ai(session, service.find_ai(session, viewer, handle, slug))


@router.get("/creators/{handle}/ais/{slug}/chat")
def my_chat_history(handle: str, slug: str, account: Account = Depends(current_account),
                    session: Session = Depends(get_session)):
    ai = service.find_ai(session, account, handle, slug)
    from sqlalchemy import select

    chat_row = session.scalar(select(AIChat).where(AIChat.ai_id == ai.id, AIChat.fan_id == account.id))
    messages = [] if chat_row is None else session.scalars(
        select(AIMessage).where(AIMessage.chat_id == chat_row.id).order_by(AIMessage.id)).all()
    return {"ai": render_ai(session, ai), "greeting": ai.greeting, "items": [render_message(m) for m in messages]}


@router.post("/creators/{handle}/ais/{slug}/chat")
def chat_with_ai(handle: str, slug: str, body: ChatIn, request: Request, account: Account = Depends(current_account),
                 session: Session = Depends(get_session)):
    """Talk to a creator's AI: server-sent events (``delta``, then ``message``), or JSON with ``stream: false``."""
    ai = service.find_ai(session, account, handle, slug)
    chat.check_message(body.text)
    llm, shield, settings = llm_for(request, "creator"), shield_for(request), request.app.state.settings
    if not body.stream:
        final = [m for m in chat.talk(session, ai, account, body.text, llm=llm, shield=shield, settings=settings)
                 if isinstance(m, AIMessage)][-1]
        return {"ai": render_ai(session, ai), "message": render_message(final)}
    services, ai_id, account_id = request.app.state.services, ai.id, account.id

    def events() -> Iterator[str]:
        try:
            with services.session() as s:
                for item in chat.talk(s, s.get(CreatorAI, ai_id), s.get(Account, account_id), body.text,
                                      llm=llm, shield=shield, settings=settings):
                    if isinstance(item, AIMessage):
                        yield sse_frame({"type": "message", **render_message(item)}, "message")
                    else:
                        yield sse_frame({"type": "delta", "text": item}, "delta")
        except TownsquareError as exc:
            yield sse_frame({"type": "error", "code": exc.code, "message": exc.message}, "error")
        yield sse_frame({"type": "done"}, "done")

    return StreamingResponse(events(), media_type="text/event-stream", headers=SSE_HEADERS)
