"""Direct messages: one-to-one conversations (one row per pair, ``low_id < high_id``) and their messages.

Rules:
- Text is 1..5000 characters after trimming; you cannot message yourself.
- Nobody can message across a block (``blocks.py``: 404 to the blocked side, 403 to the blocker), or
  message a suspended/deleted account. A conversation with someone who blocks you is gone for you.
- A private account only receives messages from accounts it follows, or in a conversation where it
  has already written (so it can always get answers to what it started).
- Only the two participants can read a conversation; to anyone else it does not exist (404).

Each message sent notifies the recipient (``message``) and logs a ``message`` event whose entity is
the other account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, case, exists, func, or_, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Forbidden, InvalidInput, NotFound
from townsquare.social.blocks import blocked_by_clause, blocks, require_no_block
from townsquare.social.events import log_event
from townsquare.social.graph import insert_or_conflict
from townsquare.social.models import Account, Conversation, Message
from townsquare.social.notifications import mark_read_from, notify
from townsquare.social.paging import DEFAULT_LIMIT, Page, keyset_page
from townsquare.social.relations import is_following

MAX_MESSAGE_CHARS = 5000


@dataclass
class ConversationSummary:
    conversation: Conversation
    other: Account
    last_message: Message | None
    unread_count: int


def _pair(a_id: int, b_id: int) -> tuple[int, int]:
    return (a_id, b_id) if a_id < b_id else (b_id, a_id)


def other_id(conversation: Conversation, me_id: int) -> int:
    return conversation.high_id if conversation.low_id == me_id else conversation.low_id


def find_conversation(session: Session, a_id: int, b_id: int) -> Conversation | None:
    low, high = _pair(a_id, b_id)
    return session.scalar(select(Conversation).where(Conversation.low_id == low, Conversation.high_id == high))


def get_conversation(session: Session, actor: Account, conversation_id: int) -> Conversation:
    """The conversation, if ``actor`` takes part in it; otherwise NotFound (its existence stays private)."""
    conversation = session.get(Conversation, conversation_id)
    if conversation is None or actor.id not in (conversation.low_id, conversation.high_id) \
            or blocks(session, other_id(conversation, actor.id), actor.id):  # the block rule
        raise NotFound("no such conversation")
    return conversation


def clean_text(text: str) -> str:
    """The message text, trimmed; InvalidInput unless it is 1..MAX_MESSAGE_CHARS characters."""
    if not isinstance(text, str):
        raise InvalidInput("text must be a string")
    text = text.strip()
    if not text:
        raise InvalidInput("a message needs some text")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidInput(f"a message is at most {MAX_MESSAGE_CHARS} characters")
    return text




def _check_can_message(session: Session, sender: Account, recipient: Account,
                       conversation: Conversation | None) -> None:
    if recipient.status != "active":
        raise Forbidden("this account cannot receive messages")
    require_no_block(session, sender, recipient, "message them")
    if recipient.is_private and not is_following(session, recipient.id, sender.id):
        wrote_before = conversation is not None and session.scalar(select(exists().where(
            Message.conversation_id == conversation.id, Message.sender_id == recipient.id)))
        if not wrote_before:
            raise Forbidden("this account is private: it only receives messages from people it follows")


def send_message(session: Session, sender: Account, recipient_id: int, text: str, *,
                 is_ai: bool = False) -> Message:
    """Send ``text`` to ``recipient_id``, creating their conversation on the first message."""
    text = clean_text(text)
    if recipient_id == sender.id:
        raise InvalidInput("you cannot message yourself")
    recipient = session.get(Account, recipient_id)
    if recipient is None or recipient.status == "deleted":
        raise NotFound("no such account")
    conversation = find_conversation(session, sender.id, recipient.id)
    _check_can_message(session, sender, recipient, conversation)
    now = utcnow()
    if conversation is None:
        low, high = _pair(sender.id, recipient.id)
        conversation = Conversation(low_id=low, high_id=high, created_at=now, last_message_at=now)
        insert_or_conflict(session, conversation, "this conversation was just started; send again")
    conversation.last_message_at = now
    message = Message(conversation_id=conversation.id, sender_id=sender.id, text=text, is_ai=is_ai,
                      created_at=now)
    session.add(message)
    session.flush()
    notify(session, recipient.id, "message", actor_id=sender.id)
    # An AI-written reply is marked, so training can tell it from what the person did.
    log_event(session, sender.id, "message", "account", recipient.id, context={"is_ai": True} if is_ai else None)
    return message


def reply(session: Session, sender: Account, conversation_id: int, text: str, *, is_ai: bool = False) -> Message:
    """Send a message in an existing conversation."""
    conversation = get_conversation(session, sender, conversation_id)
    return send_message(session, sender, other_id(conversation, sender.id), text, is_ai=is_ai)


def _unread_clause(actor_id: int):
    return and_(Message.sender_id != actor_id, Message.read_at.is_(None))


def list_conversations(session: Session, actor: Account, *, cursor: str | None = None,
                       limit: int = DEFAULT_LIMIT) -> Page[ConversationSummary]:
    """My conversations, most recent activity first, each with the other person, the last message and
    how many messages from them I have not read."""
    other = case((Conversation.low_id == actor.id, Conversation.high_id), else_=Conversation.low_id)
    stmt = select(Conversation).where(or_(Conversation.low_id == actor.id, Conversation.high_id == actor.id),
                                      ~blocked_by_clause(actor.id, other))  # the block rule
    page = keyset_page(session, stmt, keys=[Conversation.last_message_at, Conversation.id],
                       key_of=lambda c: (c.last_message_at, c.id), cursor=cursor, limit=limit)
    summaries = []
    for conversation in page.items:
        last = session.scalar(
            select(Message).where(Message.conversation_id == conversation.id)
            .order_by(Message.created_at.desc(), Message.id.desc()).limit(1)
        )
        unread = session.scalar(
            select(func.count()).select_from(Message)
            .where(Message.conversation_id == conversation.id, _unread_clause(actor.id))
        )
        other = session.get(Account, other_id(conversation, actor.id))
        summaries.append(ConversationSummary(conversation, other, last, int(unread or 0)))
    return Page(summaries, page.next_cursor)


def list_messages(session: Session, actor: Account, conversation_id: int, *, cursor: str | None = None,
                  limit: int = DEFAULT_LIMIT) -> Page[Message]:
    """Messages of a conversation, newest first (the next page goes further back in time)."""
    conversation = get_conversation(session, actor, conversation_id)
    stmt = select(Message).where(Message.conversation_id == conversation.id)
    return keyset_page(session, stmt, keys=[Message.created_at, Message.id], key_of=lambda m: (m.created_at, m.id),
                       cursor=cursor, limit=limit)


def mark_read(session: Session, actor: Account, conversation_id: int, *, at: datetime | None = None) -> int:
    """Mark the other person's messages in this conversation read; returns how many changed."""
    conversation = get_conversation(session, actor, conversation_id)
    result = session.execute(
        update(Message)
        .where(Message.conversation_id == conversation.id, _unread_clause(actor.id))
        .values(read_at=at or utcnow())
        .execution_options(synchronize_session=False)
    )
    # Reading the conversation also settles its "message" notifications.
    mark_read_from(session, actor, other_id(conversation, actor.id), "message")
    session.expire_all()
    return int(result.rowcount or 0)


def unread_message_count(session: Session, actor: Account) -> int:
    """Messages waiting for ``actor`` across all conversations."""
    return int(session.scalar(
        select(func.count()).select_from(Message).join(Conversation, Conversation.id == Message.conversation_id)
        .where(or_(Conversation.low_id == actor.id, Conversation.high_id == actor.id), _unread_clause(actor.id),
               ~blocked_by_clause(actor.id, Message.sender_id))
    ) or 0)
