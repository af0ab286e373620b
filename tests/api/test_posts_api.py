"""Posts of every kind, edits, deletes, visibility, hashtags, mentions, and the open event."""

from __future__ import annotations

from sqlalchemy import select

from townsquare.social.models import Event, Hashtag, Notification, Post, PostHashtag


def _post(client, user, **body):
    response = client.post("/api/posts", headers=user.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()


def _upload(client, user, data, name="f"):
    response = client.post("/api/media", headers=user.headers, files={"file": (name, data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_create_each_kind(client, signup, png, mp4):
    ana = signup("ana")
    text = _post(client, ana, text="Hello #Town and #town again, #2026 is not a tag")
    assert text["kind"] == "text" and text["author"]["handle"] == "ana"
    assert text["hashtags"] == ["town"] and text["visibility"] == "public"
    images = [_upload(client, ana, png(color=(i, 0, 0))) for i in range(2)]
    photo = _post(client, ana, kind="photo", text="two pics", media_ids=images)
    assert [m["id"] for m in photo["media"]] == images and photo["media"][0]["kind"] == "image"
    video = _post(client, ana, kind="video", media_ids=[_upload(client, ana, mp4)])
    assert video["media"][0]["mime_type"] == "video/mp4"
    link = _post(client, ana, kind="link", link_url="https://example.org/a?b=1", link_title="Example")
    assert link["link_url"] == "https://example.org/a?b=1" and link["link_title"] == "Example"
    assert client.get("/api/me", headers=ana.headers).json()["post_count"] == 4


def test_invalid_posts_write_nothing(client, signup, png, mp4, rows):
    ana = signup("ana")
    bob = signup("bob")
    image = _upload(client, ana, png())
    video = _upload(client, ana, mp4)
    bobs_image = _upload(client, bob, png(color=(1, 2, 3)))
    cases = [
        ({"text": ""}, 422),
        ({"text": "x" * 5001}, 422),
        ({"kind": "poll", "text": "x"}, 422),
        ({"text": "hi", "visibility": "secret"}, 422),
        ({"kind": "photo", "media_ids": []}, 422),
        ({"kind": "photo", "media_ids": [image] * 2}, 422),
        ({"kind": "photo", "media_ids": [image, video]}, 422),
        ({"kind": "photo", "media_ids": [bobs_image]}, 403),
        ({"kind": "photo", "media_ids": ["999999"]}, 404),
        ({"kind": "photo", "media_ids": ["nope"]}, 422),
        ({"kind": "video", "media_ids": [image]}, 422),
        ({"kind": "link", "link_url": "javascript:alert(1)"}, 422),
        ({"kind": "link", "link_url": "ftp://example.org/x"}, 422),
        ({"kind": "link", "link_url": "https://"}, 422),
        ({"kind": "link"}, 422),
        ({"text": "hi", "media_ids": [image]}, 422),
        ({"text": "hi", "author_id": bob.id}, 422),
    ]
    for body, status in cases:
        response = client.post("/api/posts", headers=ana.headers, json=body)
        assert response.status_code == status, (body, response.text)
        assert set(response.json()) == {"error"}
    assert client.post("/api/posts", json={"text": "anonymous"}).status_code == 401
    assert rows(Post) == 0 and rows(Hashtag) == 0
    assert client.get("/api/me", headers=ana.headers).json()["post_count"] == 0


def test_edit_and_delete_only_by_author(client, signup, db):
    ana = signup("ana")
    bob = signup("bob")
    post = _post(client, ana, text="first #alpha")
    edited = client.patch(f"/api/posts/{post['id']}", headers=ana.headers, json={"text": "second #beta"})
    assert edited.status_code == 200 and edited.json()["hashtags"] == ["beta"] and edited.json()["edited_at"]
    with db.session() as session:
        tags = session.scalars(select(Hashtag.name).join(PostHashtag, PostHashtag.hashtag_id == Hashtag.id)).all()
    assert tags == ["beta"]
    assert client.patch(f"/api/posts/{post['id']}", headers=bob.headers, json={"text": "mine"}).status_code == 403
    assert client.patch(f"/api/posts/{post['id']}", headers=ana.headers, json={"text": "y" * 5001}).status_code == 422
    assert client.patch(f"/api/posts/{post['id']}", headers=ana.headers, json={}).status_code == 422
    assert client.delete(f"/api/posts/{post['id']}", headers=bob.headers).status_code == 403
    assert client.get(f"/api/posts/{post['id']}").json()["text"] == "second #beta"
    assert client.delete(f"/api/posts/{post['id']}", headers=ana.headers).status_code == 200
    assert client.get(f"/api/posts/{post['id']}").status_code == 404
    assert client.get(f"/api/posts/{post['id']}", headers=ana.headers).status_code == 404
    assert client.delete(f"/api/posts/{post['id']}", headers=ana.headers).status_code == 404
    assert client.get("/api/me", headers=ana.headers).json()["post_count"] == 0
    for bad in ("0", "abc", "99999999", "9" * 30):
        assert client.get(f"/api/posts/{bad}").status_code == 404


def test_followers_only_posts_reach_followers_only(client, signup, follow):
    ana, fan, stranger = signup("ana"), signup("fan"), signup("stranger")
    follow(fan, ana)
    public = _post(client, ana, text="for everyone")
    private = _post(client, ana, text="for followers", visibility="followers")
    for who, expected in ((ana, 200), (fan, 200), (stranger, 404), (None, 404)):
        headers = who.headers if who else {}
        assert client.get(f"/api/posts/{private['id']}", headers=headers).status_code == expected
    listing = lambda who: [p["id"] for p in client.get(  # noqa: E731
        f"/api/accounts/{ana.id}/posts", headers=who.headers if who else {}).json()["items"]]
    assert listing(fan) == [private["id"], public["id"]]
    assert listing(stranger) == [public["id"]] and listing(None) == [public["id"]]
    # Strangers cannot comment on, react to, or repost what they cannot see.
    assert client.post(f"/api/posts/{private['id']}/comments", headers=stranger.headers,
                       json={"text": "hi"}).status_code == 404
    assert client.post(f"/api/posts/{private['id']}/reaction", headers=stranger.headers).status_code == 404
    assert client.get(f"/api/posts/{private['id']}/comments", headers=stranger.headers).status_code == 404
    # Followers-only posts cannot be reposted (that would leak them).
    assert client.post(f"/api/posts/{private['id']}/repost", headers=fan.headers).status_code == 422
    # Turning public later makes it visible.
    client.patch(f"/api/posts/{private['id']}", headers=ana.headers, json={"visibility": "public"})
    assert client.get(f"/api/posts/{private['id']}", headers=stranger.headers).status_code == 200


def test_blocked_authors_are_invisible(client, signup, block, follow):
    ana, bob = signup("ana"), signup("bob")
    follow(bob, ana)
    post = _post(client, ana, text="hello")
    block(ana, bob)
    assert client.get(f"/api/posts/{post['id']}", headers=bob.headers).status_code == 404
    assert client.get(f"/api/accounts/{ana.id}/posts", headers=bob.headers).status_code == 404
    assert client.get(f"/api/accounts/{ana.id}", headers=bob.headers).status_code == 404
    assert client.get("/api/timeline/home", headers=bob.headers).json()["items"] == []
    assert client.get(f"/api/posts/{post['id']}").status_code == 200  # others still see it


def test_mentions_notify_those_who_can_see(client, signup, follow, db):
    ana, bob, _cy = signup("ana"), signup("bob"), signup("cy_")
    follow(bob, ana)
    _post(client, ana, text="hi @BOB and @cy_ and @nobody", visibility="followers")
    with db.session() as session:
        notes = session.execute(select(Notification.recipient_id, Notification.kind)).all()
    assert notes == [(int(bob.id), "mention")]  # cy_ does not follow ana, so is not told


def test_reading_a_post_logs_open_for_signed_in_people(client, signup, db):
    ana, bob = signup("ana"), signup("bob")
    post = _post(client, ana, text="hello")
    client.get(f"/api/posts/{post['id']}")
    client.get(f"/api/posts/{post['id']}", headers=bob.headers)
    client.app.state.services.events.flush()  # opens are written behind the request
    with db.session() as session:
        opens = session.execute(select(Event.actor_id, Event.entity_id).where(Event.action == "open")).all()
        authored = session.scalars(select(Event.entity_id).where(Event.action == "post")).all()
    assert opens == [(int(bob.id), int(post["id"]))]
    assert authored == [int(post["id"])]


def test_account_posts_are_paginated_stably(client, signup):
    ana = signup("ana")
    ids = [_post(client, ana, text=f"post {i}")["id"] for i in range(5)]
    first = client.get(f"/api/accounts/{ana.id}/posts", params={"limit": 2}).json()
    assert [p["id"] for p in first["items"]] == ids[::-1][:2]
    _post(client, ana, text="a newer one")  # arrives between two page reads
    second = client.get(f"/api/accounts/{ana.id}/posts", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = client.get(f"/api/accounts/{ana.id}/posts", params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [p["id"] for p in second["items"] + third["items"]] == ids[::-1][2:]
    assert third["next_cursor"] is None
    bad = client.get(f"/api/accounts/{ana.id}/posts", params={"cursor": "bogus"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_cursor"

