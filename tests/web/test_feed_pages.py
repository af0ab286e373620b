"""The ranked "For you" page (reasons on every card), feed controls, "Who to follow"."""

from __future__ import annotations

import re


def test_for_you_shows_ranked_posts_with_reasons(person):
    alice, bob = person("alice"), person("bob")
    bob.post_form("/compose", {"text": "ranked hello #feedtest"}, page="/compose")
    alice.post_form("/@bob/follow", page="/@bob")
    page = alice.get("/for-you")
    assert page.status_code == 200
    assert "ranked hello" in page.text
    assert 'data-surface="for_you"' in page.text
    assert "Why am I seeing this?" in page.text and "Because you follow @bob" in page.text
    assert 'class="active" role="tab" aria-selected="true">For you' in page.text.replace("\n", "")
    visitor = person()
    assert visitor.client.get("/for-you", follow_redirects=False).headers["location"].startswith("/signin")


def test_for_you_never_shows_followers_only_posts_to_others(person):
    alice, stranger = person("alice"), person("sam")
    alice.post_form("/compose", {"text": "inner circle only", "followers_only": "1"}, page="/compose")
    alice.post_form("/compose", {"text": "open to all"}, page="/compose")
    feed = stranger.get("/for-you").text
    assert "inner circle only" not in feed


def test_feed_settings_validate_and_save(person):
    alice = person("alice")
    page = alice.get("/settings/feed")
    assert page.status_code == 200 and 'name="discovery"' in page.text
    bad = alice.post_form("/settings/feed", {"mode": "ranked", "discovery": "7"}, page="/settings/feed")
    assert bad.status_code == 422 and "discovery" in bad.text.lower()
    bad_mode = alice.post_form("/settings/feed", {"mode": "random"}, page="/settings/feed")
    assert bad_mode.status_code == 422
    ok = alice.post_form("/settings/feed", {"mode": "chronological", "discovery": "0.8", "weight_video": "2"},
                         page="/settings/feed")
    assert ok.status_code == 303
    saved = alice.get("/settings/feed").text
    assert re.search(r'value="chronological"\s+checked', saved)
    assert 'value="0.8"' in saved and 'id="weight_video" name="weight_video" type="range"' in saved
    assert "Newest first, as you chose" in alice.get("/for-you").text


def test_show_less_and_who_to_follow(person):
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    carol.post_form("/@bob/follow", page="/@bob")
    bob.post_form("/@alice/follow", page="/@alice")
    bob.post_form("/compose", {"text": "not for me"}, page="/compose")
    alice.post_form("/@bob/follow", page="/@bob")
    home = alice.get("/following").text
    assert "Who to follow" in home and "@carol" in home  # a friend of a friend
    post_id = re.search(r'data-post-id="(\d+)"', home).group(1)
    hidden = alice.post_form(f"/p/{post_id}/hide", {"next": "/"}, page="/")
    assert hidden.status_code == 303
    assert "see less like this" in alice.get("/following").text
