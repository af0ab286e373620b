"""Deleting an account: hidden at once from every surface, content removed after the grace period,
signing in before then cancels; the export; the tracking opt-out.

The every-surface test runs on a small community with a trained model (SQLite), so the model's
candidate catalogue is the real one the feed retrieves from."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from townsquare.social.models import Account, Event, Media, Message, Post

PASSWORD = "password123"
SECRET_WORD = "zanzibarquux"


def _client(app, handle: str) -> TestClient:
    client = TestClient(app)
    response = client.post("/api/auth/signin", json={"login": handle, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.headers["Authorization"] = "Bearer " + response.json()["token"]
    return client


@pytest.fixture
def community(tmp_path):
    from rec_app.community import build_community, train_tiny

    from townsquare.config import load_settings
    from townsquare.db import migrate
    from townsquare.db.engine import Database
    from townsquare.social.accounts import hash_password

    url = f"sqlite:///{tmp_path / 'ts.db'}"
    migrate.upgrade(url)
    db = Database(url)
    facts = build_community(db, people=10, days=5, posts_per_person=4, impressions_per_day=5)
    with db.session() as s:
        s.execute(Account.__table__.update().values(password_hash=hash_password(PASSWORD)))
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=url, secret_key="t",
                             auth_rate_limit_per_minute=1000, preload_models=False)
    out = train_tiny(settings, db, epochs=1)
    assert out.activated, out.reason
    yield settings, db, facts
    db.dispose()


def test_a_deleted_person_is_gone_from_every_surface(community, tmp_path):
    from rec_app.community import fake_embed
    from web.conftest import png_bytes

    from townsquare.assistant.memory import add_memory
    from townsquare.rec.serve import Scorer
    from townsquare.server.app import create_app
    from townsquare.social import lifecycle, media, messages, posts
    from townsquare.social.accounts import get_account
    from townsquare.studio import grounding
    from townsquare.studio.models import CreatorAI
    from townsquare.studio.service import AIFields, create_ai

    settings, db, facts = community
    victim_id, friend_id = facts["ids"][1], facts["ids"][2]
    with db.session() as s:
        victim = get_account(s, victim_id)
        photo = media.store_upload(s, victim, png_bytes(64, 48), media_dir=settings.media_store, max_bytes=10**7)
        secret = posts.create_post(s, victim, kind="photo", text=f"my {SECRET_WORD} photo #{SECRET_WORD}",
                                   media_ids=[photo.id])
        messages.send_message(s, victim, friend_id, f"a private {SECRET_WORD} note")
        add_memory(s, victim_id, "I like jazz")
        create_ai(s, victim, AIFields(name="Victim AI", description="answers as me"))
        s.flush()
        secret_id, photo_key = secret.id, media.file_name(photo)
        victim_posts = list(s.scalars(select(Post.id).where(Post.author_id == victim_id)))
        victim_handle = victim.handle

    app = create_app(settings, db)
    friend = _client(app, f"u{facts['ids'].index(friend_id)}")
    visitor = TestClient(app)
    assert friend.get(f"/api/posts/{secret_id}").status_code == 200
    assert friend.get("/api/search", params={"q": SECRET_WORD}).json()["items"]
    scorer = Scorer.load_active(settings, db=db, embed=fake_embed)
    scorer.refresh()
    assert any(scorer.posts.alive[scorer.posts.row[p]] for p in victim_posts if p in scorer.posts.row)

    with db.session() as s:
        lifecycle.schedule_deletion(s, s.get(Account, victim_id), grace=timedelta(days=14))

    def gone_everywhere() -> None:
        assert friend.get(f"/api/accounts/{victim_id}").status_code == 404
        assert friend.get(f"/api/posts/{secret_id}").status_code == 404
        assert visitor.get(f"/@{victim_handle}", headers={"accept": "text/html"}).status_code == 404
        assert visitor.get(f"/p/{secret_id}", headers={"accept": "text/html"}).status_code == 404
        assert friend.get("/api/search", params={"q": SECRET_WORD}).json()["items"] == []
        people = friend.get("/api/search", params={"q": victim_handle, "type": "people"}).json()["items"]
        assert all(p["id"] != str(victim_id) for p in people)
        assert visitor.get(f"/tags/{SECRET_WORD}", headers={"accept": "text/html"}).text.count(SECRET_WORD + " photo") == 0
        feed = friend.get("/api/feed", params={"limit": 50}).json()["items"]
        assert all(item["post"]["author"]["id"] != str(victim_id) for item in feed)
        # The model's candidate catalogue: none of the person's posts can be retrieved.
        scorer.refresh()
        for pid in victim_posts:
            if pid in scorer.posts.row:
                assert not scorer.posts.alive[scorer.posts.row[pid]], pid
        state = scorer.encode(friend_id)
        assert not set(victim_posts) & {pid for pid, _ in scorer.retrieve(state, 500)}
        # Creator AI grounding: nothing of theirs to ground on, and their AI is not found.
        with db.session() as s:
            assert grounding.public_posts_of(s, victim_id) == []
        assert visitor.get(f"/@{victim_handle}/ai", headers={"accept": "text/html"}).status_code == 404

    gone_everywhere()  # hidden at once, during the grace period
    with db.session() as s:
        assert lifecycle.due_for_purge(s) == []  # not yet due
        due = lifecycle.due_for_purge(s, now=s.get(Account, victim_id).deletion_due_at + timedelta(seconds=1))
        assert due == [victim_id]
        account = s.get(Account, victim_id)
        account.deletion_due_at = account.deletion_due_at - timedelta(days=15)
    reports = lifecycle.purge_due(db.session, settings.media_store)
    assert [r.account_id for r in reports] == [victim_id] and reports[0].media_files >= 1

    gone_everywhere()  # and removed for good
    with db.session() as s:
        account = s.get(Account, victim_id)
        assert account.handle == f"deleted_{victim_id}" and account.email is None and account.password_hash is None
        assert s.scalar(select(func.count()).select_from(Event).where(Event.actor_id == victim_id)) == 0
        assert s.scalar(select(func.count()).select_from(Media).where(Media.owner_id == victim_id)) == 0
        assert s.scalar(select(func.count()).select_from(Message).where(Message.sender_id == victim_id)) == 0
        assert s.scalar(select(func.count()).select_from(CreatorAI).where(CreatorAI.owner_id == victim_id)) == 0
        texts = s.scalars(select(Post.text).where(Post.author_id == victim_id)).all()
        assert texts and all(t == "" for t in texts)  # tombstones: no content left
        from townsquare.assistant.models import Memory

        assert s.scalar(select(func.count()).select_from(Memory).where(Memory.account_id == victim_id)) == 0
    assert not settings.media_store.exists(media.media_key(photo_key.split(".")[0], photo_key.split(".")[1]))
    friend.close()
    visitor.close()
    app.state.services.close()
