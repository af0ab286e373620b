"""Pages never show a followers-only post to someone who does not follow its author."""

from __future__ import annotations

import re

SECRET = "followers only secret #hush"


def _post_id(person, text: str) -> str:
    page = person.get(f"/@{person.handle}").text
    ids = re.findall(r'data-post-id="(\d+)"', page)
    assert ids, page[:500]
    return ids[0]


def test_followers_only_posts_stay_with_followers(person):
    alice, follower, stranger, visitor = person("alice"), person("fran"), person("sam"), person()
    assert follower.post_form("/@alice/follow", page="/@alice").status_code == 303
    assert alice.post_form("/compose", {"text": SECRET, "followers_only": "1"}, page="/compose").status_code == 303
    post_id = _post_id(alice, SECRET)

    # The author and a follower see it everywhere it belongs.
    assert SECRET.split(" #")[0] in alice.get("/following").text
    assert SECRET.split(" #")[0] in follower.get("/following").text
    assert follower.get(f"/p/{post_id}").status_code == 200
    assert "followers only secret" in follower.get("/@alice").text
    assert "followers only secret" in follower.get("/tags/hush").text

    # Nobody else sees it on any page: post page, profile, home, search, hashtag, load-more fragments.
    for someone in (stranger, visitor):
        assert someone.get(f"/p/{post_id}").status_code == 404
        for path in ["/@alice", "/search?q=secret", "/tags/hush", "/search?q=%23hush",
                     "/@alice?cursor=&start=0"]:
            response = someone.get(path)
            assert "followers only secret" not in response.text, (path, someone.handle)
        report = someone.get(f"/report?post={post_id}", follow_redirects=False, headers={"accept": "text/html"})
        assert report.status_code == (404 if someone is stranger else 303)
    assert "followers only secret" not in stranger.get("/following").text
    comment = stranger.post_form(f"/p/{post_id}/comments", {"text": "let me in"}, page="/")
    assert comment.status_code == 404
    like = stranger.post_form(f"/p/{post_id}/like", page="/")
    assert like.status_code == 404


def test_notifications_do_not_leak_followers_only_posts(person):
    alice, bob = person("alice"), person("bob")
    # bob follows alice, alice posts followers-only and mentions bob; then bob unfollows.
    bob.post_form("/@alice/follow", page="/@alice")
    alice.post_form("/compose", {"text": "hey @bob private plans", "followers_only": "1"}, page="/compose")
    assert "private plans" in bob.get("/notifications").text
    bob.post_form("/@alice/unfollow", page="/@alice")
    notes = bob.get("/notifications").text
    assert "private plans" not in notes


def test_blocking_hides_everything_both_ways(person):
    alice, bob = person("alice"), person("bob")
    alice.post_form("/compose", {"text": "public hello"}, page="/compose")
    post_id = _post_id(alice, "public hello")
    assert bob.post_form("/@alice/block", page="/@alice").status_code == 303
    assert "public hello" not in bob.get("/@alice").text
    assert "You blocked @alice" in bob.get("/@alice").text
    assert alice.get(f"/p/{post_id}").status_code == 200
    assert bob.get(f"/p/{post_id}").status_code == 404
    assert alice.get("/@bob").status_code == 404  # the blocker is not there for alice
    assert alice.post_form("/@bob/follow", page="/").status_code == 404
    assert bob.post_form("/@alice/unblock", page="/@alice").status_code == 303
    assert "public hello" in bob.get("/@alice").text
