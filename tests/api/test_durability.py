"""kill -9 of the real server during sustained writes loses no acknowledged write (SQLite and
PostgreSQL), and a clean stop writes what waited in the event buffer. Three rounds each run as
``townsquare bench durability``; one round here."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from townsquare.bench import concurrency as cc
from townsquare.bench.server import ServerProcess


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def scratch(request):
    if request.param == "postgres":
        from conftest import PG_ADMIN_URL, postgres_unreachable_reason

        reason = postgres_unreachable_reason()
        if reason:
            pytest.skip(reason)
        url = PG_ADMIN_URL
    else:
        url = ""
    with cc.scratch_database(request.param, url) as (db_url, data):
        people, posts = cc.seed_people(db_url, 6, posts_each=2)
        server = ServerProcess({"TOWNSQUARE_DATABASE_URL": db_url, "TOWNSQUARE_DATA_DIR": str(data),
                                "TOWNSQUARE_SECRET_KEY": "t", "TOWNSQUARE_AUTH_RATE_LIMIT_PER_MINUTE": "100000"})
        server.start()
        try:
            yield server, db_url, people, posts
        finally:
            server.stop()


def test_kill_9_loses_no_acknowledged_write(scratch):
    server, url, people, posts = scratch
    out = cc.durability_round(server, url, people, posts, write_seconds=2.0, clients=3)
    assert out["acknowledged"] > 10, out  # the round did write
    assert out["missing"] == 0 and out["integrity_ok"], out
    # The restarted server serves.
    assert httpx.get(server.base_url + f"/api/posts/{posts[0]}", headers=people[0].headers).status_code == 200


def test_a_clean_stop_writes_the_buffered_events(scratch):
    from townsquare.db.engine import Database
    from townsquare.social.models import Event

    server, url, people, posts = scratch
    me = people[0]
    with httpx.Client(base_url=server.base_url, headers=me.headers) as http:
        assert http.post("/api/events", json={"events": [
            {"action": "impression", "entity_id": str(p), "surface": "home", "position": i}
            for i, p in enumerate(posts)]}).status_code == 201
    server.stop()  # at once: the buffer's interval has not passed
    db = Database(url)
    try:
        with db.session() as s:
            n = s.scalar(select(func.count()).select_from(Event).where(Event.action == "impression",
                                                                       Event.actor_id == me.id))
    finally:
        db.dispose()
    assert n == len(posts)
