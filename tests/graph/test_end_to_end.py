"""The real paths together: people sign up, follow, post, comment through the API (social-A's
services), and search, hashtag pages, messages, notifications and moderation see the result."""

from __future__ import annotations

from sqlalchemy import update

from townsquare.social.models import Account

from .helpers import assert_error


def _signup(client, handle, **extra):
    r = client.post("/api/auth/signup", json={"handle": handle, "password": "correct horse battery", **extra})
    assert r.status_code == 201, r.text
    body = r.json()
    return body["account"]["id"], {"Authorization": f"Bearer {body['token']}"}


def test_full_social_loop(client, db):
    alice_id, alice = _signup(client, "alice")
    bob_id, bob = _signup(client, "bob")
    eve_id, eve = _signup(client, "eve")
    # alice goes private; bob asks and is accepted
    assert client.patch("/api/me", json={"is_private": True}, headers=alice).status_code == 200
    assert client.post(f"/api/accounts/{alice_id}/follow", headers=bob).json()["state"] == "requested"
    assert client.post(f"/api/follow_requests/{bob_id}/accept", headers=alice).status_code == 200
    assert client.get(f"/api/accounts/{alice_id}", headers=bob).json()["follower_count"] == 1

    secret = client.post("/api/posts", json={"text": "Sunrise hike tomorrow #trailrun", "visibility": "followers"},
                         headers=alice)
    assert secret.status_code == 201, secret.text
    public = client.post("/api/posts", json={"text": "Trail shoes review #trailrun", "visibility": "public"},
                         headers=alice).json()

    def search_ids(headers, q="trailrun"):
        return {p["id"] for p in client.get("/api/search", params={"q": q}, headers=headers).json()["items"]}

    def tag_ids(headers):
        return {p["id"] for p in client.get("/api/hashtags/trailrun/posts", headers=headers).json()["items"]}

    assert search_ids(bob) == tag_ids(bob) == {secret.json()["id"], public["id"]}
    assert search_ids(eve) == tag_ids(eve) == search_ids({}) == {public["id"]}
    hit = client.get("/api/search", params={"q": "trail shoes"}, headers=bob).json()["items"][0]
    assert hit["hashtags"] == ["trailrun"] and hit["author"]["handle"] == "alice"

    # edits reach the index; deleted posts leave it
    assert client.patch(f"/api/posts/{public['id']}", json={"text": "Road shoes review #trailrun"},
                        headers=alice).status_code == 200
    assert search_ids(eve, "trail shoes") == set() and search_ids(eve, "road shoes") == {public["id"]}
    assert client.delete(f"/api/posts/{public['id']}", headers=alice).status_code == 200
    assert search_ids(eve, "road") == set() and tag_ids(eve) == set()

    # a private account takes messages only from people it follows
    assert_error(client.post("/api/conversations", json={"recipient_id": alice_id, "text": "hi"}, headers=eve), 403)
    assert_error(client.post("/api/conversations", json={"recipient_id": alice_id, "text": "hi"}, headers=bob), 403)
    assert client.post(f"/api/accounts/{bob_id}/follow", headers=alice).json()["state"] == "following"
    assert client.post("/api/conversations", json={"recipient_id": alice_id, "text": "see you at 6"},
                       headers=bob).status_code == 201
    kinds = [n["kind"] for n in client.get("/api/notifications", headers=alice).json()["items"]]
    assert kinds == ["message", "follow_request"]
    assert [n["kind"] for n in client.get("/api/notifications", headers=bob).json()["items"]] == [
        "follow", "follow_accepted"]

    # bob comments; alice reports the comment; an admin removes it
    comment = client.post(f"/api/posts/{secret.json()['id']}/comments", json={"text": "you are slow"}, headers=bob)
    assert comment.status_code == 201, comment.text
    assert client.post("/api/reports", json={"target_type": "comment", "target_id": comment.json()["id"],
                                             "reason": "harassment"}, headers=alice).status_code == 201
    with db.session() as s:
        s.execute(update(Account).where(Account.id == int(eve_id)).values(is_admin=True))
    [item] = client.get("/api/admin/reports", headers=eve).json()["items"]
    assert item["comment"]["text"] == "you are slow"
    assert client.post(f"/api/admin/reports/{item['id']}/resolve", json={"action": "remove_comment"},
                       headers=eve).status_code == 200
    comments = client.get(f"/api/posts/{secret.json()['id']}/comments", headers=alice).json()["items"]
    assert all(c["text"] != "you are slow" for c in comments)
