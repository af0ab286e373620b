"""Follows, follow requests, blocks, mutes and relationships through the native API."""

from __future__ import annotations

from sqlalchemy import select

from townsquare.social.models import Account, Block, Event, Follow, FollowRequest, Mute, Notification

from .helpers import assert_error


def _counts(world, user) -> tuple[int, int]:
    account = world.account(user)
    return account.follower_count, account.following_count


def _events(world, actor, action):
    with world.db.session() as s:
        return list(s.scalars(select(Event).where(Event.actor_id == actor.id, Event.action == action)))


def test_follow_public_account_now_with_counts_event_and_notification(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    r = client.post(f"/api/accounts/{bob.sid}/follow", headers=alice.headers)
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "following"
    assert r.json()["relationship"]["following"] is True
    assert _counts(world, bob) == (1, 0) and _counts(world, alice) == (0, 1)
    [event] = _events(world, alice, "follow")
    assert (event.entity_type, event.entity_id) == ("account", bob.id)
    assert world.count(Notification, recipient_id=bob.id, kind="follow") == 1

    rel = client.get(f"/api/accounts/{alice.sid}/relationship", headers=bob.headers).json()
    assert rel["followed_by"] is True and rel["following"] is False

    r = client.delete(f"/api/accounts/{bob.sid}/follow", headers=alice.headers)
    assert r.status_code == 200 and r.json()["state"] == "unfollowed"
    assert _counts(world, bob) == (0, 0) and _counts(world, alice) == (0, 0)
    assert len(_events(world, alice, "unfollow")) == 1


def test_follow_errors_are_clear_and_write_nothing(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    assert_error(client.post(f"/api/accounts/{alice.sid}/follow", headers=alice.headers), 422)
    assert_error(client.post("/api/accounts/999999/follow", headers=alice.headers), 404)
    assert_error(client.post("/api/accounts/not-an-id/follow", headers=alice.headers), 404)
    assert_error(client.post(f"/api/accounts/{bob.sid}/follow"), 401)
    assert client.post(f"/api/accounts/{bob.sid}/follow", headers=alice.headers).status_code == 200
    assert_error(client.post(f"/api/accounts/{bob.sid}/follow", headers=alice.headers), 409, "conflict")
    assert world.count(Follow) == 1
    assert _counts(world, bob) == (1, 0)
    assert_error(client.delete(f"/api/accounts/{alice.sid}/follow", headers=bob.headers), 404)


def test_cannot_follow_across_a_block(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    assert client.post(f"/api/accounts/{alice.sid}/block", headers=bob.headers).status_code == 200
    assert_error(client.post(f"/api/accounts/{bob.sid}/follow", headers=alice.headers), 404)  # bob is not there for her
    assert_error(client.post(f"/api/accounts/{alice.sid}/follow", headers=bob.headers), 403)  # bob blocks alice
    assert world.count(Follow) == 0 and world.count(FollowRequest) == 0


def test_private_account_request_accept_flow(client, world):
    alice, carol = world.user("alice"), world.user("carol", private=True)
    r = client.post(f"/api/accounts/{carol.sid}/follow", headers=alice.headers)
    assert r.json()["state"] == "requested" and r.json()["relationship"]["requested"] is True
    assert world.count(Follow) == 0
    assert world.count(Notification, recipient_id=carol.id, kind="follow_request") == 1
    assert_error(client.post(f"/api/accounts/{carol.sid}/follow", headers=alice.headers), 409)

    assert client.get("/api/follow_requests/count", headers=carol.headers).json() == {"count": 1}
    listed = client.get("/api/follow_requests", headers=carol.headers).json()
    assert [e["account"]["handle"] for e in listed["items"]] == ["alice"]
    # only the target sees and answers its requests
    assert client.get("/api/follow_requests", headers=alice.headers).json()["items"] == []
    assert_error(client.post(f"/api/follow_requests/{alice.sid}/accept", headers=alice.headers), 404)

    r = client.post(f"/api/follow_requests/{alice.sid}/accept", headers=carol.headers)
    assert r.status_code == 200 and r.json()["relationship"]["followed_by"] is True
    assert world.count(FollowRequest) == 0 and world.count(Follow) == 1
    assert client.get("/api/follow_requests/count", headers=carol.headers).json() == {"count": 0}
    assert _counts(world, carol) == (1, 0)
    assert world.count(Notification, recipient_id=alice.id, kind="follow_accepted") == 1
    assert_error(client.post(f"/api/follow_requests/{alice.sid}/accept", headers=carol.headers), 404)


def test_reject_and_withdraw_requests(client, world):
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol", private=True)
    client.post(f"/api/accounts/{carol.sid}/follow", headers=alice.headers)
    client.post(f"/api/accounts/{carol.sid}/follow", headers=bob.headers)
    assert client.post(f"/api/follow_requests/{alice.sid}/reject", headers=carol.headers).status_code == 200
    r = client.delete(f"/api/accounts/{carol.sid}/follow", headers=bob.headers)
    assert r.json()["state"] == "withdrawn"
    [event] = _events(world, bob, "unfollow")
    assert event.entity_id == carol.id and event.context == {"requested": True}
    assert world.count(FollowRequest) == 0 and world.count(Follow) == 0


def test_remove_follower(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    world.follow(alice, bob)
    r = client.delete(f"/api/followers/{alice.sid}", headers=bob.headers)
    assert r.status_code == 200
    assert world.count(Follow) == 0 and _counts(world, bob) == (0, 0) and _counts(world, alice) == (0, 0)
    assert_error(client.delete(f"/api/followers/{alice.sid}", headers=bob.headers), 404)


def test_followers_and_following_lists_paginate(client, world):
    star = world.user("star")
    fans = [world.user(f"fan{i}") for i in range(5)]
    for fan in fans:
        assert client.post(f"/api/accounts/{star.sid}/follow", headers=fan.headers).status_code == 200
    seen, cursor = [], None
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(f"/api/accounts/{star.sid}/followers", params=params).json()
        seen += [e["account"]["handle"] for e in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(f.handle for f in fans) and len(seen) == 5
    following = client.get(f"/api/accounts/{fans[0].sid}/following").json()
    assert [e["account"]["handle"] for e in following["items"]] == ["star"]
    assert_error(client.get(f"/api/accounts/{star.sid}/followers", params={"cursor": "garbage!"}), 422)
    assert_error(client.get(f"/api/accounts/{star.sid}/followers", params={"limit": 0}), 422)
    assert_error(client.get("/api/accounts/424242/followers"), 404)


def test_private_account_lists_are_for_followers_only(client, world):
    carol, friend, stranger = world.user("carol", private=True), world.user("friend"), world.user("stranger")
    world.follow(friend, carol)
    assert_error(client.get(f"/api/accounts/{carol.sid}/followers"), 403)
    assert_error(client.get(f"/api/accounts/{carol.sid}/following", headers=stranger.headers), 403)
    assert client.get(f"/api/accounts/{carol.sid}/followers", headers=friend.headers).status_code == 200
    assert client.get(f"/api/accounts/{carol.sid}/followers", headers=carol.headers).status_code == 200


def test_block_removes_follows_both_ways_and_requests(client, world):
    alice, bob, carol = world.user("alice"), world.user("bob"), world.user("carol", private=True)
    world.follow(alice, bob)
    world.follow(bob, alice)
    client.post(f"/api/accounts/{carol.sid}/follow", headers=alice.headers)
    r = client.post(f"/api/accounts/{alice.sid}/block", headers=bob.headers)
    assert r.status_code == 200 and r.json()["relationship"]["blocking"] is True
    assert world.count(Follow) == 0
    assert _counts(world, alice) == (0, 0) and _counts(world, bob) == (0, 0)
    r = client.post(f"/api/accounts/{alice.sid}/block", headers=carol.headers)
    assert world.count(FollowRequest) == 0
    assert_error(client.post(f"/api/accounts/{alice.sid}/block", headers=bob.headers), 409)
    assert_error(client.post(f"/api/accounts/{bob.sid}/block", headers=bob.headers), 422)
    rel = client.get(f"/api/accounts/{bob.sid}/relationship", headers=alice.headers).json()
    assert rel["blocked_by"] is True
    assert [e["account"]["handle"] for e in client.get("/api/blocks", headers=bob.headers).json()["items"]] == ["alice"]
    assert client.delete(f"/api/accounts/{alice.sid}/block", headers=bob.headers).status_code == 200
    assert world.count(Block, blocker_id=bob.id) == 0
    assert_error(client.delete(f"/api/accounts/{alice.sid}/block", headers=bob.headers), 404)


def test_mute_and_unmute(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    world.follow(alice, bob)
    r = client.post(f"/api/accounts/{bob.sid}/mute", headers=alice.headers)
    assert r.json()["relationship"] == {**r.json()["relationship"], "muting": True, "following": True}
    assert_error(client.post(f"/api/accounts/{bob.sid}/mute", headers=alice.headers), 409)
    assert_error(client.post(f"/api/accounts/{alice.sid}/mute", headers=alice.headers), 422)
    assert [e["account"]["handle"] for e in client.get("/api/mutes", headers=alice.headers).json()["items"]] == ["bob"]
    assert client.delete(f"/api/accounts/{bob.sid}/mute", headers=alice.headers).status_code == 200
    assert world.count(Mute) == 0
    assert_error(client.delete(f"/api/accounts/{bob.sid}/mute", headers=alice.headers), 404)


def test_relationship_needs_sign_in_and_a_real_account(client, world):
    alice = world.user("alice")
    assert_error(client.get(f"/api/accounts/{alice.sid}/relationship"), 401)
    assert_error(client.get("/api/accounts/77777/relationship", headers=alice.headers), 404)


def test_relationships_in_batch(client, world):
    me, a, b, c = world.user("me"), world.user("anna"), world.user("ben"), world.user("cleo", private=True)
    world.follow(me, a)
    world.follow(b, me)
    client.post(f"/api/accounts/{c.sid}/follow", headers=me.headers)
    client.post(f"/api/accounts/{b.sid}/mute", headers=me.headers)
    r = client.get("/api/relationships", params=[("id", a.sid), ("id", b.sid), ("id", c.sid), ("id", "99999")],
                   headers=me.headers)
    assert r.status_code == 200, r.text
    rels = {x["id"]: x for x in r.json()["items"]}
    assert set(rels) == {a.sid, b.sid, c.sid}
    assert rels[a.sid]["following"] and not rels[a.sid]["followed_by"]
    assert rels[b.sid]["followed_by"] and rels[b.sid]["muting"] and not rels[b.sid]["following"]
    assert rels[c.sid]["requested"] and not rels[c.sid]["following"]
    assert_error(client.get("/api/relationships", params={"id": "x1"}, headers=me.headers), 422)
    assert_error(client.get("/api/relationships", headers=me.headers), 422)
    assert_error(client.get("/api/relationships", params={"id": a.sid}), 401)


def test_concurrent_duplicate_is_a_conflict_not_a_crash(world):
    from townsquare.errors import Conflict
    from townsquare.social.graph import insert_or_conflict

    alice, bob = world.user("alice"), world.user("bob")
    world.follow(alice, bob)
    with world.db.session() as s:
        try:
            insert_or_conflict(s, Follow(follower_id=alice.id, followee_id=bob.id), "dup")
            raise AssertionError("expected a Conflict")
        except Conflict as exc:
            assert exc.status == 409
        # the savepoint rolled back alone: the transaction goes on
        s.add(Mute(muter_id=alice.id, muted_id=bob.id))
    assert world.count(Follow) == 1 and world.count(Mute) == 1


def test_accept_all_when_going_public(world):
    from townsquare.social import graph

    carol = world.user("carol", private=True)
    fans = [world.user(f"fan{i}") for i in range(3)]
    with world.db.session() as s:
        for fan in fans:
            assert graph.follow(s, s.get(Account, fan.id), carol.id) == "requested"
    with world.db.session() as s:
        assert graph.accept_all_follow_requests(s, s.get(Account, carol.id)) == 3
    assert world.count(FollowRequest) == 0 and world.count(Follow) == 3
    assert world.account(carol).follower_count == 3
    assert world.count(Notification, kind="follow_accepted") == 3


def test_counts_match_rows_after_a_random_mix_of_operations(world):
    """Whatever happens (follows, requests, accepts, unfollows, removals, blocks), the counters on
    accounts equal the follow rows; refused operations change nothing."""
    import random

    from sqlalchemy import func

    from townsquare.errors import TownsquareError
    from townsquare.social import graph

    users = [world.user(f"u{i}", private=(i % 3 == 0)) for i in range(6)]
    rng = random.Random(5)
    ops = ["follow"] * 5 + ["unfollow", "accept", "reject", "remove", "block", "unblock", "mute"]
    for _ in range(150):
        op, a, b = rng.choice(ops), rng.choice(users), rng.choice(users)
        try:
            with world.db.session() as s:
                me = s.get(Account, a.id)
                {"follow": graph.follow, "unfollow": graph.unfollow, "accept": graph.accept_follow_request,
                 "reject": graph.reject_follow_request, "remove": graph.remove_follower, "block": graph.block,
                 "unblock": graph.unblock, "mute": graph.mute}[op](s, me, b.id)
        except TownsquareError:
            pass
    with world.db.session() as s:
        for user in users:
            account = s.get(Account, user.id)
            followers = s.scalar(select(func.count()).select_from(Follow).where(Follow.followee_id == user.id))
            following = s.scalar(select(func.count()).select_from(Follow).where(Follow.follower_id == user.id))
            assert (account.follower_count, account.following_count) == (followers, following), user.handle
        # no follow or request survives a block
        for block in s.scalars(select(Block)):
            pair = {block.blocker_id, block.blocked_id}
            assert not [f for f in s.scalars(select(Follow)) if {f.follower_id, f.followee_id} == pair]
            assert not [r for r in s.scalars(select(FollowRequest)) if {r.requester_id, r.target_id} == pair]
    assert world.count(Follow) > 0
