"""Direct conversations (``/api/v1/conversations``): Townsquare's one-to-one conversations, each with
the other person and its last message as a ``direct`` status. Paged by the native cursor."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput
from townsquare.mastodon.auth import need
from townsquare.mastodon.common import cursor_list, render
from townsquare.mastodon.entities import Render
from townsquare.mastodon.ids import parse_plain_id
from townsquare.mastodon.paging import Window, window
from townsquare.server.deps import get_session
from townsquare.social import messages
from townsquare.social.messages import ConversationSummary
from townsquare.social.models import Account

router = APIRouter(include_in_schema=False)


def render_conversation(shown: Render, summary: ConversationSummary) -> dict:
    last = None
    if summary.last_message is not None:
        last = shown.messages([(summary.last_message, summary.conversation)])[0]
    return {"id": str(summary.conversation.id), "unread": summary.unread_count > 0,
            "accounts": [shown.account(summary.other)], "last_status": last}


@router.get("/api/v1/conversations")
def list_conversations(request: Request, response: Response, w: Window = Depends(window),
                       viewer: Account = Depends(need("read:statuses")), session: Session = Depends(get_session)):
    shown = render(request, session, viewer)
    return cursor_list(request, response, w,
                       lambda cursor, limit: messages.list_conversations(session, viewer, cursor=cursor, limit=limit),
                       lambda summary: render_conversation(shown, summary))


def summary_of(session: Session, viewer: Account, conversation_id: int) -> ConversationSummary:
    """A conversation just read (so nothing in it is unread)."""
    conversation = messages.get_conversation(session, viewer, conversation_id)
    last = messages.list_messages(session, viewer, conversation.id, limit=1).items
    other = session.get(Account, messages.other_id(conversation, viewer.id))
    return ConversationSummary(conversation, other, last[0] if last else None, 0)


@router.post("/api/v1/conversations/{conversation_id}/read")
def read_conversation(conversation_id: str, request: Request, viewer: Account = Depends(need("write:conversations")),
                      session: Session = Depends(get_session)):
    cid = parse_plain_id(conversation_id)
    messages.mark_read(session, viewer, cid)
    return render_conversation(render(request, session, viewer), summary_of(session, viewer, cid))


@router.delete("/api/v1/conversations/{conversation_id}")
def remove_conversation(conversation_id: str, viewer: Account = Depends(need("write:conversations")),
                        session: Session = Depends(get_session)):
    messages.get_conversation(session, viewer, parse_plain_id(conversation_id))
    raise InvalidInput("conversations cannot be removed on Townsquare")
