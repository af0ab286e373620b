"""Listing notifications, unread counts, marking read."""

from __future__ import annotations

from townsquare.social.models import Account, Block, Notification, Post
from townsquare.social.notifications import notify

from .helpers import assert_error


def _like_note(world, actor, recipient, post_id):
    with world.db.session() as s:
        assert notify(s, recipient.id, "like", actor_id=actor.id, post_id=post_id) is not None


def test_list_newest_first_with_actor_and_post(client, world):
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    post_id = world.post(alice, "my post")
    client.post(f"/api/accounts/{alice.sid}/follow", headers=bob.headers)
    _like_note(world, carol, alice, post_id)
    page = client.get("/api/notifications", headers=alice.headers).json()
    assert [(n["kind"], n["actor"]["handle"]) for n in page["items"]] == [("like", "carol"), ("follow", "bob")]
    assert page["items"][0]["post"]["id"] == str(post_id) and page["items"][0]["post"]["text"] == "my post"
    assert page["items"][1]["post"] is None
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json() == {"unread_count": 2}

    first = client.get("/api/notifications", params={"limit": 1}, headers=alice.headers).json()
    second = client.get("/api/notifications", params={"limit": 1, "cursor": first["next_cursor"]},
                        headers=alice.headers).json()
    assert [n["kind"] for n in first["items"] + second["items"]] == ["like", "follow"]
    assert second["next_cursor"] is None
    # nobody else sees them
    assert client.get("/api/notifications", headers=bob.headers).json()["items"] == []


def test_mark_one_and_all_read(client, world):
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    client.post(f"/api/accounts/{alice.sid}/follow", headers=bob.headers)
    client.post(f"/api/accounts/{alice.sid}/follow", headers=carol.headers)
    items = client.get("/api/notifications", headers=alice.headers).json()["items"]
    assert_error(client.post(f"/api/notifications/{items[0]['id']}/read", headers=bob.headers), 404)
    assert_error(client.post("/api/notifications/abc/read", headers=alice.headers), 404)
    r = client.post(f"/api/notifications/{items[0]['id']}/read", headers=alice.headers)
    assert r.status_code == 200 and r.json()["read_at"] is not None
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json()["unread_count"] == 1
    unread = client.get("/api/notifications", params={"unread": "true"}, headers=alice.headers).json()["items"]
    assert [n["id"] for n in unread] == [items[1]["id"]]
    assert client.post("/api/notifications/read_all", headers=alice.headers).json() == {"marked": 1}
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json()["unread_count"] == 0
    assert_error(client.get("/api/notifications"), 401)


def test_hidden_actors_and_posts_do_not_show(client, world):
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol")
    client.post(f"/api/accounts/{alice.sid}/follow", headers=bob.headers)
    post_id = world.post(alice, "soon removed")
    _like_note(world, carol, alice, post_id)
    client.post(f"/api/accounts/{bob.sid}/block", headers=alice.headers)  # alice blocks bob afterwards
    with world.db.session() as s:
        s.get(Post, post_id).removed_at = s.get(Account, alice.id).created_at
    items = client.get("/api/notifications", headers=alice.headers).json()["items"]
    assert [n["actor"]["handle"] for n in items] == ["carol"]
    assert items[0]["post"] is None  # the post was removed by a moderator
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json()["unread_count"] == 1
    assert world.count(Notification) == 2


def test_notify_skips_self_and_blocked(world):
    alice, bob = world.user("alice"), world.user("bob")
    with world.db.session() as s:
        assert notify(s, alice.id, "follow", actor_id=alice.id) is None
        s.add(Block(blocker_id=alice.id, blocked_id=bob.id))
        s.flush()
        assert notify(s, alice.id, "follow", actor_id=bob.id) is None
        assert notify(s, bob.id, "follow", actor_id=alice.id) is None
    assert world.count(Notification) == 0


def test_muted_actors_are_quiet(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    client.post(f"/api/accounts/{alice.sid}/follow", headers=bob.headers)
    client.post(f"/api/accounts/{bob.sid}/mute", headers=alice.headers)
    assert client.get("/api/notifications", headers=alice.headers).json()["items"] == []
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json()["unread_count"] == 0
    client.delete(f"/api/accounts/{bob.sid}/mute", headers=alice.headers)
    assert len(client.get("/api/notifications", headers=alice.headers).json()["items"]) == 1
