"""``townsquare seed`` on a real database (SQLite and PostgreSQL through the ``db`` fixture)."""

from __future__ import annotations

import io
from collections import Counter
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select, text

from townsquare.config import load_settings
from townsquare.db import migrate
from townsquare.db.engine import Database
from townsquare.errors import InvalidInput
from townsquare.sim.community import CommunityTruth, load_simulator, sim_dir
from townsquare.sim.media import stored_media_path
from townsquare.sim.seed import DEMO_PASSWORD, SeedOptions, seed_community
from townsquare.social import models as m

ANCHOR = datetime(2026, 2, 1, tzinfo=UTC)
SMALL = dict(people=60, posts=500, days=5, seed=5, anchor=ANCHOR, photo_variants=2, video_variants=1)


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_seed_writes_a_consistent_community(settings, db):
    report = seed_community(settings, db, SeedOptions(**SMALL))
    assert not report.skipped
    with db.session() as s:
        accounts = {a.handle: a for a in s.scalars(select(m.Account))}
        assert len(accounts) == 61 and accounts["admin"].is_admin and not accounts["demo"].is_admin
        from argon2 import PasswordHasher

        assert PasswordHasher().verify(accounts["demo"].password_hash, DEMO_PASSWORD)
        assert all(a.avatar_media_id for h, a in accounts.items() if h != "admin")
        avatar = s.get(m.Media, accounts["demo"].avatar_media_id)
        assert avatar.owner_id == accounts["demo"].id and avatar.mime_type == "image/jpeg"
        posts = s.scalars(select(m.Post)).all()
        assert len(posts) == 500
        assert {p.kind for p in posts} == {"text", "photo", "video", "link"}
        assert {p.visibility for p in posts} == {"public", "followers"}
        assert all(p.created_at < ANCHOR for p in posts)
        # Every photo/video post has a media file that exists and decodes.
        media = s.execute(select(m.Post.kind, m.Media).join(m.PostMedia, m.PostMedia.post_id == m.Post.id)
                          .join(m.Media, m.Media.id == m.PostMedia.media_id)).all()
        assert len(media) == sum(p.kind in ("photo", "video") for p in posts)
        from PIL import Image

        for kind, item in {(k, md.sha256): (k, md) for k, md in media}.values():
            path = stored_media_path(settings.media_dir, item.sha256, "jpg" if kind == "photo" else "mp4")
            data = path.read_bytes()
            assert len(data) == item.size_bytes
            if kind == "photo":
                assert item.mime_type == "image/jpeg"
                assert Image.open(io.BytesIO(data)).size == (item.width, item.height)
            else:
                assert item.mime_type == "video/mp4" and data[4:8] == b"ftyp"
        # The demo login follows a good set of people and has a lively home timeline.
        demo = accounts["demo"]
        assert demo.following_count >= 30
        # Counters agree with the rows.
        for a in accounts.values():
            assert a.follower_count == s.scalar(select(func.count()).where(m.Follow.followee_id == a.id))
            assert a.post_count == s.scalar(select(func.count()).where(m.Post.author_id == a.id))
        for p in posts:
            assert p.like_count == s.scalar(select(func.count()).where(m.Reaction.post_id == p.id))
            assert p.comment_count == s.scalar(select(func.count()).where(m.Comment.post_id == p.id))
        # Comments have threads, there are messages, hashtags, blocks, mutes and pending requests.
        assert s.scalar(select(func.count()).where(m.Comment.parent_id.is_not(None))) > 0
        for model in (m.Comment, m.Reaction, m.Message, m.Conversation, m.Hashtag, m.PostHashtag, m.Block,
                      m.Mute, m.FollowRequest, m.Notification):
            assert count(s, model) > 0, model.__tablename__
        # Events: every kind of action the simulator produces is in the log, consistent with the rows.
        actions = Counter(dict(s.execute(select(m.Event.action, func.count()).group_by(m.Event.action)).all()))
        for action in ("impression", "dwell", "open", "like", "comment", "follow", "post", "message"):
            assert actions[action] > 0, action
        assert len(report.simulated_actions) >= 8
        for action, n in report.simulated_actions.items():
            assert actions[action] >= n, action
        assert actions["like"] == count(s, m.Reaction)
        assert actions["repost"] == count(s, m.Repost)
        assert actions["comment"] == count(s, m.Comment)
        assert actions["post"] == 500
        assert actions["message"] == count(s, m.Message)
        assert actions["report"] == count(s, m.Report)
        assert actions["follow"] == count(s, m.Follow) + count(s, m.FollowRequest)
        assert actions["impression"] > actions["like"] > 0
        assert sum(actions.values()) == report.counts["events"]
        assert count(s, m.Notification) == report.counts["notifications"]
        assert count(s, m.Follow) == report.counts["follows"]
        # Notifications match what happened (likes on other people's posts).
        like_notes = s.scalar(select(func.count()).where(m.Notification.kind == "like"))
        others = s.scalar(select(func.count()).select_from(m.Reaction).join(m.Post, m.Post.id == m.Reaction.post_id)
                          .where(m.Post.author_id != m.Reaction.account_id))
        assert like_notes == others
        # Nobody interacts across a block.
        for blocker, blocked in s.execute(select(m.Block.blocker_id, m.Block.blocked_id)).all():
            for x, y in ((blocker, blocked), (blocked, blocker)):
                assert not s.scalar(select(func.count()).where(m.Follow.follower_id == x, m.Follow.followee_id == y))
    assert report.counts["sessions"] > 0


def test_hidden_preferences_stay_out_of_the_database(settings, db):
    seed_community(settings, db, SeedOptions(**SMALL))
    truth = CommunityTruth.load(sim_dir(settings.data_dir))
    assert truth.meta["complete"] and truth.population.handles[0] == "demo"
    from townsquare.db.base import Base

    tables = {t.name for t in Base.metadata.sorted_tables}
    names = " ".join(f"{t}.{c.name}" for t in Base.metadata.sorted_tables for c in t.columns)
    for word in ("affinit", "patience", "sociab"):
        assert word not in names
    # No stored value carries a preference: search every text column for the exact hidden numbers.
    hidden = {f"{v:.6f}" for v in truth.population.topics[1:6].ravel() if v > 0.01}
    with db.engine.connect() as conn:
        for table in tables:
            for row in conn.execute(text(f'SELECT * FROM "{table}"')):
                dumped = " ".join(str(v) for v in row)
                assert not any(h in dumped for h in hidden)


def test_if_empty_skips_and_a_non_empty_database_is_refused(settings, db):
    options = SeedOptions(people=10, posts=30, days=2, seed=1, anchor=ANCHOR, photo_variants=1, video_variants=1)
    seed_community(settings, db, options)
    with db.session() as s:
        before = (count(s, m.Account), count(s, m.Post), count(s, m.Event))
    assert seed_community(settings, db, options, if_empty=True).skipped
    with pytest.raises(InvalidInput):
        seed_community(settings, db, options)
    with db.session() as s:
        assert (count(s, m.Account), count(s, m.Post), count(s, m.Event)) == before
    report = seed_community(settings, db, SeedOptions(**{**options.__dict__, "seed": 2}), reset=True)
    assert not report.skipped
    with db.session() as s:
        assert count(s, m.Account) == 11


def test_a_failed_seed_leaves_nothing_behind(settings, db, monkeypatch):
    from townsquare.sim import seed as seed_module

    def boom(self):
        raise RuntimeError("stopped")

    monkeypatch.setattr(seed_module._Seeder, "recount", boom)
    with pytest.raises(RuntimeError):
        seed_community(settings, db, SeedOptions(people=10, posts=30, days=2, anchor=ANCHOR))
    with db.session() as s:
        assert count(s, m.Account) == 0 and count(s, m.Event) == 0
    monkeypatch.undo()
    assert not seed_community(settings, db, SeedOptions(people=10, posts=30, days=2, anchor=ANCHOR),
                              if_empty=True).skipped


def test_load_simulator_over_a_seeded_database(settings, db):
    seed_community(settings, db, SeedOptions(**SMALL))
    with db.session() as s:
        sim = load_simulator(s, settings.data_dir)
        demo_id = s.scalar(select(m.Account.id).where(m.Account.handle == "demo"))
        person = sim.account_ids[1]
        post_ids = s.scalars(select(m.Post.id).order_by(m.Post.id).limit(25)).all()
        assert sim.follows(demo_id, sim.account_ids[next(iter(sim.following[0]))])
        i = sim.index_of[person]
        assert sim.seen[i] == set(s.scalars(select(m.Event.entity_id).where(m.Event.actor_id == person,
                                                                          m.Event.action == "impression")))
        assert sim.liked[i] == set(s.scalars(select(m.Reaction.post_id).where(m.Reaction.account_id == person)))
        assert len(sim.requested) == count(s, m.FollowRequest)
        truth = CommunityTruth.load(sim_dir(settings.data_dir))
        assert np.array_equal(sim.satisfaction, truth.satisfaction) and np.array_equal(sim.churned, truth.churned)
        assert truth.satisfaction.std() > 0  # the history moved people's satisfaction
        # Same ground truth as during the seed (noise keyed by plan order, not by database ids).
        assert sim.posts[post_ids[0]].noise_key == 0
        scores = [sim.true_affinity(person, p) for p in post_ids]
        assert all(0.0 <= x <= 1.0 for x in scores) and len(set(scores)) > 5
        actions = sim.session(person, lambda _a, page: post_ids[page * 10 : (page + 1) * 10], day=0, start=ANCHOR)
        assert actions and actions[0].action in ("impression", "follow")


def _snapshot(url: str) -> dict:
    database = Database(url)
    try:
        with database.session() as s:
            return {
                "accounts": s.execute(select(m.Account.handle, m.Account.bio, m.Account.follower_count)
                                      .order_by(m.Account.handle)).all(),
                "posts": s.execute(select(m.Account.handle, m.Post.kind, m.Post.text, m.Post.created_at,
                                          m.Post.like_count).join(m.Account, m.Account.id == m.Post.author_id)
                                   .order_by(m.Post.created_at, m.Account.handle, m.Post.text)).all(),
                "comments": sorted(s.scalars(select(m.Comment.text)).all()),
                "events": s.execute(select(m.Event.action, func.count()).group_by(m.Event.action)
                                    .order_by(m.Event.action)).all(),
                "media": sorted(s.scalars(select(m.Media.sha256)).all()),
            }
    finally:
        database.dispose()


def test_same_seed_same_community(tmp_path):
    snaps = []
    for run, seed in (("a", 3), ("b", 3), ("c", 4)):
        settings = load_settings(env={}, data_dir=tmp_path / run)
        url = settings.sqlalchemy_url
        settings.ensure_dirs()
        migrate.upgrade(url)
        database = Database(url)
        seed_community(settings, database, SeedOptions(people=25, posts=150, days=3, seed=seed, anchor=ANCHOR,
                                                       photo_variants=1, video_variants=1))
        database.dispose()
        snaps.append(_snapshot(url))
    assert snaps[0] == snaps[1]
    assert snaps[0]["posts"] != snaps[2]["posts"]


def test_cli_seed_if_empty(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app

    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("TOWNSQUARE_DATABASE_URL", raising=False)
    runner = CliRunner()
    first = runner.invoke(app, ["seed", "--people", "12", "--posts", "40", "--days", "2", "--anchor",
                                "2026-02-01T00:00:00"])
    assert first.exit_code == 0, first.output
    assert "demo" in first.output and "demo-password" in first.output
    second = runner.invoke(app, ["seed", "--if-empty"])
    assert second.exit_code == 0 and "nothing seeded" in second.output
    third = runner.invoke(app, ["seed"])
    assert third.exit_code == 1 and "--reset" in third.output
    bad = runner.invoke(app, ["seed", "--anchor", "yesterday"])
    assert bad.exit_code == 2


def test_the_app_serves_the_seeded_community(settings, db, client):
    seed_community(settings, db, SeedOptions(**SMALL))
    signin = client.post("/api/auth/signin", json={"login": "demo", "password": DEMO_PASSWORD})
    assert signin.status_code == 200, signin.text
    headers = {"Authorization": f"Bearer {signin.json()['token']}"}
    home = client.get("/api/timeline/home", params={"limit": 50}, headers=headers)
    assert home.status_code == 200, home.text
    assert len(home.json()["items"]) >= 10
    # Media of seeded public posts are served like uploads (files of followers-only posts are checked
    # on access: see tests/security).
    with db.session() as s:
        media = s.scalars(select(m.Media).join(m.PostMedia, m.PostMedia.media_id == m.Media.id)
                          .join(m.Post, m.Post.id == m.PostMedia.post_id)
                          .where(m.Post.visibility == "public", m.Post.deleted_at.is_(None))).first()
    ext = "jpg" if media.mime_type == "image/jpeg" else "mp4"
    served = client.get(f"/media/{media.sha256}.{ext}")
    assert served.status_code == 200 and served.content[:2] in (b"\xff\xd8", b"\x00\x00")
    # Search finds seeded posts by topic words; the demo login has notifications and conversations.
    found = client.get("/api/search", params={"q": "coffee"}, headers=headers)
    assert found.status_code == 200
    with db.session() as s:
        coffee_posts = s.scalar(select(func.count()).where(m.Post.text.ilike("%coffee%"),
                                                           m.Post.visibility == "public"))
    assert (len(found.json()["items"]) > 0) == (coffee_posts > 0)
    assert client.get("/api/notifications", headers=headers).json()["items"]
    assert client.get("/api/conversations", headers=headers).json()["items"]


def test_simulated_days_after_the_seed_write_through_the_action_writer(settings, db):
    """The benchmark recipe of docs/sim.md: load the simulator, run days with new posts, persist."""
    from datetime import timedelta

    from townsquare.sim.feeds import ChronologicalFeed
    from townsquare.sim.media import MediaPool
    from townsquare.sim.runner import run_days
    from townsquare.sim.writer import ActionWriter, recount, write_posts

    seed_community(settings, db, SeedOptions(**SMALL))
    with db.session() as s:
        sim = load_simulator(s, settings.data_dir)
        writer = ActionWriter(s, sim, seed=1)
        feed = ChronologicalFeed(sim)
        before_events, before_posts = count(s, m.Event), count(s, m.Post)
        pool = MediaPool(settings.media_dir, 2, 1)
        new_ids: list[int] = []

        def store(plans):
            ids, _ = write_posts(s, sim.account_ids, plans, pool)
            new_ids.extend(ids)
            return ids

        def on_actions(actions):
            feed.record(actions)
            writer.write(actions)

        rows = run_days(sim, feed.feed_for, ANCHOR, 2, first_day=100, posts_per_day=80, store_posts=store,
                        on_actions=on_actions, on_day_start=lambda _d, start: feed.start_day(start))
        recount(s)
    assert [r["day"] for r in rows] == [100, 101] and all(r["sessions"] > 0 for r in rows)
    with db.session() as s:
        assert count(s, m.Post) == before_posts + 160
        assert count(s, m.Event) == before_events + writer.counts["events"] + 160 > before_events + 160
        new_posts = s.scalars(select(m.Post).where(m.Post.id.in_(new_ids))).all()
        assert all(ANCHOR <= p.created_at < ANCHOR + timedelta(days=2) for p in new_posts)
        for p in new_posts:
            assert len(p.media) == (1 if p.kind in ("photo", "video") else 0)
            assert p.like_count == s.scalar(select(func.count()).where(m.Reaction.post_id == p.id))
        assert sum(p.like_count for p in new_posts) > 0
        assert writer.action_counts["impression"] > 0
