"""The shared cursor helper: round trips, bad cursors, page assembly, limit bounds over HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from townsquare.api.pagination import (
    Page,
    PageQuery,
    decode_cursor,
    encode_cursor,
    make_page,
    page_query,
    ts_id_key,
)
from townsquare.errors import InvalidInput
from townsquare.server.errors import install_error_handlers


def test_cursor_round_trip_keeps_types():
    ts = datetime(2026, 11, 29, 3, 0, 0, 123456, tzinfo=UTC)
    cursor = encode_cursor({"ts": ts, "id": 42})
    assert "=" not in cursor and "{" not in cursor
    assert decode_cursor(cursor, "ts", "id", types={"ts": datetime, "id": int}) == {"ts": ts, "id": 42}
    assert PageQuery(cursor, 20).ts_id() == (ts, 42)
    assert PageQuery(None, 20).ts_id() is None


@pytest.mark.parametrize("bad", ["%%%", "bm90IGpzb24", encode_cursor({"id": "x"}), encode_cursor({"other": 1}),
                                 encode_cursor({"id": True}), "A" * 600])
def test_bad_cursors_are_invalid_input(bad):
    with pytest.raises(InvalidInput):
        decode_cursor(bad, "id", types={"id": int})


def test_make_page_sets_next_cursor_only_when_more():
    rows = [SimpleNamespace(id=i, created_at=datetime(2026, 1, 1, tzinfo=UTC)) for i in (5, 4, 3)]
    page = make_page(rows, 2, key=ts_id_key, render=lambda r: r.id)
    assert page["items"] == [5, 4]
    assert PageQuery(page["next_cursor"], 2).ts_id()[1] == 4
    last = make_page(rows[:2], 2, key=ts_id_key, render=lambda r: r.id)
    assert last == {"items": [5, 4], "next_cursor": None}


def _tiny_app() -> TestClient:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/things", response_model=Page[int])
    def things(page: PageQuery = Depends(page_query)):
        after = page.last_id() or 1000
        rows = list(range(after - 1, max(after - 1 - (page.limit + 1), 0), -1))
        return make_page([SimpleNamespace(id=r) for r in rows], page.limit, key=lambda r: {"id": r.id},
                         render=lambda r: r.id)

    return TestClient(app)


def test_limit_bounds_and_bad_cursor_over_http():
    client = _tiny_app()
    first = client.get("/things").json()
    assert len(first["items"]) == 20 and first["items"][0] == 999
    second = client.get("/things", params={"cursor": first["next_cursor"], "limit": 5}).json()
    assert second["items"] == [979, 978, 977, 976, 975]
    for params in ({"limit": 0}, {"limit": 101}, {"cursor": "garbage!"}):
        response = client.get("/things", params=params)
        assert response.status_code == 422
        assert response.json()["error"]["code"] in ("invalid_input", "invalid_cursor")
