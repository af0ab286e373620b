"""``townsquare moderation ...``: work the moderation queue from the command line (as an admin)."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench: typer.Typer) -> None:
    media_app = typer.Typer(help="Media files.", no_args_is_help=True)
    app.add_typer(media_app, name="media")

    @media_app.command("renditions")
    def media_renditions(limit: int = typer.Option(None, "--limit", help="At most this many files.")) -> None:
        """Make thumbnails, video posters and placeholders for stored media that have none (uploads
        from before they existed, the seeded demo community). Stoppable and rerunnable."""
        from rich.progress import Progress

        from townsquare.commands import _settings
        from townsquare.db.engine import Database
        from townsquare.social.renditions import backfill

        settings = _settings()
        db = Database(settings.sqlalchemy_url)
        try:
            with Progress() as bar:
                task = bar.add_task("renditions", total=None)
                done = backfill(db.session, settings.media_store, limit=limit, progress=lambda: bar.advance(task))
        finally:
            db.dispose()
        typer.echo(f"renditions made for {done} file(s)")

    moderation_app = typer.Typer(help="Moderation: the report queue, suspensions.", no_args_is_help=True)
    app.add_typer(moderation_app, name="moderation")

    def _run(acting: str | None, work):
        """Run ``work(session, admin)`` in one transaction; errors become one line and exit 1."""
        from sqlalchemy import select

        from townsquare.commands import _settings, fail
        from townsquare.db.engine import Database
        from townsquare.errors import TownsquareError
        from townsquare.social.models import Account

        db = Database(_settings().sqlalchemy_url)
        try:
            with db.session() as session:
                query = select(Account).where(Account.is_admin.is_(True), Account.status == "active")
                if acting:
                    query = query.where(Account.handle == acting.lstrip("@").lower())
                admin = session.scalars(query.order_by(Account.id).limit(1)).first()
                if admin is None:
                    raise fail(f"no active admin @{acting.lstrip('@')}" if acting else
                               "no active admin account: create one with `townsquare user create NAME --admin`")
                return work(session, admin)
        except TownsquareError as exc:
            raise fail(exc.message)
        finally:
            db.dispose()

    def _account_id(session, handle: str) -> int:
        from sqlalchemy import select

        from townsquare.errors import NotFound
        from townsquare.social.models import Account

        account_id = session.scalar(select(Account.id).where(Account.handle == handle.lstrip("@").lower()))
        if account_id is None:
            raise NotFound(f"no account @{handle.lstrip('@')}")
        return account_id

    acting_option = typer.Option(None, "--as", help="Admin handle to act as (default: the first admin).")

    @moderation_app.command("reports")
    def reports(status: str = typer.Option("open", "--status", help="open, resolved or dismissed."),
                limit: int = typer.Option(50, "--limit", min=1, max=100),
                acting: str = acting_option) -> None:
        """List reports, oldest first."""
        from rich.console import Console
        from rich.table import Table

        from townsquare.social import moderation
        from townsquare.social.models import Account, Comment, Post

        def work(session, admin):
            page = moderation.list_reports(session, admin, status=status, limit=limit)
            table = Table("id", "when", "reporter", "target", "reason", "what", "details")
            for r in page.items:
                reporter = session.get(Account, r.reporter_id)
                target = session.get(Account, r.target_account_id)
                if r.post_id:
                    post = session.get(Post, r.post_id)
                    what = f"post {r.post_id}: {post.text[:40] if post else ''}"
                elif r.comment_id:
                    comment = session.get(Comment, r.comment_id)
                    what = f"comment {r.comment_id}: {comment.text[:40] if comment else ''}"
                else:
                    what = "account"
                table.add_row(str(r.id), r.created_at.strftime("%Y-%m-%d %H:%M"),
                              f"@{reporter.handle}" if reporter else "?", f"@{target.handle}" if target else "?",
                              r.reason, what, r.details[:60])
            Console().print(table if page.items else f"no {status} reports")

        _run(acting, work)

    @moderation_app.command("resolve")
    def resolve(report_id: int = typer.Argument(..., help="The report's id."),
                action: str = typer.Argument(..., help="remove_post, remove_comment, suspend_account or dismiss."),
                acting: str = acting_option) -> None:
        """Resolve an open report with an action."""
        from townsquare.social import moderation

        report = _run(acting, lambda session, admin: moderation.resolve_report(session, admin, report_id, action))
        typer.echo(f"report {report.id}: {report.status} ({report.action})")

    @moderation_app.command("suspend")
    def suspend(handle: str = typer.Argument(...), acting: str = acting_option) -> None:
        """Suspend an account: it can no longer sign in and its posts disappear."""
        from townsquare.social import moderation

        _run(acting, lambda session, admin: moderation.suspend_account(session, admin, _account_id(session, handle)))
        typer.echo(f"suspended @{handle.lstrip('@').lower()}")

    @moderation_app.command("unsuspend")
    def unsuspend(handle: str = typer.Argument(...), acting: str = acting_option) -> None:
        """Lift a suspension."""
        from townsquare.social import moderation

        _run(acting, lambda session, admin: moderation.unsuspend_account(session, admin, _account_id(session, handle)))
        typer.echo(f"unsuspended @{handle.lstrip('@').lower()}")
