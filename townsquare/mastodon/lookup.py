"""What a status id names, as the viewer may see it: a post, a comment, a repost or a direct message.

Every lookup goes through the domain's rules (``posts.get_post``, ``blocks``, ``messages.get_conversation``);
what the viewer may not see is 404 (``Record not found``), exactly as an id that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from townsquare.errors import NotFound
from townsquare.mastodon.entities import Render
from townsquare.mastodon.ids import parse_status_id
from townsquare.social import blocks, messages, posts
from townsquare.social.models import Account, Comment, Conversation, Message, Post, Repost
from townsquare.social.relations import is_following


@dataclass
class Found:
    kind: str  # post | comment | repost | message
    post: Post | None = None
    comment: Comment | None = None
    repost: Repost | None = None
    reposter: Account | None = None
    message: Message | None = None
    conversation: Conversation | None = None


def reposter_visible(session: Session, viewer: Account | None, reposter: Account) -> bool:
    """Whether the viewer may learn that ``reposter`` reposted something: their own reposts, and an
    active account's that is public or that the viewer follows (a private account's activity stays
    with its followers), never across a block."""
    if reposter.status != "active":
        return False
    if viewer is not None and viewer.id == reposter.id:
        return True
    if viewer is not None and blocks.blocked_either_way(session, viewer.id, reposter.id):
        return False
    return not reposter.is_private or (viewer is not None and is_following(session, viewer.id, reposter.id))


def find(session: Session, viewer: Account | None, raw_id: str) -> Found:
    kind, n = parse_status_id(raw_id)
    try:
        if kind == "post":
            return Found("post", post=posts.get_post(session, viewer, n))
        if kind == "comment":
            comment = session.get(Comment, n)
            if comment is None or comment.deleted_at is not None or comment.author.status != "active":
                raise NotFound("no such comment")
            post = posts.get_post(session, viewer, comment.post_id)
            blocks.require_content_visible(session, viewer, comment.author, "comment")
            return Found("comment", post=post, comment=comment)
        if kind == "repost":
            repost = session.get(Repost, n)
            if repost is None:
                raise NotFound("no such repost")
            post = posts.get_post(session, viewer, repost.post_id)
            reposter = session.get(Account, repost.account_id)
            if reposter is None or not reposter_visible(session, viewer, reposter):
                raise NotFound("no such repost")
            return Found("repost", post=post, repost=repost, reposter=reposter)
        if viewer is None:
            raise NotFound("no such message")
        message = session.get(Message, n)
        if message is None:
            raise NotFound("no such message")
        conversation = messages.get_conversation(session, viewer, message.conversation_id)
        return Found("message", message=message, conversation=conversation)
    except NotFound:
        raise NotFound("Record not found")


def render_found(shown: Render, found: Found) -> dict:
    if found.kind == "post":
        return shown.post(found.post)
    if found.kind == "comment":
        return shown.comment(found.comment)
    if found.kind == "repost":
        return shown.reblog(found.repost, found.post, found.reposter)
    return shown.messages([(found.message, found.conversation)])[0]
