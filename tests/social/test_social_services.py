"""Service-level rules of the social core (run on SQLite and PostgreSQL through the ``db`` fixture)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from townsquare.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized
from townsquare.social import comments, posts, reactions
from townsquare.social.accounts import authenticate, create_account, set_status
from townsquare.social.models import Account, Follow, Hashtag, Mute, Post
from townsquare.social.timeline import home_timeline


def _people(session, *handles):
    return [create_account(session, h, None) for h in handles]


def test_parse_hashtags_and_mentions():
    assert posts.parse_hashtags("#Hello #hello #Wörld a#b #123 #x_1 &#39;") == ["hello", "wörld", "x_1"]
    assert posts.parse_mentions("hi @Ana, @bob_1 and mail@example.org @ab") == ["ana", "bob_1"]


@pytest.mark.parametrize("url", ["http://example.org", "https://a.b/c?d=e#f"])
def test_valid_links(url):
    assert posts.check_link(url) == url


@pytest.mark.parametrize("url", ["", "example.org", "mailto:x@y.z", "http://", "https://exa mple.org",
                                 "http://[::1", "https://" + "a" * 3000])
def test_invalid_links(url):
    with pytest.raises(InvalidInput):
        posts.check_link(url)


def test_suspended_authors_content_disappears(db):
    with db.session() as session:
        ana, bob = _people(session, "ana", "bob")
        session.add(Follow(follower_id=bob.id, followee_id=ana.id))
        post = posts.create_post(session, ana, text="hello #topic")
        reactions.repost(session, ana, post.id)
        post_id, ana_id = post.id, ana.id
    with db.session() as session:
        bob = session.scalar(select(Account).where(Account.handle == "bob"))
        assert [e.post.id for e in home_timeline(session, bob)] == [post_id]
        set_status(session, session.scalar(select(Account).where(Account.handle == "ana")), "suspended")
    with db.session() as session:
        bob = session.scalar(select(Account).where(Account.handle == "bob"))
        with pytest.raises(NotFound):
            posts.get_post(session, bob, post_id)
        assert home_timeline(session, bob) == []
        assert posts.list_account_posts(session, None, ana_id) == []


def test_suspended_reposter_and_muted_authors_leave_the_timeline(db):
    with db.session() as session:
        me, friend, author = _people(session, "me_", "friend", "author")
        session.add(Follow(follower_id=me.id, followee_id=friend.id))
        post = posts.create_post(session, author, text="original")
        reactions.repost(session, friend, post.id)
        session.flush()
        assert [(e.source, e.reposted_by.handle) for e in home_timeline(session, me)] == [(1, "friend")]
        session.add(Mute(muter_id=me.id, muted_id=author.id))
        session.flush()
        assert home_timeline(session, me) == []  # muted author, even through a repost
        session.execute(Mute.__table__.delete())
        friend.status = "suspended"
        session.flush()
        assert home_timeline(session, me) == []


def test_timeline_shows_a_post_once_per_page(db):
    with db.session() as session:
        me, a, b = _people(session, "me_", "aaa", "bbb")
        session.add_all([Follow(follower_id=me.id, followee_id=a.id), Follow(follower_id=me.id, followee_id=b.id)])
        post = posts.create_post(session, a, text="popular")
        reactions.repost(session, b, post.id)
        session.flush()
        entries = home_timeline(session, me)
        assert [(e.post.id, e.source) for e in entries] == [(post.id, 1)]


def test_counters_and_duplicates(db):
    with db.session() as session:
        ana, bob = _people(session, "ana", "bob")
        post = posts.create_post(session, ana, text="count me")
        reactions.react(session, bob, post.id, "wow")
        with pytest.raises(Conflict):
            reactions.react(session, bob, post.id, "wow")
        reactions.repost(session, bob, post.id)
        with pytest.raises(Conflict):
            reactions.repost(session, bob, post.id)
        c = comments.add_comment(session, bob, post.id, "nice")
        comments.delete_comment(session, ana, c.id)
        session.flush()
        session.refresh(post)
        assert (post.like_count, post.repost_count, post.comment_count) == (1, 1, 0)
        assert ana.post_count == 1
        posts.delete_post(session, ana, post.id)
        session.refresh(ana)
        assert ana.post_count == 0


def test_only_authors_change_posts(db):
    with db.session() as session:
        ana, bob = _people(session, "ana", "bob")
        post = posts.create_post(session, ana, text="mine #one")
        with pytest.raises(Forbidden):
            posts.edit_post(session, bob, post.id, text="yours")
        with pytest.raises(Forbidden):
            posts.delete_post(session, bob, post.id)
        posts.edit_post(session, ana, post.id, text="mine #two #three")
        names = session.scalars(select(Hashtag.name).order_by(Hashtag.name)).all()
        assert names == ["one", "three", "two"]  # tags stay; the post's links follow the text
        assert session.get(Post, post.id).edited_at is not None


def test_password_and_passwordless_accounts(db):
    with db.session() as session:
        create_account(session, "pat", "a long password")
        create_account(session, "botty", None, is_bot=True)
    with db.session() as session:
        assert authenticate(session, "PAT", "a long password").handle == "pat"
        with pytest.raises(Unauthorized):
            authenticate(session, "botty", "anything at all")  # no password: cannot sign in
        with pytest.raises(Conflict):
            create_account(session, "Pat", None)


def test_timeline_pages_walk_posts_and_reposts_without_gaps(db):
    from datetime import UTC, datetime

    from townsquare.social.models import Repost

    same = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    with db.session() as session:
        me, a, b = _people(session, "me_", "aaa", "bbb")
        session.add_all([Follow(follower_id=me.id, followee_id=a.id), Follow(follower_id=me.id, followee_id=b.id)])
        made = [posts.create_post(session, a if i % 2 else b, text=f"p{i}", created_at=same) for i in range(4)]
        other = _people(session, "zzz")[0]
        theirs = [posts.create_post(session, other, text=f"o{i}", created_at=same) for i in range(3)]
        for i, post in enumerate(theirs):  # reposts at the very same instant as the posts
            session.add(Repost(account_id=(a if i % 2 else b).id, post_id=post.id, created_at=same))
        session.flush()
        everything = [e.key for e in home_timeline(session, me, limit=100)]
        assert len(everything) == len(made) + len(theirs)
        walked, before = [], None
        while True:
            page = home_timeline(session, me, before=before, limit=2)
            walked += [e.key for e in page]
            if len(page) < 2:
                break
            before = page[-1].key
        assert walked == everything


def test_duplicate_reposts_neither_cut_a_page_short_nor_skip_entries(db):
    with db.session() as session:
        me, a, b, c, author = _people(session, "me_", "aaa", "bbb", "ccc", "author")
        session.add_all([Follow(follower_id=me.id, followee_id=x.id) for x in (a, b, c)])
        older = posts.create_post(session, a, text="older")
        shared = posts.create_post(session, author, text="shared once")
        popular = posts.create_post(session, author, text="popular")
        reactions.repost(session, c, shared.id)
        for x in (a, b):
            reactions.repost(session, x, popular.id)
        session.flush()
        first = home_timeline(session, me, limit=2)
        assert [e.post.id for e in first] == [popular.id, shared.id]
        rest = home_timeline(session, me, before=first[-1].key, limit=2)
        assert [e.post.id for e in rest] == [older.id]
