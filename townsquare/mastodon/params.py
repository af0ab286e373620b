"""Parameters as Mastodon clients send them: a JSON body, a form (``application/x-www-form-urlencoded``
or multipart), or the query string, with Rails-style names (``media_ids[]=1``, ``poll[options][]=a``,
``home[last_read_id]=5``). ``body`` reads any of them into one dict; the getters check types and
sizes and raise 422 (``InvalidInput``), never a 500."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import Request
from starlette.datastructures import UploadFile

from townsquare.errors import InvalidInput

MAX_JSON_BYTES = 1024 * 1024
_KEY_RE = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


def _assign(out: dict, key: str, value: Any) -> None:
    """``a=1`` -> ``{"a": "1"}``; ``a[]=1`` -> ``{"a": ["1"]}``; ``a[b]=1`` -> ``{"a": {"b": "1"}}``."""
    match = _KEY_RE.match(key)
    if not match:
        out[key] = value
        return
    parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
    target = out
    for part, following in zip(parts, parts[1:], strict=False):
        if following == "":  # name[]: a list
            items = target.get(part)
            if not isinstance(items, list):
                items = target[part] = []
            items.append(value)
            return
        child = target.get(part)
        if not isinstance(child, dict):
            child = target[part] = {}
        target = child
    target[parts[-1]] = value


def flatten(items) -> dict:
    out: dict = {}
    for key, value in items:
        _assign(out, key, value)
    return out


async def body(request: Request) -> dict:
    """Dependency: the request's parameters (query string, then the body on top), as one dict."""
    params = flatten(request.query_params.multi_items())
    if request.method in ("GET", "HEAD", "DELETE") and not request.headers.get("content-length", "0").strip("0"):
        return params
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        raw = await request.body()
        if len(raw) > MAX_JSON_BYTES:
            raise InvalidInput("the JSON body is too large")
        if raw.strip():
            try:
                data = json.loads(raw)
            except (ValueError, UnicodeDecodeError):
                raise InvalidInput("the body is not valid JSON")
            if not isinstance(data, dict):
                raise InvalidInput("the JSON body must be an object")
            params.update(data)
    elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        try:
            form = await request.form()
        except Exception:  # a broken multipart body
            raise InvalidInput("the form body could not be read")
        params.update(flatten(form.multi_items()))
    return params


def text(params: dict, name: str, *, max_len: int = 10_000, default: str | None = None) -> str | None:
    value = params.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"{name} must be a string")
    value = str(value)
    if len(value) > max_len:
        raise InvalidInput(f"{name} is longer than {max_len} characters")
    if "\x00" in value:
        raise InvalidInput(f"{name} contains a NUL character")
    return value


def boolean(params: dict, name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).lower() in ("1", "true", "on", "yes", "t"):
        return True
    if isinstance(value, int | str) and str(value).lower() in ("0", "false", "off", "no", "f"):
        return False
    raise InvalidInput(f"{name} must be true or false")


def strings(params: dict, name: str, *, max_items: int = 100, max_len: int = 200) -> list[str]:
    """A list parameter (``name[]=a&name[]=b``, a JSON list, or one value)."""
    value = params.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        value = [value]
    if len(value) > max_items:
        raise InvalidInput(f"{name} has more than {max_items} items")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise InvalidInput(f"{name} must be a list of strings")
        item = str(item)
        if len(item) > max_len:
            raise InvalidInput(f"an item of {name} is too long")
        out.append(item)
    return out


def upload(params: dict, name: str) -> UploadFile | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, UploadFile):
        raise InvalidInput(f"{name} must be a file (multipart/form-data)")
    return value


def integer(params: dict, name: str, default: int, lo: int, hi: int) -> int:
    """An integer clamped to ``lo..hi`` (Mastodon clamps limits rather than refusing them)."""
    value = params.get(name)
    if value is None or value == "":
        return default
    try:
        number = int(str(value))
    except ValueError:
        raise InvalidInput(f"{name} must be an integer")
    return max(lo, min(hi, number))
