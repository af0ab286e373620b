"""Item 2: hashtag search never shows a tag that exists only on posts the searcher may not see."""

from __future__ import annotations


def _tags(town, who, q: str) -> list[str]:
    r = town.client.get("/api/search", params={"q": q, "type": "hashtags"}, headers=who.headers)
    assert r.status_code == 200, r.text
    return [item["name"] for item in r.json()["items"]]


def test_tags_only_on_followers_only_posts_stay_with_followers(town):
    olive, fran, sam, bea = (town.signup(h) for h in ("olive", "fran", "sam", "bea"))
    town.follow(fran, olive)
    town.post(olive, "a quiet plan #wozzhidden", visibility="followers")
    town.post(olive, "open news #wozzopen")
    town.block(olive, bea)
    town.post(sam, "mine too #wozzsam")
    signed_out = type(sam)("signed out")
    assert sorted(_tags(town, olive, "wozz")) == ["wozzhidden", "wozzopen", "wozzsam"]
    assert "wozzhidden" in _tags(town, fran, "wozz")
    for who in (sam, signed_out, bea):
        assert "wozzhidden" not in _tags(town, who, "wozz"), who.name
        assert "wozzhidden" not in _tags(town, who, "wozzhidden"), who.name
    assert "wozzopen" in _tags(town, sam, "wozz") and "wozzopen" in _tags(town, signed_out, "wozz")
    assert _tags(town, bea, "wozz") == ["wozzsam"]  # olive's tags are not there for someone she blocks
    page = town.client.get("/search", params={"q": "wozz", "tab": "hashtags"}, headers={"accept": "text/html"})
    assert page.status_code == 200 and "wozzhidden" not in page.text and "wozzopen" in page.text


def test_a_tag_on_a_post_made_followers_only_later_disappears(town):
    olive, sam = town.signup("olive"), town.signup("sam")
    post_id = town.post(olive, "soon private #wozzlater")
    assert _tags(town, sam, "wozzlater") == ["wozzlater"]
    town.ok(town.client.patch(f"/api/posts/{post_id}", json={"visibility": "followers"}, headers=olive.headers))
    assert _tags(town, sam, "wozzlater") == []
