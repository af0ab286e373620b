"""Reports and the moderation queue.

Anyone signed in can report a post, a comment or an account (a reason from REPORT_REASONS, optional
details). Admins work the queue: they resolve each open report with an action:
- ``remove_post``: the post gets ``removed_at`` and disappears from every read path;
- ``remove_comment``: the comment is deleted (for reports about a comment);
- ``suspend_account``: the reported account is suspended: its tokens stop working (``resolve_token``
  only accepts active accounts) and its posts disappear (``visible_posts_clause``);
- ``dismiss``: nothing to do.
Resolving with an action also closes the other open reports it settles (same post, same comment, or
any report about a suspended account).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound
from townsquare.social.blocks import require_visible
from townsquare.social.events import log_event
from townsquare.social.models import Account, Comment, Post, Report
from townsquare.social.paging import DEFAULT_LIMIT, Page, keyset_page
from townsquare.social.visibility import can_view_post

REPORT_REASONS = ("spam", "harassment", "hate", "violence", "nudity", "self_harm", "misinformation", "other")
TARGET_TYPES = ("post", "comment", "account")
RESOLUTIONS = ("remove_post", "remove_comment", "suspend_account", "dismiss")
REPORT_STATUSES = ("open", "resolved", "dismissed")
MAX_DETAILS_CHARS = 1000


@dataclass
class ReportTarget:
    account: Account
    post: Post | None = None
    comment: Comment | None = None


def _target(session: Session, reporter: Account, target_type: str, target_id: int) -> ReportTarget:
    if target_type == "post":
        post = session.get(Post, target_id)
        if post is None or not can_view_post(session, reporter, post):
            raise NotFound("no such post")
        return ReportTarget(post.author, post=post)
    if target_type == "comment":
        comment = session.get(Comment, target_id)
        post = session.get(Post, comment.post_id) if comment is not None else None
        if comment is None or comment.deleted_at is not None or post is None \
                or not can_view_post(session, reporter, post):
            raise NotFound("no such comment")
        return ReportTarget(comment.author, post=None, comment=comment)
    if target_type == "account":
        account = session.get(Account, target_id)
        if account is None or account.status == "deleted":
            raise NotFound("no such account")
        return ReportTarget(require_visible(session, reporter, account))  # the block rule
    raise InvalidInput(f"target_type must be one of {', '.join(TARGET_TYPES)}")


def report(session: Session, reporter: Account, target_type: str, target_id: int, reason: str,
           details: str = "") -> Report:
    if reason not in REPORT_REASONS:
        raise InvalidInput(f"reason must be one of {', '.join(REPORT_REASONS)}")
    details = (details or "").strip()
    if len(details) > MAX_DETAILS_CHARS:
        raise InvalidInput(f"details are at most {MAX_DETAILS_CHARS} characters")
    target = _target(session, reporter, target_type, target_id)
    if target.account.id == reporter.id:
        raise InvalidInput("you cannot report yourself or what you wrote")
    post_id = target.post.id if target.post is not None else None
    comment_id = target.comment.id if target.comment is not None else None
    duplicate = session.scalar(select(Report.id).where(
        Report.reporter_id == reporter.id, Report.status == "open", Report.target_account_id == target.account.id,
        Report.post_id.is_(None) if post_id is None else Report.post_id == post_id,
        Report.comment_id.is_(None) if comment_id is None else Report.comment_id == comment_id,
    ))
    if duplicate is not None:
        raise Conflict("you already reported this; a moderator will look at it")
    row = Report(reporter_id=reporter.id, target_account_id=target.account.id, post_id=post_id,
                 comment_id=comment_id, reason=reason, details=details)
    session.add(row)
    session.flush()
    entity_id = post_id or comment_id or target.account.id
    log_event(session, reporter.id, "report", target_type, entity_id, context={"reason": reason})
    return row


def _require_admin(actor: Account) -> None:
    if not actor.is_admin:
        raise Forbidden("only admins can moderate")


def list_reports(session: Session, admin: Account, *, status: str = "open", cursor: str | None = None,
                 limit: int = DEFAULT_LIMIT) -> Page[Report]:
    """The queue: reports with ``status``, oldest first (first come, first served)."""
    _require_admin(admin)
    if status not in REPORT_STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(REPORT_STATUSES)}")
    stmt = select(Report).where(Report.status == status)
    return keyset_page(session, stmt, keys=[Report.created_at, Report.id], key_of=lambda r: (r.created_at, r.id),
                       cursor=cursor, limit=limit, descending=False)


def get_report(session: Session, admin: Account, report_id: int) -> Report:
    _require_admin(admin)
    row = session.get(Report, report_id)
    if row is None:
        raise NotFound("no such report")
    return row


def _close(session: Session, where, admin: Account, action: str, status: str) -> None:
    session.execute(
        update(Report).where(Report.status == "open", where)
        .values(status=status, action=action, resolved_by_id=admin.id, resolved_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def resolve_report(session: Session, admin: Account, report_id: int, action: str) -> Report:
    row = get_report(session, admin, report_id)
    if action not in RESOLUTIONS:
        raise InvalidInput(f"action must be one of {', '.join(RESOLUTIONS)}")
    if row.status != "open":
        raise Conflict(f"this report is already {row.status}")
    now = utcnow()
    if action == "remove_post":
        post = session.get(Post, row.post_id) if row.post_id is not None else None
        if post is None:
            raise InvalidInput("this report is not about a post")
        if post.removed_at is None:
            post.removed_at = now
        _close(session, Report.post_id == post.id, admin, action, "resolved")
    elif action == "remove_comment":
        comment = session.get(Comment, row.comment_id) if row.comment_id is not None else None
        if comment is None:
            raise InvalidInput("this report is not about a comment")
        if comment.deleted_at is None:
            comment.deleted_at = now
            post = session.get(Post, comment.post_id)
            if post is not None:
                post.comment_count = Post.comment_count - 1
        _close(session, Report.comment_id == comment.id, admin, action, "resolved")
    elif action == "suspend_account":
        target = session.get(Account, row.target_account_id)
        if target is None:
            raise NotFound("the reported account no longer exists")
        if target.id == admin.id:
            raise InvalidInput("you cannot suspend yourself")
        target.status = "suspended"
        _close(session, Report.target_account_id == target.id, admin, action, "resolved")
    else:
        _close(session, Report.id == row.id, admin, "none", "dismissed")
    session.flush()
    session.refresh(row)
    return row


def suspend_account(session: Session, admin: Account, account_id: int) -> Account:
    """Suspend an account directly (without a report); its open reports are resolved with it."""
    _require_admin(admin)
    account = session.get(Account, account_id)
    if account is None or account.status == "deleted":
        raise NotFound("no such account")
    if account.id == admin.id:
        raise InvalidInput("you cannot suspend yourself")
    if account.status == "suspended":
        raise Conflict("this account is already suspended")
    account.status = "suspended"
    _close(session, Report.target_account_id == account.id, admin, "suspend_account", "resolved")
    session.flush()
    return account


def unsuspend_account(session: Session, admin: Account, account_id: int) -> Account:
    _require_admin(admin)
    account = session.get(Account, account_id)
    if account is None or account.status == "deleted":
        raise NotFound("no such account")
    if account.status != "suspended":
        raise Conflict("this account is not suspended")
    account.status = "active"
    session.flush()
    return account
