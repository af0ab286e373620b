"""Your data, as a zip: everything you made and everything recorded about what you did.

``build_export`` writes JSON files (one per kind of thing) and your media files. Rows are written
column by column, so a column added later is exported without a change here.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townsquare.social.models import (
    Account,
    Block,
    Comment,
    Conversation,
    Event,
    Follow,
    FollowRequest,
    Hashtag,
    HashtagFollow,
    Media,
    Message,
    Mute,
    Post,
    PostHashtag,
    PostMedia,
    Reaction,
    Repost,
)

# Columns never exported: secrets and what only the server needs.
_PRIVATE_COLUMNS = {"password_hash", "token_hash", "secret_hash"}

README = """Your Townsquare data
====================

profile.json         your account and settings
posts.json           your posts (with their hashtags and media files)
comments.json        your comments
reactions.json       your likes and reactions; reposts.json: your reposts
follows.json         who you follow, who follows you, requests, blocks, mutes, followed hashtags
messages.json        your conversations, with every message
assistant.json       your conversations with the assistant, its pending actions, and its memories
ai_personas.json     the creator AIs you made, and your chats with creator AIs
events.json          your own event log: what the recommender learned from (opens, likes, dwell...)
media/               the photos and videos you uploaded

Dates are UTC (ISO 8601). Ids are the server's ids.
"""


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.isoformat()
    if isinstance(v, bytes):
        return None  # embeddings and other binary columns: not meaningful outside the server
    return v


def _row(obj) -> dict:
    return {c.key: _value(getattr(obj, c.key)) for c in obj.__table__.columns if c.key not in _PRIVATE_COLUMNS}


def _rows(session: Session, model, *where, order=None) -> list[dict]:
    stmt = select(model).where(*where)
    if order is not None:
        stmt = stmt.order_by(order)
    return [_row(r) for r in session.scalars(stmt)]


def _handles(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(session.execute(select(Account.id, Account.handle).where(Account.id.in_(ids))).all())


def build_export(session: Session, account: Account, media_store) -> bytes:
    """The zip of ``account``'s data (bytes)."""
    from townsquare.social.media import as_store, file_name
    from townsquare.social.media_store import media_key

    me = account.id
    files: dict[str, Any] = {}
    files["profile.json"] = _row(account)

    posts = session.scalars(select(Post).where(Post.author_id == me, Post.deleted_at.is_(None))
                            .order_by(Post.created_at)).all()
    post_ids = [p.id for p in posts]
    tags: dict[int, list[str]] = {}
    media_of: dict[int, list[str]] = {}
    if post_ids:
        for post_id, name in session.execute(select(PostHashtag.post_id, Hashtag.name).join(
                Hashtag, Hashtag.id == PostHashtag.hashtag_id).where(PostHashtag.post_id.in_(post_ids))):
            tags.setdefault(post_id, []).append(name)
        for link in session.scalars(select(PostMedia).where(PostMedia.post_id.in_(post_ids))
                                    .order_by(PostMedia.position)):
            media_of.setdefault(link.post_id, []).append("media/" + file_name(link.item))
    files["posts.json"] = [_row(p) | {"hashtags": tags.get(p.id, []), "media": media_of.get(p.id, []),
                                      "url": f"/p/{p.id}"} for p in posts]
    files["comments.json"] = _rows(session, Comment, Comment.author_id == me, Comment.deleted_at.is_(None),
                                   order=Comment.created_at)
    files["reactions.json"] = _rows(session, Reaction, Reaction.account_id == me, order=Reaction.created_at)
    files["reposts.json"] = _rows(session, Repost, Repost.account_id == me, order=Repost.created_at)

    following = session.scalars(select(Follow).where(Follow.follower_id == me)).all()
    followers = session.scalars(select(Follow).where(Follow.followee_id == me)).all()
    people = {f.followee_id for f in following} | {f.follower_id for f in followers}
    blocks = session.scalars(select(Block).where(Block.blocker_id == me)).all()
    mutes = session.scalars(select(Mute).where(Mute.muter_id == me)).all()
    requests = session.scalars(select(FollowRequest).where(
        or_(FollowRequest.requester_id == me, FollowRequest.target_id == me))).all()
    people |= {b.blocked_id for b in blocks} | {m.muted_id for m in mutes}
    people |= {r.requester_id for r in requests} | {r.target_id for r in requests}
    handle = _handles(session, people)
    files["follows.json"] = {
        "following": [{"handle": handle.get(f.followee_id), "since": _value(f.created_at)} for f in following],
        "followers": [{"handle": handle.get(f.follower_id), "since": _value(f.created_at)} for f in followers],
        "follow_requests": [{"from": handle.get(r.requester_id), "to": handle.get(r.target_id),
                             "at": _value(r.created_at)} for r in requests],
        "blocking": [handle.get(b.blocked_id) for b in blocks],
        "muting": [handle.get(m.muted_id) for m in mutes],
        "hashtags": list(session.scalars(select(Hashtag.name).join(HashtagFollow, HashtagFollow.hashtag_id == Hashtag.id)
                                         .where(HashtagFollow.account_id == me))),
    }

    conversations = session.scalars(select(Conversation).where(
        or_(Conversation.low_id == me, Conversation.high_id == me)).order_by(Conversation.last_message_at)).all()
    others = _handles(session, {c.high_id if c.low_id == me else c.low_id for c in conversations})
    files["messages.json"] = [{
        "with": others.get(c.high_id if c.low_id == me else c.low_id),
        "messages": [{"from": "me" if m["sender_id"] == me else others.get(m["sender_id"]), "text": m["text"],
                      "at": m["created_at"], "read_at": m.get("read_at")}
                     for m in _rows(session, Message, Message.conversation_id == c.id, order=Message.created_at)],
    } for c in conversations]

    files["assistant.json"] = _assistant(session, me)
    files["ai_personas.json"] = _personas(session, me)
    files["events.json"] = _rows(session, Event, Event.actor_id == me, order=Event.ts)

    buffer = io.BytesIO()
    store = as_store(media_store)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        for name, data in files.items():
            archive.writestr(name, json.dumps(data, ensure_ascii=False, indent=1))
        for item in session.scalars(select(Media).where(Media.owner_id == me)):
            ext = file_name(item).rsplit(".", 1)[1]
            try:
                archive.writestr("media/" + file_name(item), store.get(media_key(item.sha256, ext)))
            except (FileNotFoundError, KeyError):
                continue  # a file the store lost: the rest of the export is still worth having
    return buffer.getvalue()


def _assistant(session: Session, me: int) -> dict:
    from townsquare.assistant.models import AssistantConversation, AssistantStep, Memory, PendingAction

    conversations = []
    for conv in session.scalars(select(AssistantConversation).where(AssistantConversation.account_id == me)
                                .order_by(AssistantConversation.id)):
        row = _row(conv)
        row["steps"] = _rows(session, AssistantStep, AssistantStep.conversation_id == conv.id,
                             order=AssistantStep.id)
        conversations.append(row)
    return {"conversations": conversations,
            "pending_actions": _rows(session, PendingAction, PendingAction.account_id == me),
            "memories": _rows(session, Memory, Memory.account_id == me)}


def _personas(session: Session, me: int) -> dict:
    from townsquare.studio.models import AIChat, AIMessage, CreatorAI

    mine = _rows(session, CreatorAI, CreatorAI.owner_id == me)
    chats = []
    for chat in session.scalars(select(AIChat).where(AIChat.fan_id == me).order_by(AIChat.id)):
        row = _row(chat)
        row["messages"] = _rows(session, AIMessage, AIMessage.chat_id == chat.id, order=AIMessage.id)
        chats.append(row)
    return {"my_ais": mine, "my_chats_with_creator_ais": chats}
