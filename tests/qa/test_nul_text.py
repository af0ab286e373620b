"""QA: text with a NUL character is refused with a 422 on every backend (PostgreSQL used to answer 500:
its text type cannot hold NUL), and nothing is written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from townsquare.errors import InvalidInput
from townsquare.social.models import Account, Comment, Post

NUL = "a\x00b"


@pytest.fixture
def people(client):
    made = {}
    for handle in ("nul_alice", "nul_bob"):
        response = client.post("/api/auth/signup", json={"handle": handle, "password": "correct horse"})
        assert response.status_code == 201, response.text
        body = response.json()
        made[handle] = (body["account"]["id"], {"Authorization": f"Bearer {body['token']}"})
    return made


def _count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_nul_in_request_text_is_a_422_not_a_500(client, db, people):
    alice_id, alice = people["nul_alice"]
    _, bob = people["nul_bob"]
    post_id = client.post("/api/posts", json={"text": "hello"}, headers=alice).json()["id"]
    comment_id = client.post(f"/api/posts/{post_id}/comments", json={"text": "hi"}, headers=bob).json()["id"]
    before = {m: _count(db, m) for m in (Account, Post, Comment)}
    requests = [
        ("POST", "/api/auth/signup", {"handle": "nul_carl", "password": "correct horse", "display_name": NUL}, {}),
        ("POST", "/api/auth/signin", {"login": NUL, "password": "correct horse"}, {}),
        ("PATCH", "/api/me", {"bio": NUL}, alice),
        ("POST", "/api/posts", {"text": NUL}, alice),
        ("POST", "/api/posts", {"kind": "link", "link_url": "https://example.org/", "link_title": NUL}, alice),
        ("PATCH", f"/api/posts/{post_id}", {"text": NUL}, alice),
        ("POST", f"/api/posts/{post_id}/comments", {"text": NUL}, bob),
        ("PATCH", f"/api/comments/{comment_id}", {"text": NUL}, bob),
        ("POST", "/api/conversations", {"recipient_id": alice_id, "text": NUL}, bob),
        ("POST", "/api/reports", {"target_type": "post", "target_id": post_id, "reason": "spam", "details": NUL}, bob),
        ("POST", "/api/assistant/memories", {"text": NUL}, bob),
        ("POST", "/api/studio/ais", {"name": NUL, "visibility": "public"}, alice),
        ("GET", "/api/accounts/lookup?handle=a%00b", None, bob),
        ("GET", "/api/search?q=a%00b&type=people", None, bob),
        ("GET", "/api/events/me?action=a%00b", None, bob),
        ("GET", "/api/studio/creators/a%00b/ais", None, bob),
        ("POST", "/v1/chat/completions", {"model": "creator/a\x00b", "messages": [{"role": "user", "content": "x"}]},
         bob),
    ]
    for method, path, body, headers in requests:
        response = client.request(method, path, json=body, headers=headers)
        assert response.status_code == 422, (method, path, response.status_code, response.text[:200])
        assert response.json()["error"]["code"] in ("invalid_text", "invalid_input"), (path, response.text)
    assert {m: _count(db, m) for m in (Account, Post, Comment)} == before
    assert client.get(f"/api/posts/{post_id}", headers=alice).json()["text"] == "hello"


def test_the_database_refuses_nul_text_on_every_backend(db):
    """The rule lives where text meets storage, so the CLI and the web forms get it too."""
    from townsquare.social import accounts

    with pytest.raises(InvalidInput):
        with db.session() as session:
            accounts.create_account(session, "nul_dora", None, display_name=NUL)
    assert _count(db, Account) == 0
