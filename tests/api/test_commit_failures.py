"""A write that fails at commit time (after the route returned) never reaches the client as a 200."""

from __future__ import annotations

from fastapi import Depends
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from townsquare.server.deps import get_session
from townsquare.social.models import Account


def test_commit_failure_becomes_a_json_error_and_nothing_is_written(app, db):
    @app.post("/_test/commit-fails")
    def commit_fails(session=Depends(get_session)):
        session.add(Account(handle="dup"))
        session.add(Account(handle="dup"))  # the unique index fails only when the request commits
        return {"ok": True}

    @app.post("/_test/fine")
    def fine(session=Depends(get_session)):
        session.add(Account(handle="fine"))
        return {"ok": True}

    @app.get("/_test/stream")
    def stream():
        return StreamingResponse(iter([b"data: 1\n\n", b"data: 2\n\n"]), media_type="text/event-stream")

    from fastapi.testclient import TestClient

    with TestClient(app) as client:
        failed = client.post("/_test/commit-fails")
        assert failed.status_code == 409 and failed.json()["error"]["code"] == "conflict"
        assert client.post("/_test/fine").json() == {"ok": True}
        streamed = client.get("/_test/stream")
        assert streamed.status_code == 200 and streamed.text == "data: 1\n\ndata: 2\n\n"
    with db.session() as session:
        assert session.scalars(select(Account.handle)).all() == ["fine"]
        assert session.scalar(select(func.count()).select_from(Account)) == 1
