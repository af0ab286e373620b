"""Native API: direct messages (one-to-one conversations)."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import parse_id, render_account
from townsquare.api.shapes import (
    ConversationOut,
    ConversationSummaryOut,
    MarkedOut,
    MessageOut,
    SentOut,
    UnreadOut,
    render_page,
)
from townsquare.errors import NotFound
from townsquare.server.deps import current_account, get_session
from townsquare.social import messages
from townsquare.social.models import Account, Conversation, Message

router = APIRouter(prefix="/api", tags=["messages"])


class NewConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    recipient_id: str = Field(max_length=20)
    text: str = Field(max_length=20_000)  # the service enforces the real limit with a clear message


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=20_000)


def _message(message: Message) -> dict:
    return {
        "id": str(message.id),
        "conversation_id": str(message.conversation_id),
        "sender_id": str(message.sender_id),
        "text": message.text,
        "is_ai": message.is_ai,
        "created_at": message.created_at,
        "read_at": message.read_at,
    }


def _conversation(session: Session, me: Account, conversation: Conversation) -> dict:
    other = session.get(Account, messages.other_id(conversation, me.id))
    return {
        "id": str(conversation.id),
        "other": render_account(other),
        "last_message_at": conversation.last_message_at,
    }


def _summary(summary: messages.ConversationSummary) -> dict:
    return {
        "id": str(summary.conversation.id),
        "other": render_account(summary.other),
        "last_message": _message(summary.last_message) if summary.last_message is not None else None,
        "last_message_at": summary.conversation.last_message_at,
        "unread_count": summary.unread_count,
    }


@router.get("/conversations", response_model=Page[ConversationSummaryOut])
def list_conversations(page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
                       session: Session = Depends(get_session)) -> dict:
    """My conversations, most recent activity first, with the other person, last message, unread count."""
    return render_page(messages.list_conversations(session, me, cursor=page.cursor, limit=page.limit), _summary)


@router.post("/conversations", response_model=SentOut, status_code=201)
def start_conversation(body: NewConversationIn, me: Account = Depends(current_account),
                       session: Session = Depends(get_session)) -> dict:
    """Send a first (or next) message to someone; the conversation is created when needed."""
    message = messages.send_message(session, me, parse_id(body.recipient_id, what="account", in_body=True), body.text)
    conversation = session.get(Conversation, message.conversation_id)
    return {"conversation": _conversation(session, me, conversation), "message": _message(message)}


@router.get("/conversations/unread_count", response_model=UnreadOut)
def unread_count(me: Account = Depends(current_account), session: Session = Depends(get_session)) -> dict:
    return {"unread_count": messages.unread_message_count(session, me)}


@router.get("/conversations/with/{account_id}", response_model=ConversationOut)
def conversation_with(account_id: str, me: Account = Depends(current_account),
                      session: Session = Depends(get_session)) -> dict:
    """My conversation with this account, if there is one (404 otherwise)."""
    conversation = messages.find_conversation(session, me.id, parse_id(account_id, what="account"))
    if conversation is None:
        raise NotFound("no conversation with this account yet")
    return _conversation(session, me, conversation)


@router.get("/conversations/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: str, me: Account = Depends(current_account),
                     session: Session = Depends(get_session)) -> dict:
    conversation = messages.get_conversation(session, me, parse_id(conversation_id, what="conversation"))
    return _conversation(session, me, conversation)


@router.get("/conversations/{conversation_id}/messages", response_model=Page[MessageOut])
def list_messages(conversation_id: str, page: PageQuery = Depends(page_query), me: Account = Depends(current_account),
                  session: Session = Depends(get_session)) -> dict:
    """Messages newest first; follow next_cursor to go back in time. Participants only."""
    result = messages.list_messages(session, me, parse_id(conversation_id, what="conversation"),
                                    cursor=page.cursor, limit=page.limit)
    return render_page(result, _message)


@router.post("/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201)
def send(conversation_id: str, body: MessageIn, me: Account = Depends(current_account),
         session: Session = Depends(get_session)) -> dict:
    return _message(messages.reply(session, me, parse_id(conversation_id, what="conversation"), body.text))


@router.post("/conversations/{conversation_id}/read", response_model=MarkedOut)
def mark_read(conversation_id: str, me: Account = Depends(current_account),
              session: Session = Depends(get_session)) -> dict:
    """Mark the other person's messages read."""
    return {"marked": messages.mark_read(session, me, parse_id(conversation_id, what="conversation"))}
