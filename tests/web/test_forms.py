"""Forms validate and show their errors next to the fields; every POST needs a valid CSRF token."""

from __future__ import annotations

import re

from .conftest import png_bytes


def _count(db, model) -> int:
    from sqlalchemy import func, select

    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_signup_errors_show_under_the_fields(person, db):
    from townsquare.social.models import Account

    visitor = person()
    short = visitor.post_form("/signup", {"handle": "alice", "password": "short"}, page="/signup")
    assert short.status_code == 422
    assert 'id="password-error"' in short.text and "at least 8 characters" in short.text
    assert 'value="alice"' in short.text  # what was typed stays in the form
    bad_handle = visitor.post_form("/signup", {"handle": "no spaces!", "password": "password123"}, page="/signup")
    assert bad_handle.status_code == 422 and 'id="handle-error"' in bad_handle.text
    assert _count(db, Account) == 0
    person("alice")
    taken = person().post_form("/signup", {"handle": "Alice", "password": "password123"}, page="/signup")
    assert taken.status_code == 409 and "is taken" in taken.text
    assert _count(db, Account) == 1


def test_signin_signout(person):
    person("alice")
    visitor = person()
    wrong = visitor.post_form("/signin", {"login": "alice", "password": "nope-nope"})
    assert wrong.status_code == 401 and "wrong handle or password" in wrong.text.lower()
    assert "ts_session" not in visitor.client.cookies
    empty = visitor.post_form("/signin", {"login": "", "password": ""})
    assert empty.status_code == 422
    ok = visitor.post_form("/signin", {"login": "alice", "password": "password123", "next": "/notifications"})
    assert ok.status_code == 303 and ok.headers["location"] == "/notifications"
    assert visitor.get("/").status_code == 200
    evil = visitor.post_form("/signin", {"login": "alice", "password": "password123", "next": "//evil.example"})
    assert evil.headers["location"] == "/"  # no open redirects
    out = visitor.post_form("/signout", page="/")
    assert out.status_code == 303
    assert visitor.client.get("/", follow_redirects=False).headers["location"] == "/signin"


def test_csrf_is_enforced(person, db):
    from townsquare.social.models import Post

    alice = person("alice")
    missing = alice.post_form("/compose", {"text": "no token"}, csrf=False)
    assert missing.status_code == 403 and "text/html" in missing.headers["content-type"]
    forged = alice.post_form("/compose", {"text": "forged", "csrf": "abc.def"})
    assert forged.status_code == 403
    # A token signed with another key, even if the cookie is set to match, is refused.
    alice.client.cookies.set("ts_csrf", "nonce.0123456789abcdef0123456789abcdef")
    mismatched = alice.post_form("/compose", {"text": "forged", "csrf": "nonce.0123456789abcdef0123456789abcdef"})
    assert mismatched.status_code == 403
    assert _count(db, Post) == 0
    visitor = person()
    no_login_csrf = visitor.post_form("/signup", {"handle": "mallory", "password": "password123"}, csrf=False)
    assert no_login_csrf.status_code == 403
    assert alice.post_form("/compose", {"text": "with a real token"}, page="/compose").status_code == 303
    assert _count(db, Post) == 1


def test_compose_validates_and_keeps_nothing_on_error(person, db, settings):
    from townsquare.social.models import Media, Post

    alice = person("alice")
    empty = alice.post_form("/compose", {"text": "   "}, page="/compose")
    assert empty.status_code == 422 and 'class="alert error"' in empty.text
    too_long = alice.post_form("/compose", {"text": "x" * 5001}, page="/compose")
    assert too_long.status_code == 422 and "at most 5000" in too_long.text
    assert "x" * 100 in too_long.text  # the draft is kept
    not_an_image = alice.post_form("/compose", {"text": "look"}, page="/compose",
                                   files={"media": ("fake.png", b"not really a png", "image/png")})
    assert not_an_image.status_code == 415
    bad_link = alice.post_form("/compose", {"text": "read", "link_url": "javascript:alert(1)"}, page="/compose")
    assert bad_link.status_code == 422
    assert _count(db, Post) == 0 and _count(db, Media) == 0
    link = alice.post_form("/compose", {"text": "read this", "link_url": "https://example.org/a",
                                        "link_title": "An article"}, page="/compose")
    assert link.status_code == 303
    photo = alice.post_form("/compose", {"text": "", "followers_only": "1"}, page="/compose",
                            files={"media": ("p.png", png_bytes(), "image/png")})
    assert photo.status_code == 303
    with db.session() as session:
        kinds = sorted((p.kind, p.visibility) for p in session.query(Post))
    assert kinds == [("link", "public"), ("photo", "followers")]
    assert "An article" in alice.get("/following").text


def test_comments_threaded_and_validated(person):
    alice, bob = person("alice"), person("bob")
    alice.post_form("/compose", {"text": "question of the day"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', alice.get("/following").text).group(1)
    first = bob.post_form(f"/p/{post_id}/comments", {"text": "first!"}, page=f"/p/{post_id}")
    assert first.status_code == 303
    comment_id = first.headers["location"].split("#c")[1]
    reply = alice.post_form(f"/p/{post_id}/comments", {"text": "a reply", "parent_id": comment_id},
                            page=f"/p/{post_id}")
    assert reply.status_code == 303
    page = bob.get(f"/p/{post_id}").text
    assert page.index("first!") < page.index('class="replies"') < page.index("a reply")
    empty = bob.post_form(f"/p/{post_id}/comments", {"text": ""}, page=f"/p/{post_id}")
    assert empty.status_code == 422 and 'role="alert"' in empty.text
    bad_parent = bob.post_form(f"/p/{post_id}/comments", {"text": "x", "parent_id": "abc"}, page=f"/p/{post_id}")
    assert bad_parent.status_code == 422


def test_like_repost_follow_fallback_forms(person):
    alice, bob = person("alice"), person("bob")
    bob.post_form("/compose", {"text": "like me"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', bob.get("/following").text).group(1)
    assert alice.post_form("/@bob/follow", page="/@bob").status_code == 303
    assert "like me" in alice.get("/following").text  # following puts bob on alice's timeline
    assert alice.post_form(f"/p/{post_id}/like", {"next": "/"}, page="/").headers["location"] == "/"
    assert alice.post_form(f"/p/{post_id}/repost", page="/").status_code == 303
    card = alice.get(f"/p/{post_id}").text
    assert 'class="action like on' in card and 'class="action repost on"' in card
    alice.post_form(f"/p/{post_id}/like", page="/")  # toggles off
    assert 'class="action like on' not in alice.get(f"/p/{post_id}").text
    notes = bob.get("/notifications").text
    assert "followed you" in notes and "liked your post" in notes and "reposted your post" in notes


def test_edit_profile(person):
    alice = person("alice")
    saved = alice.post_form("/settings/profile", {"display_name": "Alice Wonder", "bio": "Down the rabbit hole",
                                                  "is_private": "1"}, page="/settings/profile",
                            files={"avatar": ("a.png", png_bytes(), "image/png")})
    assert saved.status_code == 303
    profile = alice.get("/@alice").text
    assert "Alice Wonder" in profile and "Down the rabbit hole" in profile and 'title="Private account"' in profile
    assert re.search(r'<img src="/media/[0-9a-f]{64}\.png"', profile)
    too_long = alice.post_form("/settings/profile", {"display_name": "A", "bio": "b" * 501},
                               page="/settings/profile")
    assert too_long.status_code == 422 and 'id="bio-error"' in too_long.text
    assert "Alice Wonder" in alice.get("/@alice").text  # nothing changed


def test_messages_and_private_accounts(person):
    alice, bob = person("alice"), person("bob")
    sent = alice.post_form("/messages/bob", {"text": "hi bob"}, page="/messages/bob")
    assert sent.status_code == 303
    inbox = bob.get("/messages").text
    assert "hi bob" in inbox and 'class="badge"' in inbox
    convo = bob.get("/messages/alice").text
    assert "hi bob" in convo and 'class="msg theirs"' in convo
    empty = alice.post_form("/messages/bob", {"text": "  "}, page="/messages/bob")
    assert empty.status_code == 422 and "needs some text" in empty.text
    carol = person("carol")
    carol.post_form("/settings/profile", {"display_name": "Carol", "bio": "", "is_private": "1"},
                    page="/settings/profile")
    refused = alice.post_form("/messages/carol", {"text": "hello?"}, page="/messages/carol")
    assert refused.status_code == 403 and "private" in refused.text
    requested = alice.post_form("/@carol/follow", page="/@carol")
    assert requested.status_code == 303
    assert "Requested" in alice.get("/@carol").text
    carol_profile = carol.get("/@carol").text
    assert "Follow requests" in carol_profile and "@alice" in carol_profile
    alice_id = alice.account_id()
    assert carol.post_form(f"/follow_requests/{alice_id}/accept", page="/@carol").status_code == 303
    assert "Following" in alice.get("/@carol").text


def test_report_dialog_form(person):
    alice, bob = person("alice"), person("bob")
    bob.post_form("/compose", {"text": "spammy"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', bob.get("/following").text).group(1)
    page = alice.get(f"/report?post={post_id}")
    assert page.status_code == 200 and "this post by @bob" in page.text
    bad_reason = alice.post_form("/report", {"post_id": post_id, "reason": "because"}, page="/")
    assert bad_reason.status_code == 422 and "reason must be one of" in bad_reason.text.lower()
    ok = alice.post_form("/report", {"post_id": post_id, "reason": "spam", "next": f"/p/{post_id}"}, page="/")
    assert ok.status_code == 303 and ok.headers["location"] == f"/p/{post_id}"
    assert "report was sent" in alice.get(f"/p/{post_id}").text  # one-time notice
    account = alice.post_form("/report", {"account_id": str(bob.account_id()), "reason": "harassment"}, page="/")
    assert account.status_code == 303
    assert alice.get("/report").status_code == 422  # nothing to report


def test_reaction_picker_fallback(person, db):
    from townsquare.social.models import Reaction

    alice, bob = person("alice"), person("bob")
    bob.post_form("/compose", {"text": "funny one"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', bob.get("/following").text).group(1)
    page = alice.get(f"/p/{post_id}").text
    assert 'data-reaction="haha"' in page and 'data-reaction="angry"' in page
    assert alice.post_form(f"/p/{post_id}/react", {"kind": "haha"}, page="/").status_code == 303
    with db.session() as session:
        assert [r.kind for r in session.query(Reaction)] == ["haha"]
    shown = alice.get(f"/p/{post_id}").text
    assert "has-emoji" in shown and "😂" in shown
    assert alice.post_form(f"/p/{post_id}/react", {"kind": "love"}, page="/").status_code == 303
    assert alice.post_form(f"/p/{post_id}/react", {"kind": "love"}, page="/").status_code == 303  # same again: off
    with db.session() as session:
        assert session.query(Reaction).count() == 0
    bad = alice.post_form(f"/p/{post_id}/react", {"kind": "meh"}, page="/")
    assert bad.status_code == 422 and "text/html" in bad.headers["content-type"]


def test_compose_several_photos(person, db):
    from townsquare.social.models import Post

    alice = person("alice")
    two = [("media", (f"p{i}.png", png_bytes(color=(i * 40, 80, 120)), "image/png")) for i in range(2)]
    assert alice.post_form("/compose", {"text": "two"}, page="/compose", files=two).status_code == 303
    assert 'class="media-grid n2"' in alice.get("/following").text
    five = [("media", (f"p{i}.png", png_bytes(color=(i * 40, 10, 10)), "image/png")) for i in range(5)]
    too_many = alice.post_form("/compose", {"text": "five"}, page="/compose", files=five)
    assert too_many.status_code == 422 and "1 to 4 images" in too_many.text
    with db.session() as session:
        assert [len(p.media) for p in session.query(Post)] == [2]


def test_conversation_fragment_for_polling(person):
    alice, bob = person("alice"), person("bob")
    alice.post_form("/messages/bob", {"text": "ping"}, page="/messages/bob")
    fragment = bob.client.get("/messages/alice", headers={"x-fragment": "1"})
    assert fragment.status_code == 200 and "ping" in fragment.text and "<html" not in fragment.text
    assert 'data-poll="/messages/alice"' in bob.get("/messages/alice").text
