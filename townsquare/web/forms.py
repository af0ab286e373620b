"""Helpers for page forms: read fields, check CSRF, run a service in a savepoint, keep redirects local."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from fastapi import Depends
from starlette.datastructures import FormData, UploadFile

from townsquare.errors import InvalidInput, TownsquareError
from townsquare.web.context import Web, web_context

T = TypeVar("T")


async def checked_form(ctx: Web = Depends(web_context)) -> FormData:
    """Dependency: the submitted form after its CSRF token was checked (403 page otherwise)."""
    return await ctx.form()


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def flag(form: FormData, name: str) -> bool:
    return text(form, name) in ("1", "on", "true", "yes")


def optional_id(form_or_query, name: str) -> int | None:
    """An id from a form/query field: None when empty, InvalidInput when not a positive integer."""
    raw = form_or_query.get(name)
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or not _is_id(raw):
        raise InvalidInput(f"{name} must be an id")
    return int(raw)


def _is_id(raw: str) -> bool:
    """Plain ASCII digits that fit a 64-bit database id."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) < 2**63


def parse_path_id(raw: str, what: str) -> int:
    """Ids in page addresses: anything that is not a plain number is a 404, never a 500."""
    from townsquare.errors import NotFound

    if not _is_id(raw):
        raise NotFound(f"no such {what}")
    return int(raw)


def upload(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def read_upload(file: UploadFile, max_bytes: int) -> bytes:
    """The file's bytes, reading at most one byte past the limit (the service reports it as too large)."""
    return file.file.read(max_bytes + 1)


def attempt(ctx: Web, action: Callable[[], T]) -> tuple[T | None, TownsquareError | None]:
    """Run a service call in a savepoint: on a domain error nothing it wrote stays, and the page can
    render the error next to the form instead of failing."""
    try:
        with ctx.session.begin_nested():
            return action(), None
    except TownsquareError as exc:
        return None, exc


def start_param(raw: str | None) -> int:
    """The feed position of the first item on a page (for impression logging)."""
    if raw and raw.isascii() and raw.isdigit() and len(raw) < 7:
        return int(raw)
    return 0


def sentence(message: str) -> str:
    """Service messages are lower-case fragments; pages show them as sentences."""
    message = (message or "").strip()
    if not message:
        return "That didn't work."
    message = message[0].upper() + message[1:]
    return message if message[-1] in ".!?" else message + "."
