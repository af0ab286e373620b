"""An account's life after sign-up: deletion (by the person, with a grace period, or by an admin) and
the removal of everything it made; the tracking opt-out.

Deleting is two steps. ``schedule_deletion`` hides the account at once (status "deleted": every read
already leaves out accounts that are not active, the model's catalogue included) and signs it out
everywhere; signing in before ``deletion_due_at`` cancels it. ``purge_account`` (run by the
background worker or ``townsquare user purge``, when the time comes) removes the content:

- posts and comments become tombstones (no text, no link, no media) so that threads and the model's
  catalogue, which look for ``deleted_at``, drop them; every row about those posts goes;
- every other row that names the account (media and their files, follows, messages and
  conversations, reactions, notifications, the event log, assistant conversations and memories,
  creator AIs, feed settings, tokens, ...) is deleted: found from the schema's foreign keys, so a
  table added later is covered without a change here;
- the account row stays as an anonymous tombstone ("deleted_<id>", no e-mail, no password), so its
  id is never given to someone else (the model's learned features are keyed by account id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from townsquare.db.base import Base, utcnow
from townsquare.errors import Conflict, InvalidInput
from townsquare.social.models import Account, Comment, Event, Media, Post
from townsquare.social.tokens import revoke_all_tokens

# Tables whose rows about the account are not deleted but handled first (tombstones, counters).
_KEPT = {"accounts", "posts", "comments"}
TRACKING_ACTIONS = ("impression", "dwell")


@dataclass(frozen=True)
class PurgeReport:
    account_id: int
    posts: int
    comments: int
    media_files: int
    rows: dict[str, int]


def schedule_deletion(session: Session, account: Account, *, grace: timedelta) -> datetime:
    """Hide the account now and remove its content after ``grace`` (zero: at the next purge)."""
    if account.status == "deleted":
        raise Conflict("this account is already being deleted", code="already_deleted")
    if grace < timedelta(0):
        raise InvalidInput("the grace period cannot be negative")
    account.status = "deleted"
    account.deletion_due_at = utcnow() + grace
    revoke_all_tokens(session, account.id)
    session.flush()
    return account.deletion_due_at


def cancel_deletion(session: Session, account: Account) -> bool:
    """Undo a scheduled deletion whose content is still there; False when there is none to undo."""
    if account.status != "deleted" or account.deletion_due_at is None:
        return False
    account.status = "active"
    account.deletion_due_at = None
    session.flush()
    return True


def pending_deletion(account: Account | None) -> bool:
    return account is not None and account.status == "deleted" and account.deletion_due_at is not None


def due_for_purge(session: Session, now: datetime | None = None) -> list[int]:
    now = now or utcnow()
    return list(session.scalars(select(Account.id).where(Account.status == "deleted",
                                                         Account.deletion_due_at.is_not(None),
                                                         Account.deletion_due_at <= now)))


def purge_due(session_factory, media_store) -> list[PurgeReport]:
    """Purge every account whose grace period is over, one transaction each."""
    with session_factory() as session:
        ids = due_for_purge(session)
    reports = []
    for account_id in ids:
        with session_factory() as session:
            account = session.get(Account, account_id)
            if account is not None and pending_deletion(account):
                reports.append(purge_account(session, account, media_store))
    return reports


def _foreign_keys_to(table_name: str):
    """(table, column, ondelete) for every column in the schema that refers to ``table_name``."""
    for table in reversed(Base.metadata.sorted_tables):
        for fk in table.foreign_keys:
            if fk.column.table.name == table_name:
                yield table, fk.parent, (fk.ondelete or "").upper()


def _delete_referring(session: Session, table_name: str, ids: list, rows: dict[str, int], skip: set[str],
                      depth: int = 0) -> None:
    """Delete every row that refers to rows ``ids`` of ``table_name``, and what refers to those, down
    the foreign keys (children first, as the database would cascade). Tables in ``skip`` are kept:
    their references are set to NULL when the column allows it."""
    if not ids or depth > 8:
        return
    for table, column, ondelete in _foreign_keys_to(table_name):
        if table.name in skip or ondelete == "SET NULL":
            if column.nullable:
                session.execute(update(table).where(column.in_(ids)).values({column.name: None}))
            continue
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and any(True for _ in _foreign_keys_to(table.name)):
            child_ids = list(session.scalars(select(keys[0]).where(column.in_(ids))))
            _delete_referring(session, table.name, child_ids, rows, skip, depth + 1)
        result = session.execute(delete(table).where(column.in_(ids)))
        rows[table.name] = rows.get(table.name, 0) + int(result.rowcount or 0)


def purge_account(session: Session, account: Account, media_store) -> PurgeReport:
    """Remove everything ``account`` made (see the module docstring); the account must be deleted."""
    from townsquare.social.media import as_store

    if account.status != "deleted":
        raise Conflict("only a deleted account's content can be purged")
    now = utcnow()
    rows: dict[str, int] = {}
    post_ids = list(session.scalars(select(Post.id).where(Post.author_id == account.id)))
    comment_ids = list(session.scalars(select(Comment.id).where(Comment.author_id == account.id)))
    # Comments on those posts and replies under those comments go with them (as tombstones).
    touched_posts = set(session.scalars(select(Comment.post_id).where(Comment.id.in_(comment_ids)))) if comment_ids \
        else set()
    neighbours = _follow_neighbours(session, account.id)
    session.execute(update(Comment).where((Comment.author_id == account.id) | Comment.post_id.in_(post_ids))
                    .values(text="", deleted_at=func.coalesce(Comment.deleted_at, now)))
    # Rows about the posts (reactions, reposts, media links, hashtags, embeddings, notifications...).
    _delete_referring(session, "posts", post_ids, rows, skip={"comments", "posts"})
    if post_ids:
        session.execute(update(Post).where(Post.id.in_(post_ids)).values(
            text="", link_url=None, link_title=None, deleted_at=func.coalesce(Post.deleted_at, now)))
    # Media: the files, unless someone else uploaded the same bytes, then the rows.
    media = list(session.scalars(select(Media).where(Media.owner_id == account.id)))
    account.avatar_media_id = None
    session.flush()
    store = as_store(media_store)
    removed_files = 0
    for item in media:
        shared = session.scalar(select(func.count()).select_from(Media).where(
            Media.sha256 == item.sha256, Media.owner_id != account.id))
        if not shared:
            for key in _file_keys(item):
                try:
                    store.delete(key)
                    removed_files += 1
                except (FileNotFoundError, KeyError):
                    pass
    _delete_referring(session, "media", [m.id for m in media], rows, skip={"accounts"})
    # Every row that names the account.
    _delete_referring(session, "accounts", [account.id], rows, skip=_KEPT)
    # Counters of the people and posts this touched.
    _recount_posts(session, touched_posts)
    follows = Base.metadata.tables["follows"]
    if neighbours:
        session.execute(update(Account).where(Account.id.in_(neighbours)).values(
            follower_count=select(func.count()).where(follows.c.followee_id == Account.id).scalar_subquery(),
            following_count=select(func.count()).where(follows.c.follower_id == Account.id).scalar_subquery()))
    # The tombstone.
    account.handle = f"deleted_{account.id}"
    account.email = None
    account.password_hash = None
    account.display_name = ""
    account.bio = ""
    account.is_private = False
    account.is_bot = False
    account.is_admin = False
    account.deletion_due_at = None
    account.follower_count = account.following_count = account.post_count = 0
    session.flush()
    return PurgeReport(account.id, len(post_ids), len(comment_ids), removed_files, rows)


def _file_keys(item: Media) -> list[str]:
    """The store keys of a media item's file and of its renditions (thumbnails, poster)."""
    from townsquare.social.media import CONTENT_TYPES
    from townsquare.social.media_store import media_key

    ext = {mime: ext for ext, mime in CONTENT_TYPES.items()}.get(item.mime_type)
    keys = [media_key(item.sha256, ext)] if ext else []
    keys += [media_key(v["sha256"], v["ext"]) for v in (item.variants or []) if v.get("sha256") and v.get("ext")]
    return keys


def _follow_neighbours(session: Session, account_id: int) -> set[int]:
    follows = Base.metadata.tables["follows"]
    return set(session.scalars(select(follows.c.followee_id).where(follows.c.follower_id == account_id))) | set(
        session.scalars(select(follows.c.follower_id).where(follows.c.followee_id == account_id)))


def _recount_posts(session: Session, post_ids: set[int]) -> None:
    for post_id in post_ids:
        live = select(func.count()).select_from(Comment).where(Comment.post_id == post_id,
                                                                Comment.deleted_at.is_(None)).scalar_subquery()
        session.execute(update(Post).where(Post.id == post_id).values(comment_count=live))


# --- tracking opt-out -----------------------------------------------------------------------------


def set_tracking_opt_out(session: Session, account: Account, opt_out: bool) -> int:
    """Turn impression and dwell tracking off (or back on). Turning it off also deletes what was
    recorded so far, so neither the feed nor the next training reads it. Returns events deleted."""
    account.tracking_opt_out = bool(opt_out)
    deleted = 0
    if opt_out:
        result = session.execute(delete(Event).where(Event.actor_id == account.id,
                                                     Event.action.in_(TRACKING_ACTIONS)))
        deleted = int(result.rowcount or 0)
    session.flush()
    return deleted
