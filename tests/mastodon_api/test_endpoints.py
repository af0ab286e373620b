"""The Mastodon endpoints that the end-to-end test does not reach, in process on SQLite and
PostgreSQL: paging with Link headers, the chronological home with reblogs, threads of comments,
private accounts and follow requests, markers, profile edits, trends, suggestions."""

from __future__ import annotations

import re

from .helpers import bearer, png, signup


def _link(response, rel: str) -> str | None:
    match = re.search(rf'<([^>]+)>; rel="{rel}"', response.headers.get("link", ""))
    return match.group(1).replace("http://testserver", "") if match else None


def test_public_timeline_pages_with_link_headers(client):
    _, token = signup(client, "ana")
    ids = [client.post("/api/v1/statuses", headers=bearer(token), json={"status": f"post {i}"}).json()["id"]
           for i in range(7)]
    first = client.get("/api/v1/timelines/public", params={"limit": 3})
    assert [s["id"] for s in first.json()] == ids[::-1][:3]
    seen, page = [], first
    while True:
        seen += [s["id"] for s in page.json()]
        nxt = _link(page, "next")
        if not nxt or not page.json():
            break
        page = client.get(nxt)
    assert seen == ids[::-1]
    newer = client.get("/api/v1/timelines/public", params={"min_id": ids[2], "limit": 2}).json()
    assert [s["id"] for s in newer] == [ids[4], ids[3]]  # the page right above min_id
    since = client.get("/api/v1/timelines/public", params={"since_id": ids[4]}).json()
    assert [s["id"] for s in since] == [ids[6], ids[5]]
    prev = _link(first, "prev")
    assert prev and f"min_id={ids[6]}" in prev


def test_chronological_home_with_reblogs_and_pull_to_refresh(client):
    _, ana = signup(client, "ana")
    bob_id, bob = signup(client, "bob")
    cyd_id, cyd = signup(client, "cyd")
    client.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(ana))
    assert client.put("/api/feed/settings", headers=bearer(ana), json={"mode": "chronological"}).status_code == 200
    cyd_post = client.post("/api/v1/statuses", headers=bearer(cyd), json={"status": "by cyd"}).json()
    bob_post = client.post("/api/v1/statuses", headers=bearer(bob), json={"status": "by bob"}).json()
    reblog = client.post(f"/api/v1/statuses/{cyd_post['id']}/reblog", headers=bearer(bob)).json()
    home = client.get("/api/v1/timelines/home", headers=bearer(ana)).json()
    assert [s["id"] for s in home] == [reblog["id"], bob_post["id"]]
    assert home[0]["reblog"]["id"] == cyd_post["id"] and home[0]["account"]["acct"] == "bob"
    assert int(reblog["id"]) == 2 * 10**17 + 1
    later = client.post("/api/v1/statuses", headers=bearer(bob), json={"status": "later"}).json()
    fresh = client.get("/api/v1/timelines/home", headers=bearer(ana), params={"since_id": reblog["id"]}).json()
    assert [s["id"] for s in fresh] == [later["id"]]
    older = client.get("/api/v1/timelines/home", headers=bearer(ana), params={"max_id": reblog["id"]}).json()
    assert [s["id"] for s in older] == [bob_post["id"]]
    # the reblog is a status of its own, and undoing it through DELETE removes the repost
    assert client.get(f"/api/v1/statuses/{reblog['id']}", headers=bearer(ana)).json()["reblog"]["id"] == cyd_post["id"]
    assert client.delete(f"/api/v1/statuses/{reblog['id']}", headers=bearer(bob)).status_code == 200
    assert client.get(f"/api/v1/statuses/{reblog['id']}", headers=bearer(ana)).status_code == 404


def test_ranked_home_carries_reasons_and_pages_by_the_feed_cursor(client):
    bob_id, bob = signup(client, "bob")
    _, ana = signup(client, "ana")
    client.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(ana))
    for i in range(5):
        client.post("/api/v1/statuses", headers=bearer(bob), json={"status": f"bob {i}"})
    first = client.get("/api/v1/timelines/home", headers=bearer(ana), params={"limit": 2})
    assert len(first.json()) == 2 and first.json()[0]["townsquare"]["reasons"]
    nxt = _link(first, "next")
    assert nxt and not re.search(r"max_id=\d+(&|$)", nxt)  # the feed's own cursor, not an id
    second = client.get(nxt, headers=bearer(ana)).json()
    assert {s["id"] for s in second}.isdisjoint({s["id"] for s in first.json()})
    assert client.get("/api/v1/timelines/home", headers=bearer(ana), params={"max_id": "bm90LWEtY3Vyc29y"}).json() == []


def test_threads_of_comments_as_replies(client):
    _, ana = signup(client, "ana")
    _, bob = signup(client, "bob")
    post = client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "thread"}).json()
    c1 = client.post("/api/v1/statuses", headers=bearer(bob), json={"status": "first", "in_reply_to_id": post["id"]}).json()
    c2 = client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "answer", "in_reply_to_id": c1["id"]}).json()
    c3 = client.post("/api/v1/statuses", headers=bearer(bob), json={"status": "second", "in_reply_to_id": post["id"]}).json()
    assert int(c1["id"]) > 10**17 and c2["in_reply_to_id"] == c1["id"] and c1["in_reply_to_account_id"] is not None
    ctx = client.get(f"/api/v1/statuses/{post['id']}/context").json()
    assert [s["id"] for s in ctx["descendants"]] == [c1["id"], c2["id"], c3["id"]]
    ctx = client.get(f"/api/v1/statuses/{c1['id']}/context").json()
    assert [s["id"] for s in ctx["ancestors"]] == [post["id"]] and [s["id"] for s in ctx["descendants"]] == [c2["id"]]
    ctx = client.get(f"/api/v1/statuses/{c2['id']}/context").json()
    assert [s["id"] for s in ctx["ancestors"]] == [post["id"], c1["id"]] and ctx["descendants"] == []
    assert client.post(f"/api/v1/statuses/{c1['id']}/favourite", headers=bearer(ana)).status_code == 422
    edited = client.put(f"/api/v1/statuses/{c1['id']}", headers=bearer(bob), json={"status": "first, edited"}).json()
    assert "first, edited" in edited["content"] and edited["edited_at"]
    assert client.put(f"/api/v1/statuses/{c1['id']}", headers=bearer(ana), json={"status": "hijack"}).status_code == 403
    assert client.get(f"/api/v1/statuses/{post['id']}").json()["replies_count"] == 3
    assert client.delete(f"/api/v1/statuses/{c3['id']}", headers=bearer(bob)).json()["text"] == "second"


def test_private_accounts_follow_requests_and_unlisted(client):
    ana_id, ana = signup(client, "ana", private=True)
    bob_id, bob = signup(client, "bob")
    rel = client.post(f"/api/v1/accounts/{ana_id}/follow", headers=bearer(bob)).json()
    assert rel["requested"] is True and rel["following"] is False
    assert client.post(f"/api/v1/accounts/{ana_id}/follow", headers=bearer(bob)).status_code == 200  # again: fine
    requests = client.get("/api/v1/follow_requests", headers=bearer(ana)).json()
    assert [a["id"] for a in requests] == [bob_id]
    assert client.get("/api/v1/accounts/verify_credentials", headers=bearer(ana)).json()["source"][
        "follow_requests_count"] == 1
    hidden = client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "for friends", "visibility": "unlisted"}).json()
    assert hidden["visibility"] == "private"  # unlisted becomes followers-only
    assert client.get(f"/api/v1/statuses/{hidden['id']}", headers=bearer(bob)).status_code == 404
    rel = client.post(f"/api/v1/follow_requests/{bob_id}/authorize", headers=bearer(ana)).json()
    assert rel["followed_by"] is True
    assert client.get(f"/api/v1/statuses/{hidden['id']}", headers=bearer(bob)).status_code == 200
    assert [n["type"] for n in client.get("/api/v1/notifications", headers=bearer(ana)).json()] == ["follow_request"]
    assert client.post(f"/api/v1/accounts/{ana_id}/unfollow", headers=bearer(bob)).json()["following"] is False
    assert client.get(f"/api/v1/statuses/{hidden['id']}", headers=bearer(bob)).status_code == 404


def test_blocks_hide_accounts_and_content(client):
    ana_id, ana = signup(client, "ana")
    bob_id, bob = signup(client, "bob")
    post = client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "visible until the block"}).json()
    rel = client.post(f"/api/v1/accounts/{bob_id}/block", headers=bearer(ana)).json()
    assert rel["blocking"] is True
    assert client.get(f"/api/v1/accounts/{ana_id}", headers=bearer(bob)).status_code == 404
    assert client.get(f"/api/v1/statuses/{post['id']}", headers=bearer(bob)).status_code == 404
    assert client.post(f"/api/v1/accounts/{ana_id}/follow", headers=bearer(bob)).status_code == 404
    assert client.get("/api/v1/accounts/relationships", params={"id[]": ana_id}, headers=bearer(bob)).json()[0][
        "blocked_by"] is True
    assert [a["id"] for a in client.get("/api/v1/blocks", headers=bearer(ana)).json()] == [bob_id]
    assert client.post(f"/api/v1/accounts/{bob_id}/unblock", headers=bearer(ana)).json()["blocking"] is False
    mute = client.post(f"/api/v1/accounts/{ana_id}/mute", headers=bearer(bob)).json()
    assert mute["muting"] is True
    assert post["id"] not in [s["id"] for s in client.get("/api/v1/timelines/public", headers=bearer(bob)).json()]


def test_markers_profile_edits_and_preferences(client):
    _, ana = signup(client, "ana")
    r = client.post("/api/v1/markers", headers=bearer(ana), json={"home": {"last_read_id": "5"}})
    assert r.json()["home"]["version"] == 1
    r = client.post("/api/v1/markers", headers=bearer(ana), data={"home[last_read_id]": "9",
                                                                   "notifications[last_read_id]": "3"})
    assert r.json()["home"] == {**r.json()["home"], "last_read_id": "9", "version": 2}
    got = client.get("/api/v1/markers", headers=bearer(ana), params={"timeline[]": "notifications"}).json()
    assert list(got) == ["notifications"] and got["notifications"]["last_read_id"] == "3"
    me = client.patch("/api/v1/accounts/update_credentials", headers=bearer(ana),
                      data={"display_name": "Ana B", "note": "gardener #plants", "locked": "true"},
                      files={"avatar": ("a.png", png(), "image/png")}).json()
    assert me["display_name"] == "Ana B" and me["locked"] is True and "/media/" in me["avatar"]
    assert 'class="mention hashtag"' in me["note"] and me["source"]["note"] == "gardener #plants"
    assert client.get("/api/v1/preferences", headers=bearer(ana)).json()["posting:default:visibility"] == "public"
    for path in ("/api/v1/lists", "/api/v1/filters", "/api/v2/filters", "/api/v1/custom_emojis",
                 "/api/v1/announcements", "/api/v1/bookmarks"):
        assert client.get(path, headers=bearer(ana)).json() == [], path


def test_trends_suggestions_and_tags(client):
    ana_id, ana = signup(client, "ana")
    bob_id, bob = signup(client, "bob")
    _, cyd = signup(client, "cyd")
    hot = client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "big news #hot #news"}).json()
    client.post("/api/v1/statuses", headers=bearer(bob), json={"status": "also #hot"})
    client.post(f"/api/v1/statuses/{hot['id']}/favourite", headers=bearer(bob))
    client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "secret #hidden", "visibility": "private"})
    tags = client.get("/api/v1/trends/tags").json()
    assert tags[0]["name"] == "hot" and tags[0]["history"][0]["uses"] == "2"
    assert "hidden" not in [t["name"] for t in tags]
    assert client.get("/api/v1/trends/statuses").json()[0]["id"] == hot["id"]
    client.post(f"/api/v1/accounts/{ana_id}/follow", headers=bearer(bob))
    client.post(f"/api/v1/accounts/{bob_id}/follow", headers=bearer(cyd))
    suggested = client.get("/api/v2/suggestions", headers=bearer(cyd)).json()
    assert suggested and suggested[0]["account"]["id"] == ana_id and suggested[0]["sources"]
    assert all(s["account"]["id"] != bob_id for s in suggested)  # never someone already followed
    followed = client.post("/api/v1/tags/hot/follow", headers=bearer(cyd)).json()
    assert followed["following"] is True
    assert [t["name"] for t in client.get("/api/v1/followed_tags", headers=bearer(cyd)).json()] == ["hot"]
    assert client.post("/api/v1/tags/hot/unfollow", headers=bearer(cyd)).json()["following"] is False


def test_followers_only_media_with_an_app_token(client, browser):
    from .helpers import authorize, exchange, register_app, web_sign_in

    ana_id, ana = signup(client, "ana")
    _, bob = signup(client, "bob")
    _, cyd = signup(client, "cyd")
    client.post(f"/api/v1/accounts/{ana_id}/follow", headers=bearer(bob))
    media = client.post("/api/v2/media", headers=bearer(ana), files={"file": ("a.png", png((1, 2, 3)), "image/png")},
                        data={"description": "for friends"}).json()
    client.post("/api/v1/statuses", headers=bearer(ana), json={"status": "photo", "media_ids": [media["id"]],
                                                                "visibility": "private"})
    web_sign_in(browser, "bob")
    registered = register_app(client, scopes="read")
    code, verifier, uri = authorize(client, browser, registered, scopes="read")
    app_token = exchange(client, registered, code, verifier, uri).json()["access_token"]
    for url in (media["url"], media["preview_url"]):
        path = url.replace("http://testserver", "")
        assert client.get(path, headers=bearer(app_token)).status_code == 200, path
        assert client.get(path, headers=bearer(cyd)).status_code == 404, path
        assert client.get(path).status_code == 404, path
    assert client.get(f"/api/v1/media/{media['id']}", headers=bearer(cyd)).status_code == 404
