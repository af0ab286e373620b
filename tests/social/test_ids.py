"""``in_ids``: ``column IN (ids)`` with one bound JSON array, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from feed import factories as f
from sqlalchemy import bindparam, select

from townsquare.db.ids import id_list, in_ids
from townsquare.social.models import Account, Post

POSTS_BY_ID = select(Post.id).where(in_ids(Post.id)).order_by(Post.id)


def test_selects_exactly_the_listed_ids(db):
    with db.session() as s:
        author = f.account(s)
        posts = [f.post(s, author) for _ in range(5)]
        ids = [p.id for p in posts]
        assert list(s.scalars(POSTS_BY_ID, {"ids": id_list([ids[3], ids[1], 10**9])})) == [ids[1], ids[3]]
        assert list(s.scalars(POSTS_BY_ID, {"ids": id_list([])})) == []
        # one statement, any length: the same compiled SQL serves 1 id and 2,000
        many = ids + list(range(10**9, 10**9 + 2000))
        assert list(s.scalars(POSTS_BY_ID, {"ids": id_list(many)})) == ids


def test_combines_with_other_criteria_and_named_parameters(db):
    with db.session() as s:
        a, b = f.account(s), f.account(s)
        pa, pb = f.post(s, a), f.post(s, b)
        q = (select(Post.id).join(Account, Account.id == Post.author_id)
             .where(in_ids(Post.id, "posts"), in_ids(Account.id, "authors"), Post.kind == bindparam("kind")))
        got = s.scalars(q, {"posts": id_list([pa.id, pb.id]), "authors": id_list([b.id]), "kind": "text"})
        assert list(got) == [pb.id]


def test_id_list_accepts_only_integers():
    assert id_list({3, 1}) in ("[1, 3]", "[3, 1]")
    assert id_list(["7"]) == "[7]"
    with pytest.raises(ValueError):
        id_list(["1) OR 1=1 --"])


def test_sqlite_plans_id_lookups_not_a_scan(tmp_path):
    """The IN must stay visible to SQLite's planner (a typed boolean would compile to ``(...) = 1``
    and scan the table)."""
    from sqlalchemy import text

    from townsquare.db import migrate
    from townsquare.db.engine import Database

    url = f"sqlite:///{tmp_path / 'plan.db'}"
    migrate.upgrade(url)
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            sql = str(POSTS_BY_ID.compile(dialect=conn.dialect))
            plan = " ".join(str(r) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql.replace("?", ":ids")),
                                                          {"ids": "[1]"}))
        assert "SCAN posts" not in plan and "posts" in plan, plan
    finally:
        db.dispose()
