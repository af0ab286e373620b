"""Posts: create, edit, delete, read, list. Hashtags and mentions are parsed from the text.

Every read goes through ``visibility``; a post the viewer may not see is reported as missing
(404), never as forbidden, so its existence is not revealed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Forbidden, InvalidInput, NotFound
from townsquare.social import media as media_service
from townsquare.social.events import log_event, record_event
from townsquare.social.hashtag_chars import TAG_CHAR
from townsquare.social.keyset import older_than
from townsquare.social.models import (
    POST_KINDS,
    VISIBILITIES,
    Account,
    Hashtag,
    Post,
    PostHashtag,
    PostMedia,
    Reaction,
    Repost,
)
from townsquare.social.notifications import notify
from townsquare.social.visibility import can_view_post, visible_posts_query

MAX_TEXT = 5000
MAX_PHOTOS = 4
MAX_URL = 2048
MAX_LINK_TITLE = 300
HASHTAG_RE = re.compile(r"(?<![\w#&])#(" + TAG_CHAR + "{1,100})", re.UNICODE)
MENTION_RE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{3,30})\b")


def parse_hashtags(text: str) -> list[str]:
    """Distinct lower-case hashtags in order of appearance (a tag that is only digits is not one)."""
    seen: dict[str, None] = {}
    for match in HASHTAG_RE.finditer(text or ""):
        tag = match.group(1).lower()
        if not tag.isdigit():
            seen.setdefault(tag, None)
    return list(seen)


def parse_mentions(text: str) -> list[str]:
    seen: dict[str, None] = {}
    for match in MENTION_RE.finditer(text or ""):
        seen.setdefault(match.group(1).lower(), None)
    return list(seen)


def _check_text(text: str | None, *, required: bool) -> str:
    text = (text or "").strip()
    if required and not text:
        raise InvalidInput("text is required for a text post", code="empty_text")
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"text must be at most {MAX_TEXT} characters", code="text_too_long")
    return text


def _check_visibility(visibility: str) -> str:
    if visibility not in VISIBILITIES:
        raise InvalidInput(f"visibility must be one of {', '.join(VISIBILITIES)}")
    return visibility


def check_link(url: str | None) -> str:
    url = (url or "").strip()
    if not url:
        raise InvalidInput("a link post needs a url", code="invalid_url")
    if len(url) > MAX_URL:
        raise InvalidInput(f"url must be at most {MAX_URL} characters", code="invalid_url")
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and not any(c.isspace() for c in url)
    except ValueError:
        ok = False
    if not ok:
        raise InvalidInput("url must be a valid http(s) address", code="invalid_url")
    return url


def _insert_ignore(session: Session, table, rows: list[dict]) -> None:
    """INSERT ... ON CONFLICT DO NOTHING on SQLite and PostgreSQL (hashtags are created concurrently)."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(table).on_conflict_do_nothing(), rows)


def _sync_hashtags(session: Session, post: Post) -> None:
    names = parse_hashtags(post.text)
    session.execute(PostHashtag.__table__.delete().where(PostHashtag.post_id == post.id))
    if not names:
        return
    _insert_ignore(session, Hashtag.__table__, [{"name": n} for n in names])
    ids = session.scalars(select(Hashtag.id).where(Hashtag.name.in_(names))).all()
    session.execute(PostHashtag.__table__.insert(), [{"post_id": post.id, "hashtag_id": i} for i in ids])


def notify_mentions(session: Session, author: Account, text: str, *, post: Post,
                    comment_id: int | None = None, skip: set[str] | None = None) -> list[int]:
    """Notify everyone mentioned who can see the post; returns their ids."""
    handles = [h for h in parse_mentions(text) if h != author.handle and h not in (skip or set())]
    if not handles:
        return []
    notified = []
    for account in session.scalars(select(Account).where(Account.handle.in_(handles), Account.status == "active")):
        if can_view_post(session, account, post):
            if notify(session, account.id, "mention", actor_id=author.id, post_id=post.id,
                      comment_id=comment_id) is not None:
                notified.append(account.id)
    return notified


def create_post(session: Session, author: Account, *, kind: str = "text", text: str = "",
                visibility: str | None = None, media_ids: list[int] | None = None, link_url: str | None = None,
                link_title: str | None = None, created_at: datetime | None = None) -> Post:
    """Publish a post. photo: 1-4 images; video: 1 video; link: an http(s) url (+ optional title).

    Visibility defaults to public, also for private accounts (as on Mastodon: a private account
    approves its followers; each post still says who may read it)."""
    if visibility is None:
        visibility = "public"
    if kind not in POST_KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(POST_KINDS)}")
    _check_visibility(visibility)
    text = _check_text(text, required=kind == "text")
    media_ids = list(media_ids or [])
    attached = media_service.owned_media(session, author, media_ids)
    if kind == "text" and attached:
        raise InvalidInput("a text post has no media; use kind photo or video")
    if kind == "link" and attached:
        raise InvalidInput("a link post has no media")
    if kind == "photo":
        if not 1 <= len(attached) <= MAX_PHOTOS:
            raise InvalidInput(f"a photo post needs 1 to {MAX_PHOTOS} images")
        if any(m.kind != "image" for m in attached):
            raise InvalidInput("a photo post takes images only")
    if kind == "video" and (len(attached) != 1 or attached[0].kind != "video"):
        raise InvalidInput("a video post needs exactly one video")
    if kind == "link":
        link_url = check_link(link_url)
        link_title = (link_title or "").strip() or None
        if link_title and len(link_title) > MAX_LINK_TITLE:
            raise InvalidInput(f"link title must be at most {MAX_LINK_TITLE} characters")
    else:
        link_url = link_title = None
    post = Post(author_id=author.id, kind=kind, text=text, visibility=visibility, link_url=link_url,
                link_title=link_title, created_at=created_at or utcnow())
    post.author = author
    post.media = [PostMedia(media_id=m.id, position=i, item=m) for i, m in enumerate(attached)]
    session.add(post)
    session.flush()
    _sync_hashtags(session, post)
    session.execute(update(Account).where(Account.id == author.id).values(post_count=Account.post_count + 1))
    session.refresh(author, ["post_count"])
    notify_mentions(session, author, text, post=post)
    log_event(session, author.id, "post", "post", post.id, ts=post.created_at,
              context={"kind": kind, "visibility": visibility})
    return post


def get_post(session: Session, viewer: Account | None, post_id: int) -> Post:
    """A post the viewer may see; NotFound otherwise (whether it exists or not)."""
    post = session.get(Post, post_id)
    if post is None or not can_view_post(session, viewer, post):
        raise NotFound("no such post")
    return post


def open_post(session: Session, viewer: Account | None, post_id: int, *, surface: str | None = "post") -> Post:
    """Read a post as its page does: logs an ``open`` event for a signed-in viewer."""
    post = get_post(session, viewer, post_id)
    if viewer is not None:
        record_event(session, viewer.id, "open", "post", post.id, surface=surface)
    return post


def _own_post(session: Session, actor: Account, post_id: int) -> Post:
    post = get_post(session, actor, post_id)
    if post.author_id != actor.id:
        # Seen but not theirs: say so (the post is visible to them anyway).
        raise Forbidden("only the author can change this post")
    return post


def edit_post(session: Session, actor: Account, post_id: int, *, text: str | None = None,
              visibility: str | None = None) -> Post:
    """The author changes the text and/or the visibility; hashtags follow the new text."""
    post = _own_post(session, actor, post_id)
    if text is None and visibility is None:
        raise InvalidInput("nothing to change: send text and/or visibility")
    if visibility is not None:
        post.visibility = _check_visibility(visibility)
    if text is not None:
        before = set(parse_mentions(post.text))
        post.text = _check_text(text, required=post.kind == "text")
        _sync_hashtags(session, post)
        notify_mentions(session, actor, post.text, post=post, skip=before)
    post.edited_at = utcnow()
    session.flush()
    return post


def delete_post(session: Session, actor: Account, post_id: int) -> None:
    """The author deletes a post (soft: it disappears from every read; counters follow)."""
    post = _own_post(session, actor, post_id)
    post.deleted_at = utcnow()
    session.execute(update(Account).where(Account.id == actor.id, Account.post_count > 0)
                    .values(post_count=Account.post_count - 1))
    session.flush()


def list_account_posts(session: Session, viewer: Account | None, account_id: int, *,
                       before: tuple[datetime, int] | None = None, limit: int = 20) -> list[Post]:
    """An account's posts that the viewer may see, newest first."""
    query = visible_posts_query(viewer.id if viewer else None).where(Post.author_id == account_id)
    condition = older_than(Post.created_at, Post.id, before)
    if condition is not None:
        query = query.where(condition)
    return list(session.scalars(query.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit)).unique())


@dataclass(frozen=True)
class ViewerState:
    reaction: str | None = None
    reposted: bool = False


def viewer_states(session: Session, viewer: Account | None, post_ids: list[int]) -> dict[int, ViewerState]:
    """The viewer's reaction and repost on each post, in two queries."""
    if viewer is None or not post_ids:
        return {}
    reactions = dict(session.execute(select(Reaction.post_id, Reaction.kind).where(
        Reaction.account_id == viewer.id, Reaction.post_id.in_(post_ids))).all())
    reposted = set(session.scalars(select(Repost.post_id).where(
        Repost.account_id == viewer.id, Repost.post_id.in_(post_ids))))
    return {pid: ViewerState(reactions.get(pid), pid in reposted) for pid in post_ids}


def post_hashtags(session: Session, post_ids: list[int]) -> dict[int, list[str]]:
    if not post_ids:
        return {}
    result: dict[int, list[str]] = {}
    rows = session.execute(select(PostHashtag.post_id, Hashtag.name).join(Hashtag, Hashtag.id == PostHashtag.hashtag_id)
                           .where(PostHashtag.post_id.in_(post_ids)).order_by(Hashtag.name))
    for post_id, name in rows:
        result.setdefault(post_id, []).append(name)
    return result
