"""Mastodon's JSON entities (Account, Status, MediaAttachment, Notification, Relationship, Tag,
Conversation...) rendered from Townsquare's rows, in batches (a page of statuses costs a few queries).

``Render`` carries what every entity needs: the session, the viewer (for ``favourited``,
``reblogged``...), the site's base URL and the media folder. Mapping decisions: docs/mastodon.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.mastodon import html, previews
from townsquare.mastodon.ids import status_id
from townsquare.social import media as media_service
from townsquare.social.graph import Relationship
from townsquare.social.models import (
    Account,
    Comment,
    Conversation,
    Media,
    Message,
    Notification,
    Post,
    Repost,
)
from townsquare.social.posts import parse_mentions, post_hashtags, viewer_states

MISSING_AVATAR = "/avatars/original/missing.png"
MISSING_HEADER = "/headers/original/missing.png"
VISIBILITY = {"public": "public", "followers": "private"}


def iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@dataclass
class Render:
    session: Session
    viewer: Account | None
    base: str
    media_dir: Path

    @classmethod
    def of(cls, request: Request, session: Session, viewer: Account | None) -> Render:
        return cls(session, viewer, str(request.base_url).rstrip("/"), request.app.state.settings.media_dir)

    # --- accounts ------------------------------------------------------------------------------
    def account(self, a: Account) -> dict:
        avatar = self.base + (media_service.media_url(a.avatar) if a.avatar is not None else MISSING_AVATAR)
        url = f"{self.base}/@{a.handle}"
        return {
            "id": str(a.id), "username": a.handle, "acct": a.handle, "display_name": a.display_name or a.handle,
            "locked": a.is_private, "bot": a.is_bot, "discoverable": True, "indexable": False, "group": False,
            "created_at": iso(a.created_at), "note": html.render(a.bio or "", self.base, set()), "url": url,
            "uri": url, "avatar": avatar, "avatar_static": avatar, "header": self.base + MISSING_HEADER,
            "header_static": self.base + MISSING_HEADER, "followers_count": a.follower_count,
            "following_count": a.following_count, "statuses_count": a.post_count, "last_status_at": None,
            "hide_collections": False, "noindex": False, "emojis": [], "roles": [], "fields": [],
        }

    def credential_account(self, a: Account, follow_requests: int = 0) -> dict:
        return self.account(a) | {
            "source": {"privacy": "public", "sensitive": False, "language": None, "note": a.bio or "",
                       "fields": [], "follow_requests_count": follow_requests, "hide_collections": False,
                       "discoverable": True, "indexable": False},
            "role": {"id": "-99", "name": "", "permissions": "0", "color": "", "highlighted": False},
        }

    @staticmethod
    def relationship(r: Relationship) -> dict:
        return {"id": str(r.id), "following": r.following, "showing_reblogs": r.following, "notifying": False,
                "languages": None, "followed_by": r.followed_by, "blocking": r.blocking, "blocked_by": r.blocked_by,
                "muting": r.muting, "muting_notifications": r.muting, "requested": r.requested,
                "requested_by": r.requested_by, "domain_blocking": False, "endorsed": False, "note": ""}

    # --- media ---------------------------------------------------------------------------------
    def media(self, m: Media) -> dict:
        name = media_service.file_name(m)
        source = media_service.media_path(self.media_dir, m.sha256, name.rsplit(".", 1)[1])
        meta: dict = {}
        if m.width and m.height:
            original = {"width": m.width, "height": m.height, "size": f"{m.width}x{m.height}",
                        "aspect": round(m.width / m.height, 6)}
            scale = min(1.0, previews.PREVIEW_PX / max(m.width, m.height))
            w, h = max(1, round(m.width * scale)), max(1, round(m.height * scale))
            meta = {"original": original, "small": {"width": w, "height": h, "size": f"{w}x{h}",
                                                    "aspect": round(w / h, 6)}}
        meta["focus"] = {"x": m.focus_x or 0.0, "y": m.focus_y or 0.0}
        return {
            "id": str(m.id), "type": m.kind, "url": self.base + media_service.media_url(m),
            "preview_url": f"{self.base}/media/preview/{name}", "remote_url": None, "preview_remote_url": None,
            "text_url": None, "meta": meta, "description": m.description or None,
            "blurhash": previews.blurhash_for(self.media_dir, source, m.sha256),
        }

    # --- statuses ------------------------------------------------------------------------------
    def _mentioned(self, texts: list[str]) -> dict[str, Account]:
        handles = {h for t in texts for h in parse_mentions(t)}
        if not handles:
            return {}
        rows = self.session.scalars(select(Account).where(Account.handle.in_(handles), Account.status == "active"))
        return {a.handle: a for a in rows}

    def _status(self, sid: str, author: Account, text: str, created: datetime, edited: datetime | None,
                visibility: str, url: str, mentioned: dict[str, Account], **extra) -> dict:
        mentions = [mentioned[h] for h in parse_mentions(text) if h in mentioned]
        body = {
            "id": sid, "created_at": iso(created), "in_reply_to_id": None, "in_reply_to_account_id": None,
            "sensitive": False, "spoiler_text": "", "visibility": visibility, "language": None, "uri": url,
            "url": url, "replies_count": 0, "reblogs_count": 0, "favourites_count": 0, "quotes_count": 0,
            "edited_at": iso(edited), "favourited": False, "reblogged": False, "muted": False,
            "bookmarked": False, "pinned": False, "content": html.render(text, self.base, set(mentioned)),
            "filtered": [], "reblog": None, "application": None, "account": self.account(author),
            "media_attachments": [], "emojis": [], "card": None, "poll": None, "quote": None,
            "mentions": [{"id": str(a.id), "username": a.handle, "acct": a.handle, "url": f"{self.base}/@{a.handle}"}
                         for a in mentions],
            "tags": [],
        }
        body.update(extra)
        return body

    def posts(self, posts: list[Post]) -> list[dict]:
        ids = [p.id for p in posts]
        states = viewer_states(self.session, self.viewer, ids)
        tags = post_hashtags(self.session, ids)
        mentioned = self._mentioned([p.text for p in posts])
        out = []
        for p in posts:
            state = states.get(p.id)
            card = None
            if p.kind == "link" and p.link_url:
                card = {"url": p.link_url, "title": p.link_title or p.link_url, "description": "", "type": "link",
                        "author_name": "", "author_url": "", "provider_name": "", "provider_url": "", "html": "",
                        "width": 0, "height": 0, "image": None, "embed_url": "", "blurhash": None,
                        "language": None, "published_at": None, "authors": []}
            out.append(self._status(
                status_id("post", p.id), p.author, p.text, p.created_at, p.edited_at, VISIBILITY[p.visibility],
                f"{self.base}/p/{p.id}", mentioned, replies_count=p.comment_count, reblogs_count=p.repost_count,
                favourites_count=p.like_count, favourited=bool(state and state.reaction),
                reblogged=bool(state and state.reposted), card=card,
                media_attachments=[self.media(pm.item) for pm in p.media],
                tags=[{"name": t, "url": f"{self.base}/tags/{t}"} for t in tags.get(p.id, [])],
                townsquare={"kind": p.kind, "reaction": state.reaction if state else None},
            ))
        return out

    def post(self, post: Post) -> dict:
        return self.posts([post])[0]

    def comments(self, comments: list[Comment]) -> list[dict]:
        """Comments as replies: to the post (top level) or to the parent comment."""
        post_ids = {c.post_id for c in comments}
        posts = {p.id: p for p in self.session.scalars(select(Post).where(Post.id.in_(post_ids)))} if post_ids else {}
        parent_ids = {c.parent_id for c in comments if c.parent_id}
        parents = ({c.id: c for c in self.session.scalars(select(Comment).where(Comment.id.in_(parent_ids)))}
                   if parent_ids else {})
        mentioned = self._mentioned([c.text for c in comments])
        out = []
        for c in comments:
            post = posts[c.post_id]
            if c.parent_id and c.parent_id in parents:
                reply_to, reply_account = status_id("comment", c.parent_id), parents[c.parent_id].author_id
            else:
                reply_to, reply_account = status_id("post", post.id), post.author_id
            out.append(self._status(
                status_id("comment", c.id), c.author, c.text, c.created_at, c.edited_at, VISIBILITY[post.visibility],
                f"{self.base}/p/{post.id}#c{c.id}", mentioned, in_reply_to_id=reply_to,
                in_reply_to_account_id=str(reply_account), townsquare={"kind": "comment", "is_ai": c.is_ai},
            ))
        return out

    def comment(self, comment: Comment) -> dict:
        return self.comments([comment])[0]

    def reblog(self, repost: Repost, post: Post, reposter: Account) -> dict:
        inner = self.post(post)
        return inner | {
            "id": status_id("repost", repost.id), "created_at": iso(repost.created_at), "account": self.account(reposter),
            "reblog": inner, "content": "", "media_attachments": [], "mentions": [], "tags": [], "card": None,
            "uri": f"{self.base}/p/{post.id}#repost-{repost.id}", "url": None, "edited_at": None,
        }

    def messages(self, rows: list[tuple[Message, Conversation]]) -> list[dict]:
        """Direct messages as ``direct`` statuses that mention the other participant."""
        accounts = {}
        ids = {m.sender_id for m, _ in rows} | {c.low_id for _, c in rows} | {c.high_id for _, c in rows}
        if ids:
            accounts = {a.id: a for a in self.session.scalars(select(Account).where(Account.id.in_(ids)))}
        mentioned = self._mentioned([m.text for m, _ in rows])
        out = []
        for message, conversation in rows:
            recipient_id = conversation.high_id if message.sender_id == conversation.low_id else conversation.low_id
            recipient = accounts[recipient_id]
            mentioned_here = mentioned | {recipient.handle: recipient}
            status = self._status(status_id("message", message.id), accounts[message.sender_id], message.text,
                                  message.created_at, None, "direct", f"{self.base}/messages/{recipient.handle}",
                                  mentioned_here, townsquare={"kind": "message", "is_ai": message.is_ai,
                                                              "conversation_id": str(conversation.id)})
            if not any(m["id"] == str(recipient.id) for m in status["mentions"]):
                status["mentions"].append({"id": str(recipient.id), "username": recipient.handle,
                                           "acct": recipient.handle, "url": f"{self.base}/@{recipient.handle}"})
            out.append(status)
        return out

    # --- others --------------------------------------------------------------------------------
    def tag(self, name: str, *, following: bool | None = None, history: list[dict] | None = None) -> dict:
        body = {"name": name, "url": f"{self.base}/tags/{name}", "history": history or []}
        if following is not None:
            body["following"] = following
        return body

    def notification(self, note: Notification, kind: str, status: dict | None) -> dict:
        body = {"id": str(note.id), "type": kind, "created_at": iso(note.created_at),
                "account": self.account(note.actor) if note.actor is not None else None,
                "group_key": f"ungrouped-{note.id}"}
        if status is not None:
            body["status"] = status
        return body
