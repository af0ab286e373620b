"""The chronological home timeline and the client event batch endpoint."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from townsquare.social.models import Event, Mute, ShowLess


def _post(client, user, text="a post", **body):
    response = client.post("/api/posts", headers=user.headers, json={"text": text, **body})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def _home(client, user, **params):
    response = client.get("/api/timeline/home", headers=user.headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_home_has_followed_own_and_reposts_newest_first(client, signup, follow):
    me, friend, other, stranger = signup("me_"), signup("friend"), signup("other"), signup("stranger")
    follow(me, friend)
    p_other = _post(client, other, "by someone I don't follow")
    p_friend = _post(client, friend, "by my friend")
    p_friend_private = _post(client, friend, "friends only", visibility="followers")
    p_mine = _post(client, me, "mine")
    p_stranger_private = _post(client, stranger, "not for me", visibility="followers")
    client.post(f"/api/posts/{p_other}/repost", headers=friend.headers)
    items = _home(client, me)["items"]
    assert [(i["type"], i["post"]["id"]) for i in items] == [
        ("repost", p_other), ("post", p_mine), ("post", p_friend_private), ("post", p_friend)]
    assert items[0]["reposted_by"]["handle"] == "friend"
    assert p_stranger_private not in {i["post"]["id"] for i in items}
    # The stranger's followers-only post never reaches me, not even through a follow of someone else.
    assert client.get("/api/timeline/home").status_code == 401


def test_home_pages_are_stable_when_new_posts_arrive(client, signup, follow):
    me, friend = signup("me_"), signup("friend")
    follow(me, friend)
    ids = [_post(client, friend, f"p{i}") for i in range(7)]
    first = _home(client, me, limit=3)
    _post(client, friend, "newer")
    second = _home(client, me, limit=3, cursor=first["next_cursor"])
    third = _home(client, me, limit=3, cursor=second["next_cursor"])
    seen = [i["post"]["id"] for i in first["items"] + second["items"] + third["items"]]
    assert seen == ids[::-1] and third["next_cursor"] is None
    bad = client.get("/api/timeline/home", headers=me.headers, params={"cursor": "eyJpZCI6MX0"})
    assert bad.status_code == 422


def test_home_leaves_out_blocked_muted_and_hidden(client, signup, follow, block, db):
    me, a, b, c = signup("me_"), signup("aaa"), signup("bbb"), signup("ccc")
    for x in (a, b, c):
        follow(me, x)
    pa, pb = _post(client, a, "a"), _post(client, b, "b")
    pc1, pc2 = _post(client, c, "c1"), _post(client, c, "c2")
    block(a, me)
    with db.session() as session:
        session.add(Mute(muter_id=int(me.id), muted_id=int(b.id)))
    hide = client.post("/api/events", headers=me.headers, json={"events": [
        {"action": "hide", "entity_id": pc1, "surface": "home"}]})
    assert hide.status_code == 201
    assert [i["post"]["id"] for i in _home(client, me)["items"]] == [pc2]
    assert pa and pb


def test_event_batch_all_or_nothing(client, signup, db):
    me, other = signup("me_"), signup("other")
    pid = _post(client, other)
    good = [
        {"action": "impression", "entity_id": pid, "surface": "home", "position": 0},
        {"action": "dwell", "entity_id": pid, "surface": "home", "dwell_ms": 4200},
        {"action": "open", "entity_id": pid},
        {"action": "share", "entity_id": pid, "context": {"to": "copy_link"}},
        {"action": "profile_visit", "entity_type": "account", "entity_id": other.id, "surface": "post"},
        {"action": "hide", "entity_id": pid, "surface": "home"},
    ]
    stored = client.post("/api/events", headers=me.headers, json={"events": good})
    assert stored.status_code == 201 and stored.json() == {"stored": 6}
    too_old = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    bad_batches = [
        [*good[:2], {"action": "impression", "entity_id": pid, "surface": "home"}],  # no position
        [good[0], {"action": "like", "entity_id": pid}],  # not a client action
        [good[0], {"action": "open", "entity_id": "987654"}],  # unknown post
        [good[0], {"action": "open", "entity_id": "x1"}],
        [good[0], {"action": "dwell", "entity_id": pid, "surface": "home"}],  # no dwell_ms
        [good[0], {"action": "open", "entity_id": pid, "ts": too_old}],
        [good[0], {"action": "open", "entity_id": pid, "surface": "bad surface!"}],
        [good[0], {"action": "open", "entity_id": pid, "actor_id": other.id}],
        [good[0]] * 501,
        [],
    ]
    for batch in bad_batches:
        response = client.post("/api/events", headers=me.headers, json={"events": batch})
        assert response.status_code == 422, (batch[-1:], response.text)
        assert "error" in response.json()
    malformed = client.post("/api/events", headers={**me.headers, "content-type": "application/json"},
                            content=b"{\"events\": [")
    assert malformed.status_code == 422
    assert client.post("/api/events", json={"events": good}).status_code == 401
    client.app.state.services.events.flush()  # observed events are written behind the request
    with db.session() as session:
        actors = set(session.scalars(select(Event.actor_id).where(Event.action != "post")))
        count = len(session.scalars(select(Event.id).where(Event.action != "post")).all())
        hidden = session.execute(select(ShowLess.target_type, ShowLess.target_id)).all()
    assert actors == {int(me.id)} and count == 6
    assert hidden == [("post", int(pid))]


def test_my_events_paginated(client, signup):
    me, other = signup("me_"), signup("other")
    pid = _post(client, other)
    client.post("/api/events", headers=me.headers, json={"events": [
        {"action": "impression", "entity_id": pid, "surface": "home", "position": i} for i in range(5)]})
    client.post(f"/api/posts/{pid}/reaction", headers=me.headers)
    first = client.get("/api/events/me", headers=me.headers, params={"limit": 4}).json()
    assert first["items"][0]["action"] == "like" and len(first["items"]) == 4
    rest = client.get("/api/events/me", headers=me.headers, params={"limit": 4, "cursor": first["next_cursor"]}).json()
    assert len(rest["items"]) == 2 and rest["next_cursor"] is None
    only = client.get("/api/events/me", headers=me.headers, params={"action": "like"}).json()["items"]
    assert [e["action"] for e in only] == ["like"]
    assert client.get("/api/events/me").status_code == 401


def test_hiding_an_account_records_show_less_for_it(client, signup, db):
    me, other = signup("me_"), signup("other")
    response = client.post("/api/events", headers=me.headers, json={"events": [
        {"action": "hide", "entity_type": "account", "entity_id": other.id, "surface": "pymk"},
        {"action": "hide", "entity_type": "account", "entity_id": other.id, "surface": "pymk"}]})
    assert response.status_code == 201 and response.json() == {"stored": 2}
    from townsquare.social.preferences import show_less

    with db.session() as session:
        assert show_less(session, int(me.id))["account"] == {int(other.id)}
