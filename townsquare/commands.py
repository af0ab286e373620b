"""Core commands: version, migrate, serve, user. (``seed`` lives in ``townsquare/sim/commands.py``.)

Errors print one line and exit non-zero; heavy imports happen inside the commands.
"""

from __future__ import annotations

from contextlib import contextmanager

import typer


def fail(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr and return the Exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _settings(**overrides):
    from townsquare.config import ConfigError, load_settings

    try:
        settings = load_settings(**overrides)
        settings.ensure_dirs()
        return settings
    except ConfigError as exc:
        raise fail(str(exc))
    except OSError as exc:
        raise fail(f"cannot create the data folder: {exc}")


@contextmanager
def _database_session(doing: str, hint: str = ""):
    """A session on the configured database; any error becomes one ``error:`` line (``doing`` says
    what failed, ``hint`` what to try), and the engine is closed either way."""
    from townsquare.db.engine import Database
    from townsquare.errors import TownsquareError

    db = Database(_settings().sqlalchemy_url)
    try:
        with db.session() as session:
            yield session
    except TownsquareError as exc:
        raise fail(exc.message)
    except Exception as exc:
        raise fail(f"could not {doing}: {str(exc).splitlines()[0]}{hint}")
    finally:
        db.dispose()


def _new_password(given: str | None) -> str:
    import secrets

    return given if given is not None else secrets.token_urlsafe(12)


def _check_redis(url: str) -> None:
    import redis

    try:
        redis.Redis.from_url(url, socket_connect_timeout=3).ping()
    except (redis.RedisError, ValueError) as exc:
        raise fail(f"cannot reach Redis at {url}: {exc}")


def _print_demo_sign_ins(settings) -> None:
    """On every start of a demo database: where to sign in and with what (the seeded passwords, as
    long as they still work)."""
    from townsquare.db.engine import Database
    from townsquare.sim.commands import demo_sign_ins

    db = Database(settings.sqlalchemy_url)
    try:
        logins = demo_sign_ins(db)
    except Exception:  # no schema yet, or the database is down: serve says so on the first request
        logins = []
    finally:
        db.dispose()
    if logins:
        shown = "; ".join(f"{handle} / {password}" for handle, password in logins)
        typer.echo(f"Sign in at http://{settings.host}:{settings.port}/ with the demo accounts: {shown}")


def register(app: typer.Typer, bench: typer.Typer) -> None:
    @app.command()
    def version() -> None:
        """Print the installed version."""
        from townsquare import __version__

        typer.echo(__version__)

    @app.command()
    def migrate() -> None:
        """Create or upgrade the database schema (Alembic upgrade to the latest revision)."""
        from townsquare.db import migrate as migrations

        settings = _settings()
        try:
            migrations.upgrade(settings.sqlalchemy_url)
            revisions = migrations.current_revisions(settings.sqlalchemy_url)
        except Exception as exc:  # connection refused, bad URL, ...: one clear line
            raise fail(f"migration failed: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}")
        typer.echo(f"database at revision {', '.join(sorted(revisions)) or '(none)'}")

    @app.command()
    def serve(
        host: str = typer.Option(None, "--host", help="Address to listen on (default: settings.host, 127.0.0.1)."),
        port: int = typer.Option(None, "--port", help="Port (default: settings.port, 8000)."),
        workers: int = typer.Option(1, "--workers", min=1, help="Worker processes."),
        access_log: bool = typer.Option(None, "--access-log/--no-access-log",
                                        help="One log line per request (default: on; TOWNSQUARE_ACCESS_LOG)."),
        log_format: str = typer.Option(None, "--log-format",
                                       help="text or json (default: TOWNSQUARE_LOG_FORMAT, text)."),
    ) -> None:
        """Serve the web app and the APIs."""
        import os

        import uvicorn

        from townsquare.server.logs import log_config

        settings = _settings(host=host, port=port, access_log=access_log, log_format=log_format)
        if workers > 1 and not settings.redis_url:
            raise fail("several workers share feed cursors and rate limits through Redis: set "
                       "TOWNSQUARE_REDIS_URL (e.g. redis://127.0.0.1:6379/0)")
        if settings.redis_url:
            _check_redis(settings.redis_url)
        try:
            logging_config = log_config(settings.log_format, settings.access_log, settings.log_level)
        except ValueError as exc:
            raise fail(str(exc))
        # X-Forwarded-For / -Proto are believed only from the configured proxies (none by default).
        proxies = dict(proxy_headers=bool(settings.trusted_proxies),
                       forwarded_allow_ips=settings.trusted_proxies or None)
        common = dict(host=settings.host, port=settings.port, log_config=logging_config,
                      log_level=settings.log_level.lower(), access_log=False, **proxies)
        typer.echo(f"Townsquare on http://{settings.host}:{settings.port}/ (API docs at /api/docs)"
                   + (f", {workers} workers" if workers > 1 else ""))
        _print_demo_sign_ins(settings)
        if workers > 1:
            # The workers are new processes: what they need from the options goes through the
            # environment. Metrics of every worker meet in one folder (prometheus multiprocess mode).
            from townsquare.metrics import MULTIPROC_ENV, prepare_multiprocess_dir

            os.environ["TOWNSQUARE_ACCESS_LOG"] = "true" if settings.access_log else "false"
            os.environ["TOWNSQUARE_LOG_FORMAT"] = settings.log_format
            folder = os.environ.get(MULTIPROC_ENV) or str(settings.data_dir / "run" / f"metrics-{settings.port}")
            os.environ[MULTIPROC_ENV] = prepare_multiprocess_dir(folder)
            uvicorn.run("townsquare.server.app:create_app", factory=True, workers=workers, **common)
            return
        from townsquare.server.app import create_app

        uvicorn.run(create_app(settings), **common)

    user_app = typer.Typer(help="Manage accounts.", no_args_is_help=True)
    app.add_typer(user_app, name="user")

    @user_app.command("create")
    def user_create(
        handle: str = typer.Argument(..., help="3-30 characters: letters, digits, underscores."),
        password: str = typer.Option(None, "--password", help="At least 8 characters (default: a random one, "
                                     "printed)."),
        admin: bool = typer.Option(False, "--admin", help="Make the account an admin."),
        email: str = typer.Option(None, "--email", help="Email address (optional, unique)."),
    ) -> None:
        """Create an account and print an API token for it."""
        from townsquare.social.accounts import create_account
        from townsquare.social.tokens import issue_token

        generated, password = password is None, _new_password(password)
        with _database_session("create the account", " (did you run townsquare migrate?)") as session:
            account = create_account(session, handle, password, email=email, is_admin=admin)
            token = issue_token(session, account, kind="api", name="cli")
            handle = account.handle
        typer.echo(f"created @{handle}{' (admin)' if admin else ''}")
        if generated:
            typer.echo(f"password: {password}")
        typer.echo(f"token: {token}")

    @user_app.command("set-password")
    def user_set_password(
        handle: str = typer.Argument(..., help="The account's handle."),
        password: str = typer.Option(None, "--password", help="At least 8 characters (default: a random one, "
                                     "printed)."),
    ) -> None:
        """Set an account's password (when someone is locked out); every sign-in of the account ends."""
        from townsquare.social.accounts import get_account_by_handle, set_password

        generated, password = password is None, _new_password(password)
        with _database_session("set the password") as session:
            account = get_account_by_handle(session, handle)
            ended = set_password(session, account, password)
            handle = account.handle
        typer.echo(f"new password set for @{handle}; {ended} sign-in(s) ended")
        if generated:
            typer.echo(f"password: {password}")

    @user_app.command("delete")
    def user_delete(
        handle: str = typer.Argument(..., help="The account's handle."),
        now: bool = typer.Option(False, "--now", help="Remove the content at once (no grace period)."),
    ) -> None:
        """Delete an account: hidden at once; its content is removed after the grace period
        (account_deletion_grace_days), or at once with --now."""
        from datetime import timedelta

        from sqlalchemy import select

        from townsquare.db.engine import Database
        from townsquare.errors import TownsquareError
        from townsquare.social.lifecycle import purge_account, schedule_deletion
        from townsquare.social.models import Account

        settings = _settings()
        db = Database(settings.sqlalchemy_url)
        try:
            with db.session() as session:
                account = session.scalar(select(Account).where(Account.handle == handle.lstrip("@").lower()))
                if account is None:
                    raise fail(f"no account @{handle.lstrip('@')}")
                grace = timedelta(0) if now else timedelta(days=settings.account_deletion_grace_days)
                due = schedule_deletion(session, account, grace=grace)
                report = purge_account(session, account, settings.media_store) if now else None
        except TownsquareError as exc:
            raise fail(exc.message)
        finally:
            db.dispose()
        if report is not None:
            typer.echo(f"@{handle.lstrip('@')} deleted: {report.posts} posts, {report.comments} comments, "
                       f"{report.media_files} media files and {sum(report.rows.values())} other rows removed")
        else:
            typer.echo(f"@{handle.lstrip('@')} is hidden; its content will be removed on {due:%Y-%m-%d %H:%M} UTC "
                       "(signing in before then cancels)")

    @user_app.command("purge")
    def user_purge() -> None:
        """Remove the content of every account whose deletion grace period is over (the worker does
        this every 10 minutes)."""
        from townsquare.db.engine import Database
        from townsquare.social.lifecycle import purge_due

        settings = _settings()
        db = Database(settings.sqlalchemy_url)
        try:
            reports = purge_due(db.session, settings.media_store)
        finally:
            db.dispose()
        typer.echo(f"{len(reports)} account(s) purged")
