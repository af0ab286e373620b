"""Direct messages through the native API."""

from __future__ import annotations

from sqlalchemy import select

from townsquare.social.models import Conversation, Event, Message, Notification

from .helpers import assert_error


def _send(client, sender, recipient, text="hi"):
    return client.post("/api/conversations", json={"recipient_id": recipient.sid, "text": text},
                       headers=sender.headers)


def test_send_list_read_and_mark_read(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    r = _send(client, alice, bob, "  hello bob  ")
    assert r.status_code == 201, r.text
    conversation_id = r.json()["conversation"]["id"]
    assert r.json()["message"]["text"] == "hello bob"
    assert r.json()["conversation"]["other"]["handle"] == "bob"
    r2 = client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "hi alice"}, headers=bob.headers)
    assert r2.status_code == 201
    _send(client, alice, bob, "how are you?")
    assert world.count(Conversation) == 1 and world.count(Message) == 3

    inbox = client.get("/api/conversations", headers=bob.headers).json()
    [item] = inbox["items"]
    assert item["other"]["handle"] == "alice"
    assert item["last_message"]["text"] == "how are you?"
    assert item["unread_count"] == 2
    assert client.get("/api/conversations/unread_count", headers=bob.headers).json() == {"unread_count": 2}

    msgs = client.get(f"/api/conversations/{conversation_id}/messages", params={"limit": 2}, headers=bob.headers).json()
    assert [m["text"] for m in msgs["items"]] == ["how are you?", "hi alice"]
    older = client.get(f"/api/conversations/{conversation_id}/messages",
                       params={"limit": 2, "cursor": msgs["next_cursor"]}, headers=bob.headers).json()
    assert [m["text"] for m in older["items"]] == ["hello bob"] and older["next_cursor"] is None

    assert client.post(f"/api/conversations/{conversation_id}/read", headers=bob.headers).json() == {"marked": 2}
    assert client.get("/api/conversations", headers=bob.headers).json()["items"][0]["unread_count"] == 0
    # alice's own unread count counts only bob's message
    assert client.get("/api/conversations", headers=alice.headers).json()["items"][0]["unread_count"] == 1

    assert world.count(Notification, recipient_id=bob.id, kind="message") == 2
    # reading the conversation settled bob's message notifications
    assert client.get("/api/notifications/unread_count", headers=bob.headers).json()["unread_count"] == 0
    assert client.get("/api/notifications/unread_count", headers=alice.headers).json()["unread_count"] == 1
    with world.db.session() as s:
        events = list(s.scalars(select(Event).where(Event.action == "message", Event.actor_id == alice.id)))
    assert len(events) == 2 and all((e.entity_type, e.entity_id) == ("account", bob.id) for e in events)


def test_conversations_ordered_by_latest_activity(client, world):
    me, a, b = world.user("me"), world.user("anna"), world.user("ben")
    _send(client, me, a, "first")
    _send(client, me, b, "second")
    assert [c["other"]["handle"] for c in client.get("/api/conversations", headers=me.headers).json()["items"]] \
        == ["ben", "anna"]
    _send(client, a, me, "back to you")
    assert [c["other"]["handle"] for c in client.get("/api/conversations", headers=me.headers).json()["items"]] \
        == ["anna", "ben"]
    found = client.get(f"/api/conversations/with/{b.sid}", headers=me.headers)
    assert found.status_code == 200 and found.json()["other"]["handle"] == "ben"
    assert_error(client.get(f"/api/conversations/with/{b.sid}", headers=a.headers), 404)


def test_only_participants_read_or_write(client, world):
    alice, bob, eve = world.user("alice"), world.user("bob"), world.user("eve")
    conversation_id = _send(client, alice, bob, "secret").json()["conversation"]["id"]
    for path in (f"/api/conversations/{conversation_id}", f"/api/conversations/{conversation_id}/messages"):
        assert_error(client.get(path, headers=eve.headers), 404)
        assert_error(client.get(path), 401)
    assert_error(client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "me too"},
                             headers=eve.headers), 404)
    assert_error(client.post(f"/api/conversations/{conversation_id}/read", headers=eve.headers), 404)
    assert client.get("/api/conversations", headers=eve.headers).json()["items"] == []
    assert world.count(Message) == 1


def test_bad_messages_are_refused_without_writing(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    assert_error(_send(client, alice, bob, "   "), 422)
    assert_error(_send(client, alice, bob, "x" * 5001), 422)
    assert _send(client, alice, bob, "x" * 5000).status_code == 201
    assert_error(_send(client, alice, alice, "talking to myself"), 422)
    assert_error(client.post("/api/conversations", json={"recipient_id": "123456", "text": "hi"},
                             headers=alice.headers), 404)
    assert_error(client.post("/api/conversations", content=b"{not json", headers=alice.headers
                             | {"content-type": "application/json"}), 422)
    assert_error(client.post("/api/conversations", json={"text": "no recipient"}, headers=alice.headers), 422)
    assert_error(client.post("/api/conversations/99999/messages", json={"text": "hi"}, headers=alice.headers), 404)
    assert world.count(Message) == 1 and world.count(Conversation) == 1


def test_blocks_stop_messages_both_ways(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    conversation_id = _send(client, alice, bob, "hi").json()["conversation"]["id"]
    client.post(f"/api/accounts/{alice.sid}/block", headers=bob.headers)
    assert_error(_send(client, alice, bob, "still there?"), 404)  # the blocker is not there for alice
    assert_error(client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "x"},
                             headers=alice.headers), 404)
    assert client.get("/api/conversations", headers=alice.headers).json()["items"] == []
    assert_error(client.post(f"/api/conversations/{conversation_id}/messages", json={"text": "x"},
                             headers=bob.headers), 403)
    assert world.count(Message) == 1


def test_private_accounts_take_messages_from_people_they_follow(client, world):
    carol, friend, stranger = world.user("carol", private=True), world.user("friend"), world.user("stranger")
    world.follow(carol, friend)
    assert_error(_send(client, stranger, carol, "hello?"), 403)
    assert _send(client, friend, carol, "hi carol").status_code == 201
    # carol writes first to the stranger: the stranger can then answer
    assert _send(client, carol, stranger, "hi, you wrote?").status_code == 201
    assert _send(client, stranger, carol, "yes!").status_code == 201


def test_ai_written_messages_are_marked_in_the_log(world):
    from townsquare.social import messages
    from townsquare.social.models import Account

    creator, fan = world.user("creator"), world.user("fan")
    with world.db.session() as s:
        message = messages.send_message(s, s.get(Account, creator.id), fan.id, "thanks for writing!", is_ai=True)
        assert message.is_ai
    with world.db.session() as s:
        [event] = list(s.scalars(select(Event).where(Event.action == "message")))
    assert event.context == {"is_ai": True}
