"""Every page renders for signed-in and signed-out people; errors are friendly HTML pages."""

from __future__ import annotations

import re

import pytest

from .conftest import png_bytes

SIGNED_IN_PAGES = ["/", "/compose", "/@alice", "/settings/profile", "/messages", "/notifications", "/search",
                   "/search?q=hello", "/search?q=alice&tab=people", "/tags/hello", "/messages/bob"]


def test_signed_in_pages_render(person):
    alice = person("alice", display_name="Alice A")
    person("bob")
    assert alice.post_form("/compose", {"text": "hello #hello world"}, page="/compose").status_code == 303
    for path in SIGNED_IN_PAGES:
        response = alice.get(path)
        assert response.status_code == 200, (path, response.text[:300])
        assert response.headers["content-type"].startswith("text/html")
        assert '<nav class="nav"' in response.text and "@alice" in response.text, path
    home = alice.get("/following").text
    assert "hello" in home and 'href="/tags/hello"' in home  # hashtags become links
    post_id = re.search(r'data-post-id="(\d+)"', home).group(1)
    page = alice.get(f"/p/{post_id}")
    assert page.status_code == 200 and "Add a comment" in page.text


def test_signed_out_visitor(person):
    alice = person("alice")
    alice.post_form("/compose", {"text": "public words"}, page="/compose")
    visitor = person()
    assert visitor.client.get("/", follow_redirects=False).headers["location"] == "/signin"
    for path in ["/notifications", "/messages", "/compose", "/settings/profile", "/admin/reports"]:
        response = visitor.client.get(path, follow_redirects=False, headers={"accept": "text/html"})
        assert response.status_code == 303, path
        assert response.headers["location"].startswith("/signin?next=" + path), path
    profile = visitor.get("/@alice")
    assert profile.status_code == 200 and "public words" in profile.text and "Sign in" in profile.text
    for path in ["/signin", "/signup", "/search?q=public"]:
        assert visitor.get(path).status_code == 200, path


def test_error_pages_are_html_and_api_errors_stay_json(person):
    alice = person("alice")
    for path in ["/p/999999", "/p/not-a-number", "/@nobody_here", "/no/such/page", "/tags/bad-tag!"]:
        response = alice.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("text/html"), path
        assert "Nothing here" in response.text
    api = alice.client.get("/api/posts/999999")
    assert api.status_code == 404 and api.json()["error"]["code"] == "not_found"
    bad_cursor = alice.get("/following?cursor=%%%garbage")
    assert bad_cursor.status_code == 422 and "text/html" in bad_cursor.headers["content-type"]


def test_admin_queue_is_for_admins_only(person, db):
    from townsquare.social.models import Account

    alice, bob = person("alice"), person("bob")
    assert alice.get("/admin/reports").status_code == 403
    with db.session() as session:
        session.query(Account).filter(Account.handle == "alice").update({"is_admin": True})
    bob.post_form("/compose", {"text": "buy cheap stuff"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', bob.get("/@bob").text).group(1)
    reported = alice.post_form("/report", {"post_id": post_id, "reason": "spam", "next": "/"}, page="/")
    assert reported.status_code == 303
    queue = alice.get("/admin/reports")
    assert queue.status_code == 200 and "buy cheap stuff" in queue.text
    report_id = re.search(r'/admin/reports/(\d+)/resolve', queue.text).group(1)
    done = alice.post_form(f"/admin/reports/{report_id}/resolve", {"action": "remove_post"}, page="/admin/reports")
    assert done.status_code == 303
    assert alice.get(f"/p/{post_id}").status_code == 404  # removed for everyone
    assert "All clear" in alice.get("/admin/reports").text


def test_photo_post_shows_on_timeline_with_its_image(person):
    alice = person("alice")
    response = alice.post_form("/compose", {"text": "my photo"}, page="/compose",
                               files={"media": ("pic.png", png_bytes(), "image/png")})
    assert response.status_code == 303
    home = alice.get("/following").text
    src = re.search(r'<img src="(/media/[0-9a-f]{64}\.png)"', home)
    assert src, home[:2000]
    image = alice.client.get(src.group(1))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"


def test_load_more_pages_through_the_timeline(person):
    alice = person("alice")
    for i in range(23):
        alice.post_form("/compose", {"text": f"post number {i}"}, page="/compose")
    home = alice.get("/following").text
    assert home.count('data-post-id="') == 20
    more = re.search(r'href="([^"]+)" data-more', home).group(1).replace("&amp;", "&")
    fragment = alice.client.get(more, headers={"x-fragment": "1"})
    assert fragment.status_code == 200
    assert fragment.text.count('data-post-id="') == 3 and "<html" not in fragment.text
    assert 'data-position="20"' in fragment.text  # positions continue for impression logging
    assert "data-more" not in fragment.text


@pytest.mark.parametrize("path", ["/static/app.css", "/static/app.js", "/static/favicon.svg"])
def test_static_files_are_served(client, path):
    response = client.get(path)
    assert response.status_code == 200 and len(response.content) > 100


def test_static_files_cannot_escape_their_folder(client):
    for path in ["/static/..%2f..%2fconfig.py", "/static/nope.css", "/static/__init__.py"]:
        assert client.get(path).status_code == 404, path


def test_followers_and_following_lists(person):
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    bob.post_form("/@alice/follow", page="/@alice")
    carol.post_form("/@alice/follow", page="/@alice")
    followers = alice.get("/@alice/followers")
    assert followers.status_code == 200 and "@bob" in followers.text and "@carol" in followers.text
    assert "Follow back" in followers.text
    assert "@alice" in bob.get("/@bob/following").text
    assert alice.get("/@alice/enemies").status_code == 404
    alice.post_form("/settings/profile", {"display_name": "Alice", "bio": "", "is_private": "1"},
                    page="/settings/profile")
    dave = person("dave")
    hidden = dave.get("/@alice/followers")
    assert hidden.status_code == 403 and "@bob" not in hidden.text


def test_pages_send_security_headers(person):
    alice = person("alice")
    response = alice.get("/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert "onclick=" not in response.text and "javascript:" not in response.text
