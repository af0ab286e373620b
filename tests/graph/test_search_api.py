"""Full-text search (posts, people), hashtag pages and hashtag follows, with visibility rules."""

from __future__ import annotations

from sqlalchemy import select, update

from townsquare.social.models import Account, Event, HashtagFollow, Post

from .helpers import assert_error


def _search(client, q, user=None, **params):
    r = client.get("/api/search", params={"q": q, **params}, headers=user.headers if user else {})
    assert r.status_code == 200, r.text
    return r.json()


def _texts(page):
    return [p["text"] for p in page["items"]]


def test_post_search_finds_words_prefixes_and_hashtags(client, world):
    alice = world.user("alice")
    world.post(alice, "Sourdough bread baking at home #baking")
    world.post(alice, "Riding my bicycle to the lake")
    assert _texts(_search(client, "sourdough")) == ["Sourdough bread baking at home #baking"]
    assert _texts(_search(client, "bicyc")) == ["Riding my bicycle to the lake"]  # prefix of the last word
    assert _texts(_search(client, "#baking")) == ["Sourdough bread baking at home #baking"]
    assert _texts(_search(client, "bread lake")) == []  # every word must match
    assert _search(client, "quantum")["items"] == []


def test_ranked_by_relevance_then_recency(client, world):
    alice = world.user("alice")
    world.post(alice, "older garden notes")
    world.post(alice, "garden garden garden: the garden")
    world.post(alice, "newer garden notes")
    world.post(alice, "a long day of many things to tell about, and a garden at the end of it")
    texts = _texts(_search(client, "garden"))
    assert texts[0] == "garden garden garden: the garden"
    assert texts[-1].startswith("a long day")
    # equally relevant: the newer first
    assert texts.index("newer garden notes") < texts.index("older garden notes")


def test_search_index_follows_edits_and_deletes(client, world):
    alice = world.user("alice")
    post_id = world.post(alice, "original wording")
    with world.db.session() as s:
        s.get(Post, post_id).text = "edited phrasing"
    assert _search(client, "original")["items"] == []
    assert _texts(_search(client, "phrasing")) == ["edited phrasing"]
    with world.db.session() as s:
        s.get(Post, post_id).deleted_at = s.get(Account, alice.id).created_at
    assert _search(client, "phrasing")["items"] == []


def test_followers_only_posts_never_leak_through_search_or_hashtags(client, world):
    author, follower, stranger = world.user("author"), world.user("follower"), world.user("stranger")
    world.follow(follower, author)
    world.post(author, "secret picnic plans #picnic", visibility="followers")
    world.post(author, "public picnic photos #picnic")
    for viewer in (None, stranger):
        assert _texts(_search(client, "picnic", viewer)) == ["public picnic photos #picnic"]
        assert _texts(_search(client, "secret", viewer)) == []
        page = client.get("/api/hashtags/picnic/posts", headers=viewer.headers if viewer else {}).json()
        assert _texts(page) == ["public picnic photos #picnic"]
        assert client.get("/api/hashtags/picnic", headers=viewer.headers if viewer else {}).json()["post_count"] == 1
    assert set(_texts(_search(client, "picnic", follower))) == {"secret picnic plans #picnic",
                                                               "public picnic photos #picnic"}
    assert len(client.get("/api/hashtags/picnic/posts", headers=follower.headers).json()["items"]) == 2
    assert _texts(_search(client, "secret", author)) == ["secret picnic plans #picnic"]


def test_blocked_muted_suspended_and_removed_are_excluded(client, world):
    me, blocker, muted, banned, gone = (world.user(h) for h in ("me", "blocker", "muted", "banned", "gone"))
    for user in (blocker, muted, banned, gone):
        world.post(user, f"kayak trip by {user.handle}")
    client.post(f"/api/accounts/{me.sid}/block", headers=blocker.headers)
    client.post(f"/api/accounts/{muted.sid}/mute", headers=me.headers)
    with world.db.session() as s:
        s.execute(update(Account).where(Account.id == banned.id).values(status="suspended"))
        s.execute(update(Post).where(Post.author_id == gone.id).values(removed_at=Post.created_at))
    assert _texts(_search(client, "kayak", me)) == []
    assert _texts(_search(client, "kayak")) == ["kayak trip by muted", "kayak trip by blocker"]
    people = _search(client, "blocker muted banned", me, type="people")
    assert people["items"] == []
    assert [a["handle"] for a in _search(client, "banned", None, type="people")["items"]] == []


def test_people_search_over_handle_name_and_bio(client, world):
    me = world.user("me")
    world.user("jane_doe", display_name="Jane Doe", bio="Marine biologist and diver")
    world.user("janet", display_name="Janet Smith", bio="Baker")
    world.user("otto", display_name="Otto", bio="I love jane austen novels")
    handles = [a["handle"] for a in _search(client, "jane", me, type="people")["items"]]
    assert set(handles) == {"jane_doe", "janet", "otto"}
    assert [a["handle"] for a in _search(client, "biologist", me, type="people")["items"]] == ["jane_doe"]
    assert [a["handle"] for a in _search(client, "janet", me, type="people")["items"]][0] == "janet"
    client.app.state.services.events.flush()  # searches are logged behind the request
    with world.db.session() as s:
        events = list(s.scalars(select(Event).where(Event.actor_id == me.id, Event.action == "search")))
    assert len(events) == 3 and events[0].context == {"query": "jane", "kind": "people"}


def test_search_pages_and_bad_input(client, world):
    alice = world.user("alice")
    for i in range(5):
        world.post(alice, f"walk number {i} in the park")
    first = _search(client, "park", limit=2)
    second = _search(client, "park", limit=2, cursor=first["next_cursor"])
    third = _search(client, "park", limit=2, cursor=second["next_cursor"])
    all_texts = _texts(first) + _texts(second) + _texts(third)
    assert len(all_texts) == 5 and len(set(all_texts)) == 5 and third["next_cursor"] is None
    assert_error(client.get("/api/search", params={"q": "   "}), 422)
    assert_error(client.get("/api/search", params={"q": "!!! ???"}), 422)
    assert_error(client.get("/api/search"), 422)
    assert_error(client.get("/api/search", params={"q": "park", "type": "videos"}), 422)
    assert_error(client.get("/api/search", params={"q": "x" * 300}), 422)
    assert_error(client.get("/api/search", params={"q": "park", "cursor": "%%%"}), 422)
    # FTS syntax in a query is just words
    for hostile in ('"park', "park OR walk", "NEAR(park walk)", "park*", "park) AND (walk", "-park", "col:park"):
        assert client.get("/api/search", params={"q": hostile}).status_code == 200, hostile


def test_hashtag_follow_unfollow_and_list(client, world):
    alice = world.user("alice")
    r = client.post("/api/hashtags/%23Python/follow", headers=alice.headers)
    assert r.status_code == 200 and r.json() == {"name": "python", "post_count": 0, "following": True}
    assert_error(client.post("/api/hashtags/python/follow", headers=alice.headers), 409)
    assert_error(client.post("/api/hashtags/not-a-tag!/follow", headers=alice.headers), 422)
    assert_error(client.post("/api/hashtags/python/follow"), 401)
    assert client.get("/api/hashtags/followed", headers=alice.headers).json()["items"] == [{"name": "python"}]
    world.post(alice, "learning #python today")
    assert client.get("/api/hashtags/python", headers=alice.headers).json()["post_count"] == 1
    assert client.delete("/api/hashtags/python/follow", headers=alice.headers).json()["following"] is False
    assert_error(client.delete("/api/hashtags/python/follow", headers=alice.headers), 404)
    assert world.count(HashtagFollow) == 0
    assert client.get("/api/hashtags/nobodyusedthis/posts").json() == {"items": [], "next_cursor": None}


def test_hashtag_search_by_prefix_most_used_first(client, world):
    alice = world.user("alice")
    world.post(alice, "#python tips")
    world.post(alice, "more #python and #pytest")
    world.post(alice, "#py_games")
    names = [h["name"] for h in _search(client, "#py", alice, type="hashtags")["items"]]
    assert names[0] == "python" and set(names) == {"python", "pytest", "py_games"}
    assert [h["name"] for h in _search(client, "pytest", alice, type="hashtags")["items"]] == ["pytest"]
    # '_' is a character here, not a LIKE wildcard
    assert [h["name"] for h in _search(client, "py_", alice, type="hashtags")["items"]] == ["py_games"]
    assert_error(client.get("/api/search", params={"q": "py thon", "type": "hashtags"}), 422)


def test_unicode_words(client, world):
    alice = world.user("alice", display_name="Zoë Brontë")
    world.post(alice, "Le meilleur café de Zürich, près du lac")
    assert len(_search(client, "zürich")["items"]) == 1
    assert len(_search(client, "café lac")["items"]) == 1
    assert [a["handle"] for a in _search(client, "zoë", type="people")["items"]] == ["alice"]
