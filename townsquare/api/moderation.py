"""Native API: reporting (anyone signed in) and the moderation queue (admins only)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from townsquare.api.pagination import Page, PageQuery, page_query
from townsquare.api.schemas import parse_id, render_account, render_post
from townsquare.api.shapes import ModeratedAccountOut, MyReportOut, QueueItemOut, ReasonsOut, render_page
from townsquare.server.deps import admin_account, current_account, get_session
from townsquare.social import moderation
from townsquare.social.models import Account, Comment, Post, Report

router = APIRouter(prefix="/api", tags=["moderation"])


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_type: Literal["post", "comment", "account"]
    target_id: str = Field(max_length=20)
    reason: str = Field(max_length=32)
    details: str = Field("", max_length=5000)  # the service enforces the real limit with a clear message


class ResolveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action: str = Field(max_length=32)


def _my_report(report: Report) -> dict:
    return {"id": str(report.id), "status": report.status, "reason": report.reason,
            "created_at": report.created_at}


def _queue_item(session: Session, report: Report) -> dict:
    """What a moderator needs to decide: the report, the reporter, and the target as it stands."""
    reporter = session.get(Account, report.reporter_id)
    target = session.get(Account, report.target_account_id)
    post = session.get(Post, report.post_id) if report.post_id is not None else None
    comment = session.get(Comment, report.comment_id) if report.comment_id is not None else None
    target_type = "post" if post is not None or report.post_id else "comment" if report.comment_id else "account"
    return {
        "id": str(report.id),
        "status": report.status,
        "action": report.action,
        "reason": report.reason,
        "details": report.details,
        "created_at": report.created_at,
        "resolved_at": report.resolved_at,
        "reporter": render_account(reporter) if reporter is not None else None,
        "target_type": target_type,
        "target_account": {**render_account(target), "status": target.status} if target is not None else None,
        "post": {**render_post(session, None, post), "removed_at": post.removed_at, "deleted_at": post.deleted_at}
        if post is not None else None,
        "comment": {"id": str(comment.id), "post_id": str(comment.post_id), "text": comment.text,
                    "deleted_at": comment.deleted_at} if comment is not None else None,
    }


@router.get("/reports/reasons", response_model=ReasonsOut)
def reasons() -> dict:
    return {"reasons": list(moderation.REPORT_REASONS), "max_details_chars": moderation.MAX_DETAILS_CHARS}


@router.post("/reports", response_model=MyReportOut, status_code=201)
def create_report(body: ReportIn, me: Account = Depends(current_account),
                  session: Session = Depends(get_session)) -> dict:
    """Report a post, a comment or an account to the moderators."""
    report = moderation.report(session, me, body.target_type, parse_id(body.target_id, what=body.target_type, in_body=True),
                               body.reason, body.details)
    return _my_report(report)


@router.get("/admin/reports", response_model=Page[QueueItemOut])
def queue(status: str = Query("open"), page: PageQuery = Depends(page_query), admin: Account = Depends(admin_account),
          session: Session = Depends(get_session)) -> dict:
    """The moderation queue, oldest first. Admins only."""
    result = moderation.list_reports(session, admin, status=status, cursor=page.cursor, limit=page.limit)
    return render_page(result, lambda r: _queue_item(session, r))


@router.get("/admin/reports/{report_id}", response_model=QueueItemOut)
def get_report(report_id: str, admin: Account = Depends(admin_account),
               session: Session = Depends(get_session)) -> dict:
    return _queue_item(session, moderation.get_report(session, admin, parse_id(report_id, what="report")))


@router.post("/admin/reports/{report_id}/resolve", response_model=QueueItemOut)
def resolve(report_id: str, body: ResolveIn, admin: Account = Depends(admin_account),
            session: Session = Depends(get_session)) -> dict:
    """Resolve with ``remove_post``, ``remove_comment``, ``suspend_account`` or ``dismiss``."""
    report = moderation.resolve_report(session, admin, parse_id(report_id, what="report"), body.action)
    return _queue_item(session, report)


@router.post("/admin/accounts/{account_id}/suspend", response_model=ModeratedAccountOut)
def suspend(account_id: str, admin: Account = Depends(admin_account), session: Session = Depends(get_session)) -> dict:
    """Suspend an account without a report (its open reports are resolved with it)."""
    account = moderation.suspend_account(session, admin, parse_id(account_id, what="account"))
    return {**render_account(account), "status": account.status}


@router.post("/admin/accounts/{account_id}/unsuspend", response_model=ModeratedAccountOut)
def unsuspend(account_id: str, admin: Account = Depends(admin_account),
              session: Session = Depends(get_session)) -> dict:
    account = moderation.unsuspend_account(session, admin, parse_id(account_id, what="account"))
    return {**render_account(account), "status": account.status}
