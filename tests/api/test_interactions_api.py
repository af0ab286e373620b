"""Comments (threads), reactions (one per person, replaceable), reposts (once), with counters,
notifications and events."""

from __future__ import annotations

from sqlalchemy import select

from townsquare.social.models import Comment, Event, Notification, Reaction, Repost


def _post(client, user, **body):
    response = client.post("/api/posts", headers=user.headers, json={"text": "a post", **body})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_comment_threads(client, signup, db):
    ana, bob, cy = signup("ana"), signup("bob"), signup("cyd")
    pid = _post(client, ana)
    top = client.post(f"/api/posts/{pid}/comments", headers=bob.headers, json={"text": "first!"})
    assert top.status_code == 201
    top_id = top.json()["id"]
    reply = client.post(f"/api/posts/{pid}/comments", headers=cy.headers, json={"text": "reply", "parent_id": top_id})
    assert reply.status_code == 201 and reply.json()["parent_id"] == top_id
    second = client.post(f"/api/posts/{pid}/comments", headers=ana.headers, json={"text": "thanks"}).json()
    thread = client.get(f"/api/posts/{pid}/comments").json()
    assert [c["id"] for c in thread["items"]] == [top_id, second["id"]]
    assert [r["text"] for r in thread["items"][0]["replies"]] == ["reply"]
    assert client.get(f"/api/posts/{pid}").json()["comment_count"] == 3
    page = client.get(f"/api/posts/{pid}/comments", params={"limit": 1}).json()
    rest = client.get(f"/api/posts/{pid}/comments", params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [c["id"] for c in page["items"] + rest["items"]] == [top_id, second["id"]]
    with db.session() as session:
        notes = sorted(session.execute(select(Notification.recipient_id, Notification.kind)).all())
        events = session.scalars(select(Event.action).where(Event.action == "comment")).all()
    assert notes == sorted([(int(ana.id), "comment"), (int(ana.id), "comment"), (int(bob.id), "reply")])
    assert len(events) == 3


def test_comment_bad_input_and_permissions(client, signup, rows):
    ana, bob, cy = signup("ana"), signup("bob"), signup("cyd")
    pid = _post(client, ana)
    other_pid = _post(client, ana, text="another")
    cid = client.post(f"/api/posts/{pid}/comments", headers=bob.headers, json={"text": "hi"}).json()["id"]
    cases = [
        (f"/api/posts/{pid}/comments", {"text": ""}, 422),
        (f"/api/posts/{pid}/comments", {"text": "x" * 5001}, 422),
        (f"/api/posts/{other_pid}/comments", {"text": "x", "parent_id": cid}, 422),
        (f"/api/posts/{pid}/comments", {"text": "x", "parent_id": "424242"}, 422),
        ("/api/posts/424242/comments", {"text": "x"}, 404),
    ]
    for url, body, status in cases:
        response = client.post(url, headers=cy.headers, json=body)
        assert response.status_code == status, (url, body, response.text)
    assert rows(Comment) == 1
    assert client.patch(f"/api/comments/{cid}", headers=cy.headers, json={"text": "mine"}).status_code == 403
    assert client.patch(f"/api/comments/{cid}", headers=ana.headers, json={"text": "mine"}).status_code == 403
    edited = client.patch(f"/api/comments/{cid}", headers=bob.headers, json={"text": "edited"})
    assert edited.status_code == 200 and edited.json()["text"] == "edited" and edited.json()["edited_at"]
    assert client.delete(f"/api/comments/{cid}", headers=cy.headers).status_code == 403
    # The post's author may delete comments on their post.
    assert client.delete(f"/api/comments/{cid}", headers=ana.headers).status_code == 200
    assert client.delete(f"/api/comments/{cid}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/posts/{pid}/comments").json()["items"] == []
    assert client.get(f"/api/posts/{pid}").json()["comment_count"] == 0


def test_deleted_comment_with_replies_stays_as_placeholder(client, signup):
    ana, bob = signup("ana"), signup("bob")
    pid = _post(client, ana)
    top = client.post(f"/api/posts/{pid}/comments", headers=bob.headers, json={"text": "top"}).json()["id"]
    client.post(f"/api/posts/{pid}/comments", headers=ana.headers, json={"text": "re", "parent_id": top})
    client.delete(f"/api/comments/{top}", headers=bob.headers)
    [node] = client.get(f"/api/posts/{pid}/comments").json()["items"]
    assert node["deleted"] is True and node["text"] == "" and node["author"] is None
    assert node["replies"][0]["text"] == "re"


def test_reactions_set_replace_remove(client, signup, rows, db):
    ana, bob = signup("ana"), signup("bob")
    pid = _post(client, ana)
    first = client.post(f"/api/posts/{pid}/reaction", headers=bob.headers)
    assert first.status_code == 201
    assert first.json()["like_count"] == 1 and first.json()["viewer"]["reaction"] == "like"
    duplicate = client.post(f"/api/posts/{pid}/reaction", headers=bob.headers, json={"kind": "like"})
    assert duplicate.status_code == 409 and duplicate.json()["error"]["code"] == "already_reacted"
    replaced = client.post(f"/api/posts/{pid}/reaction", headers=bob.headers, json={"kind": "love"})
    assert replaced.status_code == 200 and replaced.json()["viewer"]["reaction"] == "love"
    assert replaced.json()["like_count"] == 1
    assert client.post(f"/api/posts/{pid}/reaction", headers=bob.headers, json={"kind": "meh"}).status_code == 422
    assert client.post("/api/posts/777/reaction", headers=bob.headers).status_code == 404
    assert rows(Reaction) == 1
    removed = client.delete(f"/api/posts/{pid}/reaction", headers=bob.headers)
    assert removed.status_code == 200 and removed.json()["like_count"] == 0
    assert removed.json()["viewer"]["reaction"] is None
    assert client.delete(f"/api/posts/{pid}/reaction", headers=bob.headers).status_code == 404
    with db.session() as session:
        actions = session.scalars(select(Event.action).where(Event.actor_id == int(bob.id)).order_by(Event.id)).all()
        likes = session.scalars(select(Notification.kind).where(Notification.kind == "like")).all()
    assert actions == ["like", "like", "unlike"] and likes == ["like"]


def test_reposts_once_and_undo(client, signup, rows):
    ana, bob = signup("ana"), signup("bob")
    pid = _post(client, ana)
    done = client.post(f"/api/posts/{pid}/repost", headers=bob.headers)
    assert done.status_code == 201 and done.json()["repost_count"] == 1 and done.json()["viewer"]["reposted"]
    again = client.post(f"/api/posts/{pid}/repost", headers=bob.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_reposted"
    assert rows(Repost) == 1
    undone = client.delete(f"/api/posts/{pid}/repost", headers=bob.headers)
    assert undone.status_code == 200 and undone.json()["repost_count"] == 0
    assert client.delete(f"/api/posts/{pid}/repost", headers=bob.headers).status_code == 404
    assert client.post(f"/api/posts/{pid}/repost").status_code == 401
