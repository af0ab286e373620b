"""Pages for the AI features: the assistant panel, the creator AI studio, and chatting with a
creator's AI. The streaming parts run in ``static/ai.js`` against the JSON APIs."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from sqlalchemy import select
from starlette.datastructures import FormData

from townsquare.assistant import agent, memory
from townsquare.errors import InvalidInput, NotFound
from townsquare.social.models import Account
from townsquare.studio import autoreply, service
from townsquare.studio.dashboard import dashboard
from townsquare.studio.models import AIChat, AIMessage
from townsquare.studio.service import AIFields
from townsquare.web.context import Web, web_context
from townsquare.web.dashboard import ai_chart, creator_charts
from townsquare.web.forms import attempt, checked_form, flag, parse_path_id, read_upload, text, upload

router = APIRouter()


# --- assistant -------------------------------------------------------------------------------


@router.get("/assistant")
def assistant_page(ctx: Web = Depends(web_context), c: str | None = None) -> Response:
    me = ctx.require_account()
    conversations = agent.list_conversations(ctx.session, me, limit=30)
    current, steps = None, []
    if c:
        current = agent.get_conversation(ctx.session, me, parse_path_id(c, "conversation"))
        steps = [{"type": s.kind, **s.payload} for s in agent.conversation_steps(ctx.session, current)]
    return ctx.render("assistant.html", nav="assistant", conversations=conversations, current=current,
                      steps=steps, memories=memory.list_memories(ctx.session, me.id), error=None)


@router.post("/assistant/memories")
async def add_memory(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    _, error = attempt(ctx, lambda: memory.add_memory(ctx.session, me.id, text(form, "text")))
    if error is not None:
        return ctx.render("assistant.html", status=error.status, nav="assistant",
                          conversations=agent.list_conversations(ctx.session, me, limit=30), current=None, steps=[],
                          memories=memory.list_memories(ctx.session, me.id), error=error.message)
    return ctx.redirect("/assistant")


@router.post("/assistant/memories/{memory_id}")
async def change_memory(memory_id: str, ctx: Web = Depends(web_context),
                        form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    number = parse_path_id(memory_id, "memory")
    if text(form, "action") == "delete":
        memory.delete_memory(ctx.session, me.id, number)
    else:
        _, error = attempt(ctx, lambda: memory.edit_memory(ctx.session, me.id, number, text(form, "text")))
        if error is not None:
            return ctx.render("assistant.html", status=error.status, nav="assistant",
                              conversations=agent.list_conversations(ctx.session, me, limit=30), current=None,
                              steps=[], memories=memory.list_memories(ctx.session, me.id), error=error.message)
    return ctx.redirect("/assistant")


# --- studio ----------------------------------------------------------------------------------


def _fields_from_form(form: FormData) -> AIFields:
    topics = [t.strip() for t in text(form, "topics_to_avoid").split(",") if t.strip()]
    links = []
    for line in text(form, "links").splitlines():
        if line.strip():
            title, _, url = line.strip().rpartition(" ")
            links.append({"title": title.strip() or url, "url": url})
    examples = []
    for block in text(form, "examples").split("\n\n"):
        lines = [x.strip() for x in block.strip().splitlines() if x.strip()]
        if len(lines) >= 2:
            examples.append({"user": lines[0].removeprefix("Fan:").strip(), "ai": lines[1].removeprefix("AI:").strip()})
    return AIFields(name=text(form, "name"), description=text(form, "description"),
                    instructions=text(form, "instructions"), tone=text(form, "tone"), topics_to_avoid=topics,
                    links=links, greeting=text(form, "greeting"), example_dialogues=examples,
                    visibility=text(form, "visibility", "public"))


@router.get("/studio")
def studio_page(ctx: Web = Depends(web_context)) -> Response:
    me = ctx.require_account()
    return ctx.render("studio.html", nav="studio", ais=service.list_own_ais(ctx.session, me), error=None, form={},
                      discover=service.discover_ais(ctx.session, me, 8), charts=creator_charts(ctx.session, me, gettext=ctx.lang.gettext))


@router.post("/studio")
async def studio_create(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    ai, error = attempt(ctx, lambda: service.create_ai(ctx.session, me, _fields_from_form(form)))
    if error is not None:
        return ctx.render("studio.html", status=error.status, nav="studio", ais=service.list_own_ais(ctx.session, me),
                          error=error.message, form=dict(form))
    return ctx.redirect(f"/studio/{ai.id}")


@router.post("/studio/import")
async def studio_import(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    from townsquare.studio import cards

    me = ctx.require_account()
    file = upload(form, "card")

    def run():
        if file is None:
            raise InvalidInput("choose a card file (JSON or PNG)")
        raw = read_upload(file, cards.MAX_PNG_BYTES)
        return service.import_card(ctx.session, me, raw, is_png=raw.startswith(cards.PNG_SIGNATURE))

    ai, error = attempt(ctx, run)
    if error is not None:
        return ctx.render("studio.html", status=error.status, nav="studio", ais=service.list_own_ais(ctx.session, me),
                          error=error.message, form={})
    return ctx.redirect(f"/studio/{ai.id}")


def _studio_ai_page(ctx: Web, ai, *, error: str | None = None, status: int = 200) -> Response:
    me = ctx.require_account()
    return ctx.render("studio_ai.html", status=status, nav="studio", ai=ai, model=service.model_id(ai, me),
                      stats=dashboard(ctx.session, ai), chart=ai_chart(ctx.session, ai.id, gettext=ctx.lang.gettext),
                      auto=autoreply.get_settings(ctx.session, ai),
                      queue=autoreply.queue(ctx.session, ai, limit=30), error=error)


@router.get("/studio/{ai_id}")
def studio_ai(ai_id: str, ctx: Web = Depends(web_context)) -> Response:
    me = ctx.require_account()
    return _studio_ai_page(ctx, service.get_own_ai(ctx.session, me, parse_path_id(ai_id, "AI")))


@router.post("/studio/{ai_id}")
async def studio_ai_update(ai_id: str, ctx: Web = Depends(web_context),
                           form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    ai = service.get_own_ai(ctx.session, me, parse_path_id(ai_id, "AI"))
    if text(form, "action") == "pause":
        fields = AIFields(paused=not ai.paused)
    elif text(form, "action") == "delete":
        service.delete_ai(ctx.session, me, ai)
        return ctx.redirect("/studio")
    else:
        fields = _fields_from_form(form)
    _, error = attempt(ctx, lambda: service.update_ai(ctx.session, me, ai, fields))
    if error is not None:
        ctx.session.refresh(ai)
        return _studio_ai_page(ctx, ai, error=error.message, status=error.status)
    return ctx.redirect(f"/studio/{ai.id}")


@router.post("/studio/{ai_id}/auto-replies")
async def studio_auto_replies(ai_id: str, ctx: Web = Depends(web_context),
                              form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    ai = service.get_own_ai(ctx.session, me, parse_path_id(ai_id, "AI"))

    def run():
        limit = text(form, "daily_limit", "20")
        if not limit.isdigit():
            raise InvalidInput("the daily limit must be a number")
        autoreply.configure(ctx.session, ai, text(form, "channel"), enabled=flag(form, "enabled"),
                            audience=text(form, "audience", "followers"), daily_limit=int(limit))

    _, error = attempt(ctx, run)
    if error is not None:
        return _studio_ai_page(ctx, ai, error=error.message, status=error.status)
    return ctx.redirect(f"/studio/{ai.id}")


@router.post("/studio/replies/{reply_id}/delete")
async def studio_delete_reply(reply_id: str, ctx: Web = Depends(web_context),
                              form: FormData = Depends(checked_form)) -> Response:
    me = ctx.require_account()
    reply_id_int = parse_path_id(reply_id, "reply")
    from townsquare.studio.models import AutoReply

    reply = ctx.session.get(AutoReply, reply_id_int)
    autoreply.delete_reply(ctx.session, me, reply_id_int)
    return ctx.redirect(f"/studio/{reply.ai_id}" if reply else "/studio")


# --- chatting with a creator's AI ----------------------------------------------------------------


@router.get("/@{handle}/ai")
def creator_ai_default(handle: str, ctx: Web = Depends(web_context)) -> Response:
    ai = service.find_ai(ctx.session, ctx.account, handle)
    owner = ctx.session.get(Account, ai.owner_id)
    return ctx.redirect(f"/@{owner.handle}/ai/{ai.slug}", status=302)


@router.get("/@{handle}/ai/{slug}")
def creator_ai_chat(handle: str, slug: str, ctx: Web = Depends(web_context)) -> Response:
    ai = service.find_ai(ctx.session, ctx.account, handle, slug)
    owner = ctx.session.get(Account, ai.owner_id)
    history = []
    if ctx.account is not None:
        chat_row = ctx.session.scalar(select(AIChat).where(AIChat.ai_id == ai.id, AIChat.fan_id == ctx.account.id))
        if chat_row is not None:
            history = ctx.session.scalars(select(AIMessage).where(AIMessage.chat_id == chat_row.id)
                                          .order_by(AIMessage.id).limit(100)).all()
    if ai.paused and (ctx.account is None or ctx.account.id != owner.id):
        raise NotFound(f"{ai.name} is paused by its creator")
    return ctx.render("ai_chat.html", nav="", ai=ai, owner=owner, history=history)
