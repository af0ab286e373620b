"""Auto-replies: a creator's AI answers comments on their posts and direct messages to them.

Opt-in per channel (``comments``, ``messages``) with an audience (everyone, followers, mutuals)
and a daily limit. Rules that always hold: an AI never replies to an AI (``is_ai`` comments and
messages) or to its own creator, never twice to the same comment or message (a unique row per
source, claimed before the reply is written), never for a paused AI or a suspended creator, and
every reply is labelled as AI. Replies land in a queue where the creator reviews, edits or
deletes them.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.db.engine import end_transaction
from townsquare.errors import InvalidInput, NotFound
from townsquare.social import comments as comments_service
from townsquare.social import messages as messages_service
from townsquare.social.models import Account, Comment, Conversation, Message, Post
from townsquare.social.relations import is_blocked_either_way, is_following
from townsquare.studio import chat
from townsquare.studio.models import (
    AUTO_REPLY_AUDIENCES,
    AUTO_REPLY_CHANNELS,
    AutoReply,
    AutoReplySetting,
    CreatorAI,
)

log = logging.getLogger(__name__)

LABEL = "🤖 AI reply"
MAX_DAILY_LIMIT = 500
LOOKBACK = timedelta(days=2)


def label(ai: CreatorAI, text: str) -> str:
    return f"{LABEL} ({ai.name}): {text}"


def get_settings(session: Session, ai: CreatorAI) -> dict[str, AutoReplySetting]:
    rows = {r.channel: r for r in session.scalars(select(AutoReplySetting).where(AutoReplySetting.ai_id == ai.id))}
    return {c: rows.get(c) or AutoReplySetting(ai_id=ai.id, channel=c, enabled=False, audience="followers",
                                               daily_limit=20) for c in AUTO_REPLY_CHANNELS}


def configure(session: Session, ai: CreatorAI, channel: str, *, enabled: bool, audience: str = "followers",
              daily_limit: int = 20) -> AutoReplySetting:
    if channel not in AUTO_REPLY_CHANNELS:
        raise InvalidInput(f"channel must be one of {', '.join(AUTO_REPLY_CHANNELS)}")
    if audience not in AUTO_REPLY_AUDIENCES:
        raise InvalidInput(f"audience must be one of {', '.join(AUTO_REPLY_AUDIENCES)}")
    if not 1 <= int(daily_limit) <= MAX_DAILY_LIMIT:
        raise InvalidInput(f"daily_limit must be between 1 and {MAX_DAILY_LIMIT}")
    row = session.get(AutoReplySetting, (ai.id, channel)) or AutoReplySetting(ai_id=ai.id, channel=channel)
    row.enabled, row.audience, row.daily_limit = bool(enabled), audience, int(daily_limit)
    session.add(row)
    session.flush()
    return row


def in_audience(session: Session, owner_id: int, person_id: int, audience: str) -> bool:
    if is_blocked_either_way(session, owner_id, person_id):
        return False
    if audience == "everyone":
        return True
    follows_owner = is_following(session, person_id, owner_id)
    if audience == "followers":
        return follows_owner
    return follows_owner and is_following(session, owner_id, person_id)


def replies_today(session: Session, ai: CreatorAI, channel: str, *, besides: int | None = None) -> int:
    """Replies written today (UTC) on ``channel``, not counting the claim ``besides``."""
    now = utcnow()
    start = datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)
    query = select(func.count()).select_from(AutoReply).where(
        AutoReply.ai_id == ai.id, AutoReply.channel == channel, AutoReply.created_at >= start,
        AutoReply.status != "skipped")
    if besides is not None:
        query = query.where(AutoReply.id != besides)
    return session.scalar(query) or 0


def _active_ai(session: Session, owner_id: int, channel: str) -> tuple[CreatorAI, AutoReplySetting] | None:
    """The creator's AI that answers on ``channel``: enabled, not paused, not deleted (the first one)."""
    row = session.execute(
        select(CreatorAI, AutoReplySetting).join(AutoReplySetting, AutoReplySetting.ai_id == CreatorAI.id)
        .join(Account, Account.id == CreatorAI.owner_id)
        .where(CreatorAI.owner_id == owner_id, CreatorAI.deleted_at.is_(None), CreatorAI.paused.is_(False),
               AutoReplySetting.channel == channel, AutoReplySetting.enabled.is_(True), Account.status == "active")
        .order_by(CreatorAI.id).limit(1)).first()
    return (row[0], row[1]) if row else None


def _claim(session: Session, ai: CreatorAI, channel: str, source_id: int) -> AutoReply | None:
    """Reserve the right to answer ``source_id``; None when someone already did (never twice)."""
    reply = AutoReply(ai_id=ai.id, channel=channel, source_id=source_id, text="")
    try:
        with session.begin_nested():
            session.add(reply)
            session.flush()
    except IntegrityError:
        return None
    return reply


def _write(ai: CreatorAI, owner: Account, question: str, *, llm, shield, settings, session,
           asker: Account | None) -> str | None:
    reply = None
    for item in chat.generate(ai, owner, [], question, llm=llm, shield=shield, settings=settings, session=session,
                              viewer=asker):
        if isinstance(item, chat.Reply):
            reply = item
    if reply is None or reply.status == "flagged":
        return None
    return label(ai, reply.text)


def reply_to_comment(session: Session, comment: Comment, *, llm, shield, settings=None) -> AutoReply | None:
    if comment.is_ai or comment.deleted_at is not None:
        return None
    post = session.get(Post, comment.post_id)
    if post is None or post.deleted_at is not None or post.author_id == comment.author_id:
        return None
    found = _active_ai(session, post.author_id, "comments")
    if found is None:
        return None
    ai, setting = found
    claim = _claim(session, ai, "comments", comment.id)
    if claim is None:
        return None
    # Outside the audience or over today's limit: decided once, never answered later.
    if (not in_audience(session, post.author_id, comment.author_id, setting.audience)
            or replies_today(session, ai, "comments", besides=claim.id) >= setting.daily_limit):
        claim.status = "skipped"
        return None
    owner = session.get(Account, post.author_id)
    asker = session.get(Account, comment.author_id)
    end_transaction(session)  # the claim is stored; no transaction stays open while the model writes
    text = _write(ai, owner, comment.text, llm=llm, shield=shield, settings=settings, session=session, asker=asker)
    if text is None:
        claim.status = "skipped"
        return None
    written = comments_service.add_comment(session, owner, post.id, text, parent_id=comment.id, is_ai=True)
    claim.reply_id, claim.text = written.id, text
    return claim


def reply_to_message(session: Session, message: Message, *, llm, shield, settings=None) -> AutoReply | None:
    if message.is_ai:
        return None
    conversation = session.get(Conversation, message.conversation_id)
    creator_id = conversation.high_id if message.sender_id == conversation.low_id else conversation.low_id
    found = _active_ai(session, creator_id, "messages")
    if found is None:
        return None
    ai, setting = found
    claim = _claim(session, ai, "messages", message.id)
    if claim is None:
        return None
    if (not in_audience(session, creator_id, message.sender_id, setting.audience)
            or replies_today(session, ai, "messages", besides=claim.id) >= setting.daily_limit):
        claim.status = "skipped"
        return None
    owner = session.get(Account, creator_id)
    asker = session.get(Account, message.sender_id)
    end_transaction(session)  # the claim is stored; no transaction stays open while the model writes
    text = _write(ai, owner, message.text, llm=llm, shield=shield, settings=settings, session=session, asker=asker)
    if text is None:
        claim.status = "skipped"
        return None
    written = messages_service.send_message(session, owner, message.sender_id, text, is_ai=True)
    claim.reply_id, claim.text = written.id, text
    return claim


def process_pending(session: Session, *, llm, shield, settings=None, limit: int = 20) -> int:
    """Answer recent comments and messages that an enabled AI has not answered yet. Returns how many."""
    since = utcnow() - LOOKBACK
    enabled_owners = select(CreatorAI.owner_id).join(AutoReplySetting, AutoReplySetting.ai_id == CreatorAI.id).where(
        AutoReplySetting.enabled.is_(True), CreatorAI.paused.is_(False), CreatorAI.deleted_at.is_(None))
    answered = select(AutoReply.source_id)
    done = 0
    comments = session.scalars(
        select(Comment).join(Post, Post.id == Comment.post_id)
        .where(Post.author_id.in_(enabled_owners), Comment.created_at >= since, Comment.is_ai.is_(False),
               Comment.author_id != Post.author_id,
               Comment.id.not_in(answered.where(AutoReply.channel == "comments")))
        .order_by(Comment.id).limit(limit)).all()
    for comment in comments:
        done += reply_to_comment(session, comment, llm=llm, shield=shield, settings=settings) is not None
    messages = session.scalars(
        select(Message).join(Conversation, Conversation.id == Message.conversation_id)
        .where(Message.created_at >= since, Message.is_ai.is_(False),
               Message.id.not_in(answered.where(AutoReply.channel == "messages")),
               and_(Message.sender_id != Conversation.low_id, Conversation.low_id.in_(enabled_owners))
               | and_(Message.sender_id != Conversation.high_id, Conversation.high_id.in_(enabled_owners)))
        .order_by(Message.id).limit(limit)).all()
    for message in messages:
        done += reply_to_message(session, message, llm=llm, shield=shield, settings=settings) is not None
    return done


# --- the creator's review queue ------------------------------------------------------------------


def queue(session: Session, ai: CreatorAI, limit: int = 100) -> list[AutoReply]:
    return list(session.scalars(select(AutoReply).where(AutoReply.ai_id == ai.id, AutoReply.status != "skipped")
                                .order_by(AutoReply.id.desc()).limit(limit)))


def _own_reply(session: Session, owner: Account, reply_id: int) -> AutoReply:
    reply = session.get(AutoReply, reply_id)
    ai = session.get(CreatorAI, reply.ai_id) if reply else None
    if reply is None or ai is None or ai.owner_id != owner.id or reply.status in ("deleted", "skipped"):
        raise NotFound("no such auto-reply")
    return reply


def edit_reply(session: Session, owner: Account, reply_id: int, text: str) -> AutoReply:
    reply = _own_reply(session, owner, reply_id)
    ai = session.get(CreatorAI, reply.ai_id)
    labelled = label(ai, text.strip()) if not text.strip().startswith(LABEL) else text.strip()
    if reply.channel == "comments":
        comments_service.edit_comment(session, owner, reply.reply_id, labelled)
    else:
        message = session.get(Message, reply.reply_id)
        if message is None:
            raise NotFound("the reply message is gone")
        message.text = messages_service.clean_text(labelled)
    reply.text, reply.status = labelled, "edited"
    return reply


def delete_reply(session: Session, owner: Account, reply_id: int) -> None:
    reply = _own_reply(session, owner, reply_id)
    if reply.channel == "comments":
        comments_service.delete_comment(session, owner, reply.reply_id)
    else:
        message = session.get(Message, reply.reply_id)
        if message is not None:
            session.delete(message)
    reply.status = "deleted"
