"""Admin pages: people (search, suspend, delete), suspended accounts, instance settings, and the
recommendation model (the active checkpoint, its metrics, "Train now"). The reports queue is in
``pages_explore.py``. Every route checks the admin flag; the rules live in ``social/moderation.py``,
``social/lifecycle.py``, ``social/instance.py`` and ``ops/train_now.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from starlette.datastructures import FormData

from townsquare.ops import train_now
from townsquare.social import instance, lifecycle, moderation
from townsquare.social.models import Account, Event, Report
from townsquare.web.context import Web, web_context
from townsquare.web.forms import attempt, checked_form, flag, parse_path_id, sentence, text
from townsquare.web.i18n import N_

router = APIRouter()

PAGE_SIZE = 30
NOTICES = {
    "suspended": N_("Account suspended: it cannot sign in and its content is hidden."),
    "unsuspended": N_("Account restored."),
    "deleted": N_("Account deleted: its content was removed."),
    "saved": N_("Settings saved."),
    "training": N_("Training started: the new model serves by itself once it is trained and checked."),
}


def _people_page(ctx: Web, *, which: str, q: str = "", cursor: str | None = None, error: str | None = None,
                 status: int = 200) -> Response:
    stmt = select(Account).where(Account.status == ("suspended" if which == "suspended" else "active"))
    q = q.strip().lstrip("@").lower()
    if q:
        stmt = stmt.where(Account.handle.contains(q, autoescape=True) | func.lower(Account.display_name).contains(
            q, autoescape=True))
    if cursor and cursor.isdigit():
        stmt = stmt.where(Account.id < int(cursor))
    people = list(ctx.session.scalars(stmt.order_by(Account.id.desc()).limit(PAGE_SIZE + 1)))
    more = len(people) > PAGE_SIZE
    people = people[:PAGE_SIZE]
    next_url = (f"/admin/{which}?q={quote(q)}&cursor={people[-1].id}" if more else None)
    reports = dict(ctx.session.execute(
        select(Report.target_account_id, func.count()).where(Report.status == "open",
                                                             Report.target_account_id.in_([p.id for p in people]))
        .group_by(Report.target_account_id)).all()) if people else {}
    return ctx.render("admin_people.html", status=status, people=people, which=which, q=q, next_url=next_url,
                      open_reports=reports, error=error,
                      notice=NOTICES.get(ctx.request.query_params.get("done", "")))


@router.get("/admin")
def admin_home(ctx: Web = Depends(web_context)) -> Response:
    ctx.require_admin()
    return ctx.redirect("/admin/people")


@router.get("/admin/people")
def people(ctx: Web = Depends(web_context), q: str = "", cursor: str | None = None) -> Response:
    ctx.require_admin()
    return _people_page(ctx, which="people", q=q, cursor=cursor)


@router.get("/admin/suspended")
def suspended(ctx: Web = Depends(web_context), q: str = "", cursor: str | None = None) -> Response:
    ctx.require_admin()
    return _people_page(ctx, which="suspended", q=q, cursor=cursor)


@router.post("/admin/people/{account_id}/{action}")
def act_on_person(account_id: str, action: str, ctx: Web = Depends(web_context),
                  form: FormData = Depends(checked_form)) -> Response:
    admin = ctx.require_admin()
    target_id = parse_path_id(account_id, "account")
    back = "suspended" if text(form, "from") == "suspended" else "people"

    def act():
        if action == "suspend":
            moderation.suspend_account(ctx.session, admin, target_id)
            return "suspended"
        if action == "unsuspend":
            moderation.unsuspend_account(ctx.session, admin, target_id)
            return "unsuspended"
        if action == "delete":
            target = ctx.session.get(Account, target_id)
            if target is None or target.status == "deleted":
                from townsquare.errors import NotFound

                raise NotFound("no such account")
            if target.id == admin.id:
                from townsquare.errors import InvalidInput

                raise InvalidInput("delete your own account from Settings → Account")
            if text(form, "confirm") != target.handle:
                from townsquare.errors import InvalidInput

                raise InvalidInput(f"type the handle ({target.handle}) to confirm the deletion")
            lifecycle.schedule_deletion(ctx.session, target, grace=timedelta(0))
            lifecycle.purge_account(ctx.session, target, ctx.request.app.state.settings.media_store)
            return "deleted"
        from townsquare.errors import NotFound

        raise NotFound("no such action")

    done, error = attempt(ctx, act)
    if error is not None:
        return _people_page(ctx, which=back, error=sentence(error.message), status=error.status)
    return ctx.redirect(f"/admin/{back}?done={done}")


# --- instance settings ----------------------------------------------------------------------------


@router.get("/admin/settings")
def settings_page(ctx: Web = Depends(web_context)) -> Response:
    ctx.require_admin()
    return ctx.render("admin_settings.html", values=instance.get_all(ctx.session), fields=instance.FIELDS,
                      notice=NOTICES.get(ctx.request.query_params.get("done", "")))


@router.post("/admin/settings")
def save_settings(ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    ctx.require_admin()
    changes = {}
    for key, field in instance.FIELDS.items():
        changes[key] = flag(form, key) if field.kind is bool else text(form, key)
    _, error = attempt(ctx, lambda: instance.update(ctx.session, changes))
    if error is not None:
        return ctx.render("admin_settings.html", status=error.status, values={**instance.get_all(ctx.session),
                                                                               **changes},
                          fields=instance.FIELDS, error=sentence(error.message))
    return ctx.redirect("/admin/settings?done=saved")


# --- the recommendation model ---------------------------------------------------------------------


def _time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC") if ts else ""


@router.get("/admin/model")
def model_page(request: Request, ctx: Web = Depends(web_context)) -> Response:
    from townsquare.rec import registry

    ctx.require_admin()
    settings = request.app.state.settings
    versions = registry.list_models(registry.rec_models_dir(settings))
    active = next((v for v in versions if v["active"]), None)
    run = train_now.status(settings)
    events = int(ctx.session.scalar(select(func.count()).select_from(Event)) or 0)
    scorer = ctx.services.feed.scorer
    return ctx.render("admin_model.html", versions=versions[:10], active=active, run=run, events=events,
                      started=_time(run.started_at), finished=_time(run.finished_at),
                      serving=getattr(scorer, "version", None) if scorer is not None else None,
                      train_settings=instance.get_all(ctx.session),
                      notice=NOTICES.get(request.query_params.get("done", "")))


@router.post("/admin/model/train")
def train(request: Request, ctx: Web = Depends(web_context), form: FormData = Depends(checked_form)) -> Response:
    ctx.require_admin()
    values = instance.get_all(ctx.session)
    train_now.start(request.app.state.settings, values["train_epochs"], values["train_max_minutes"])
    return ctx.redirect("/admin/model?done=training")
