from townsquare.feed import pymk
from townsquare.feed import sources as src
from townsquare.social.models import Event
from townsquare.social.tokens import issue_token

from . import factories as f


def setup_function():
    src.SHARED.clear()
    pymk.GRAPHS.clear()


def seed(db):
    with db.session() as s:
        me = f.account(s, "me")
        friend = f.account(s, "friend")
        other = f.account(s, "other")
        f.follow(s, me, friend)
        f.follow(s, friend, other)
        for k in range(6):
            f.post(s, friend, hours_ago=0.5 + k, text=f"friend post {k}", likes=k)
            f.post(s, other, hours_ago=0.7 + k, text=f"other post {k}", likes=2 * k)
        token = issue_token(s, me)
        return me.id, friend.id, other.id, token


def test_feed_endpoint_pages_with_reasons(client, db):
    me, friend, other, token = seed(db)
    h = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/feed?limit=5", headers=h)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ranked_by"] == "heuristic" and body["model_ranked"] is False and body["mode"] == "ranked"
    assert len(body["items"]) == 5 and body["next_cursor"]
    assert all(item["reasons"] and isinstance(item["post"]["id"], str) for item in body["items"])
    r2 = client.get(f"/api/feed?limit=5&cursor={body['next_cursor']}", headers=h).json()
    ids1 = {i["post"]["id"] for i in body["items"]}
    assert not ids1 & {i["post"]["id"] for i in r2["items"]}


def test_feed_requires_sign_in_and_rejects_bad_input(client, db):
    _, _, _, token = seed(db)
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/feed").status_code == 401
    r = client.get("/api/feed?cursor=garbage!!", headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"
    assert client.get("/api/feed?limit=500", headers=h).status_code == 422


def test_settings_roundtrip_and_validation(client, db):
    _, _, _, token = seed(db)
    h = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/feed/settings", headers=h).json()["mode"] == "ranked"
    r = client.put("/api/feed/settings", json={"mode": "chronological", "discovery": 0.9,
                                               "kind_weights": {"video": 2}}, headers=h)
    assert r.status_code == 200 and r.json()["kind_weights"]["video"] == 2.0
    assert client.get("/api/feed", headers=h).json()["ranked_by"] == "chronological"
    bad = client.put("/api/feed/settings", json={"discovery": 7}, headers=h)
    assert bad.status_code == 422 and "error" in bad.json()
    assert client.put("/api/feed/settings", json={"nope": 1}, headers=h).status_code == 422
    assert client.get("/api/feed/settings", headers=h).json()["discovery"] == 0.9


def test_show_less_logs_a_hide(client, db):
    me, friend, other, token = seed(db)
    h = {"Authorization": f"Bearer {token}"}
    post_id = client.get("/api/feed", headers=h).json()["items"][0]["post"]["id"]
    r = client.post("/api/feed/show-less", json={"post_id": post_id}, headers=h)
    assert r.status_code == 200 and r.json()["hidden"] is True
    with db.session() as s:
        ev = s.query(Event).filter_by(actor_id=me, action="hide").one()
        assert ev.entity_id == int(post_id)
    assert client.post("/api/feed/show-less", json={"post_id": "999999"}, headers=h).status_code == 404
    assert client.post("/api/feed/show-less", json={"post_id": "abc"}, headers=h).status_code == 422


def test_people_suggestions(client, db):
    me, friend, other, token = seed(db)
    h = {"Authorization": f"Bearer {token}"}
    r = client.get("/api/people/suggestions", headers=h)
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    ids = [i["account"]["id"] for i in items]
    assert str(other) == ids[0] and str(me) not in ids and str(friend) not in ids
    assert items[0]["mutual_count"] == 1 and items[0]["reasons"]
