"""Targets a request names indirectly: whom or which post a side effect is about, when the person gave
no @handle or post number the action can use.

The side effect itself always comes from the person's own request (the first round of a turn) and
always waits for their confirmation, which shows the resolved target. What is resolved here, always
among what the person may see:

- a person named by name ("follow Ana Lopez"): the one account whose display name or handle is that
  name (no guess when several match);
- the author of a post the request names ("follow whoever wrote post 12");
- a post or a person found by a read in the same turn ("search jazz and like the top result",
  "follow the person who posted the most about cooking"): the first post the turn's tools returned,
  or the author who appears most among them (the first such on a tie).
"""

from __future__ import annotations

import re
from collections import Counter

from sqlalchemy import func, not_, or_, select

from townsquare.assistant.tools import ToolContext, ToolResult
from townsquare.errors import TownsquareError
from townsquare.social import posts
from townsquare.social.blocks import either_way_clause
from townsquare.social.models import Account

# The argument each side effect targets.
TARGET_ARGUMENT = {"follow": "handle", "unfollow": "handle", "react_to_post": "post_id", "comment_on_post": "post_id"}
_POST_NUMBER = re.compile(r"(?:\bpost\s*(?:#|no\.?|number)?\s*|#)(\d{1,12})\b", re.IGNORECASE)
_NAME = re.compile(r"^[^\W\d_][\w .'-]{1,60}$")


def _result_posts(results: list[ToolResult]) -> list[dict]:
    """Posts the turn's tools returned, in the order they returned them."""
    found: list[dict] = []
    for result in results:
        data = result.data or {}
        items = list(data.get("posts") or []) + list(data.get("highlights") or [])
        if data.get("post"):
            items.append(data["post"])
        found += [item for item in items if isinstance(item, dict) and item.get("id")]
    return found


def _author_handle(item: dict) -> str | None:
    author = item.get("author")
    if isinstance(author, dict):
        author = author.get("handle")
    return author.lstrip("@") if isinstance(author, str) and author.strip("@") else None


def _named_post_author(ctx: ToolContext, request: str) -> str | None:
    numbers = _POST_NUMBER.findall(request)
    if len(set(numbers)) != 1:
        return None
    try:
        return posts.get_post(ctx.session, ctx.account, int(numbers[0])).author.handle
    except TownsquareError:
        return None


def _account_named(ctx: ToolContext, name: str) -> str | None:
    name = name.strip().lstrip("@")
    if not _NAME.match(name):
        return None
    low = name.lower()
    rows = ctx.session.scalars(select(Account.handle).where(
        Account.status == "active", not_(either_way_clause(ctx.account.id, Account.id)),
        or_(func.lower(Account.display_name) == low, Account.handle == low.replace(" ", "_"))).limit(2)).all()
    return rows[0] if len(rows) == 1 else None


def resolve(ctx: ToolContext, tool: str, arguments: dict, request: str, results: list[ToolResult]) -> dict | None:
    """``arguments`` with the target filled in from what the request refers to, or None."""
    name = TARGET_ARGUMENT.get(tool)
    if name is None:
        return None
    found = _result_posts(results)
    if name == "handle":
        value = (_account_named(ctx, str(arguments.get("handle") or "")) or _named_post_author(ctx, request))
        if value is None and found:
            authors = [h for h in (_author_handle(item) for item in found) if h]
            if authors:
                counts = Counter(authors)
                value = max(authors, key=lambda h: (counts[h], -authors.index(h)))
    else:
        value = str(found[0]["id"]) if found else None
    if value is None or str(arguments.get(name) or "").lstrip("@") == value:
        return None
    return {**arguments, name: value}
