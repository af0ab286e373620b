"""A route's writes are committed before its response leaves: a client acting on the response at
once (a browser following the 303 after sign-up) must find them. Found by the browser test: the
session cookie of a new account was sometimes unknown on the very next request."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select


def test_writes_are_visible_when_the_response_starts(app, db):
    from fastapi import Depends

    from townsquare.server.deps import get_session
    from townsquare.social.accounts import create_account
    from townsquare.social.models import Account

    @app.post("/_test/write")
    def write(session=Depends(get_session)) -> dict:
        create_account(session, "written", None)
        return {"ok": True}

    seen_at_start: list[int] = []

    def count_accounts() -> int:
        with db.engine.connect() as conn:  # another connection: sees only committed rows
            return conn.execute(select(func.count()).select_from(Account)).scalar_one()

    async def run() -> None:
        messages = [{"type": "http.request", "body": b"", "more_body": False}]

        async def receive():
            return messages.pop(0) if messages else {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                seen_at_start.append(message["status"])
                seen_at_start.append(count_accounts())

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
                 "scheme": "http", "path": "/_test/write", "raw_path": b"/_test/write", "query_string": b"",
                 "headers": [(b"host", b"testserver")], "client": ("127.0.0.1", 5000),
                 "server": ("testserver", 80), "root_path": ""}
        await app(scope, receive, send)

    asyncio.run(run())
    assert seen_at_start == [200, 1]


def test_a_failing_route_writes_nothing(app, db, client):
    from fastapi import Depends

    from townsquare.errors import InvalidInput
    from townsquare.server.deps import get_session
    from townsquare.social.accounts import create_account
    from townsquare.social.models import Account

    @app.post("/_test/fail")
    def fail(session=Depends(get_session)) -> dict:
        create_account(session, "half_done", None)
        session.flush()
        raise InvalidInput("changed my mind")

    assert client.post("/_test/fail").status_code == 422
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Account)) == 0
