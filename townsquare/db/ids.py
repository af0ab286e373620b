"""``column IN (<many ids>)`` with one bound parameter, for the hot paths (the feed, the scorer).

SQLAlchemy's ``column.in_(ids)`` coerces every id into its own bound parameter when the statement
is built, and expands them again into the SQL text at every execution: on the feed's 600-id
candidate read that was ~1 ms of ~3 (measured in the git history of docs/benchmarks.md), and there are several such
reads a page. ``in_ids`` binds the
whole list as one JSON array instead, which the database unpacks itself (SQLite ``json_each``,
PostgreSQL ``json_array_elements_text``), so the statement is built and compiled once::

    POSTS_BY_ID = select(Post.id, Post.author_id).where(in_ids(Post.id, "ids"))
    session.execute(POSTS_BY_ID, {"ids": id_list(post_ids)})
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.visitors import InternalTraversal
from sqlalchemy.types import NullType


class InIds(ColumnElement[bool]):
    """``column IN (the integers of the JSON array bound as ``key``)``."""

    inherit_cache = True
    # Not Boolean: SQLite (no native booleans) would compile it as ``(... IN ...) = 1``, which
    # hides the IN from the planner (a table scan instead of id lookups).
    type = NullType()
    _traverse_internals = [("column", InternalTraversal.dp_clauseelement),
                           ("param", InternalTraversal.dp_clauseelement)]

    def __init__(self, column, key: str) -> None:
        self.column = column
        self.param = bindparam(key)


def in_ids(column, key: str = "ids") -> InIds:
    return InIds(column, key)


def id_list(ids: Iterable[int]) -> str:
    """The value to bind for ``in_ids``: the ids as a JSON array (each one an int, so nothing else
    can be smuggled into the array)."""
    return json.dumps([int(i) for i in ids])


@compiles(InIds, "sqlite")
def _in_ids_sqlite(element: InIds, compiler, **kw) -> str:
    return (f"{compiler.process(element.column, **kw)} IN "
            f"(SELECT value FROM json_each({compiler.process(element.param, **kw)}))")


@compiles(InIds)  # PostgreSQL (the only other database Townsquare runs on)
def _in_ids_postgresql(element: InIds, compiler, **kw) -> str:
    return (f"{compiler.process(element.column, **kw)} IN (SELECT CAST(value AS BIGINT) FROM "
            f"json_array_elements_text(CAST({compiler.process(element.param, **kw)} AS JSON)))")
