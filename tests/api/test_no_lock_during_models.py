"""Many people at once: no transaction is open while a model runs, and reads never wait for the
database's writer.

The model used here checks, at every call, that another connection could write right now: on
SQLite it takes the write lock with no wait; on PostgreSQL no connection of the test database is
left idle inside a transaction. Before the fix, an assistant turn held SQLite's write lock for
its whole length (about 20 s with the bundled model) and other people's posts failed with
"database is locked".
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time

import pytest
from scripted_llm import ScriptedLLM
from sqlalchemy import text


def _writer_free(db) -> str | None:
    """None when another connection could start writing now, else why not."""
    if db.dialect == "sqlite":
        conn = sqlite3.connect(db.engine.url.database, timeout=0)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            return None
        except sqlite3.OperationalError as exc:
            return f"sqlite: {exc}"
        finally:
            conn.close()
    with db.engine.connect() as conn:
        open_ = conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'")).scalar()
    return None if not open_ else f"postgresql: {open_} connection(s) idle in a transaction"


class LockCheckingLLM(ScriptedLLM):
    def __init__(self, db, *script, answer="Here you go."):
        super().__init__(*script, answer=answer)
        self.db, self.problems, self.calls = db, [], 0

    def _check(self):
        self.calls += 1
        problem = _writer_free(self.db)
        if problem:
            self.problems.append(problem)

    def chat_with_tools(self, messages, tools, tool_choice="auto", **kwargs):
        self._check()
        return super().chat_with_tools(messages, tools, tool_choice, **kwargs)

    def chat(self, messages, stream=False, **kwargs):
        self._check()
        return super().chat(messages, stream=stream, **kwargs)


@pytest.fixture
def people(client, signup, follow):
    me, mia = signup("mee_lock"), signup("mia_lock", display_name="Mia")
    follow(me, mia)
    posted = client.post("/api/posts", json={"text": "Sunset bouldering session #climbing"}, headers=mia.headers)
    return me, mia, posted.json()["id"]


def _assistant(app, db, *script):
    llm = LockCheckingLLM(db, *script)
    app.state.llms["assistant"] = llm
    return llm


@pytest.mark.parametrize("stream", [False, True])
def test_assistant_turns_hold_no_transaction_while_the_model_runs(app, client, db, people, stream):
    me, mia, post_id = people
    llm = _assistant(app, db, [("search_posts", {"query": "bouldering"})], [])
    conversation = client.post("/api/assistant/conversations", headers=me.headers).json()
    response = client.post(f"/api/assistant/conversations/{conversation['id']}/messages",
                           json={"text": "find bouldering posts", "stream": stream}, headers=me.headers)
    assert response.status_code == 200
    llm2 = _assistant(app, db, [("react_to_post", {"post_id": post_id})])
    response = client.post("/v1/chat/completions", headers=me.headers, json={
        "model": "assistant", "stream": stream, "messages": [{"role": "user", "content": "like mia's post"}]})
    assert response.status_code == 200
    assert llm.calls >= 1 and llm2.calls >= 1
    assert llm.problems == [] and llm2.problems == []


@pytest.mark.parametrize("stream", [False, True])
def test_creator_ai_chats_hold_no_transaction_while_the_model_runs(app, client, db, signup, stream):
    mia, fan = signup("mia_lockai"), signup("fan_lockai")
    for said in ("My favourite food is ramen, I eat it every Friday night.",
                 "Jazz records are the music I play all weekend long."):
        assert client.post("/api/posts", json={"text": said}, headers=mia.headers).status_code == 201
    created = client.post("/api/studio/ais", json={"name": "Mia AI", "visibility": "public"}, headers=mia.headers)
    assert created.status_code == 201
    llm = LockCheckingLLM(db, answer="Ramen, of course.")
    app.state.llms["creator"] = llm
    app.state.settings.llm_backend = "remote"  # a large model writes the answer around Mia's own words
    response = client.post("/v1/chat/completions", headers=fan.headers, json={
        "model": "creator/mia_lockai", "stream": stream,
        "messages": [{"role": "user", "content": "what is your favourite food?"}]})
    assert response.status_code == 200, response.text
    response = client.post("/api/studio/creators/mia_lockai/ais/mia-ai/chat", headers=fan.headers,
                           json={"text": "what music do you play at the weekend?", "stream": stream})
    assert response.status_code == 200, response.text
    assert llm.calls == 2 and llm.problems == []


def test_auto_replies_hold_no_transaction_while_the_model_writes(app, client, db, signup):
    from townsquare.safety.shields import BuiltinShield
    from townsquare.studio.autoreply import process_pending

    mia, fan = signup("mia_autolock"), signup("fan_autolock")
    ai = client.post("/api/studio/ais", json={"name": "Mia AI", "visibility": "public"}, headers=mia.headers).json()
    assert client.put(f"/api/studio/ais/{ai['id']}/auto-replies/comments", headers=mia.headers,
                      json={"enabled": True, "audience": "everyone"}).status_code == 200
    post = client.post("/api/posts", json={"text": "New route set today at the climbing gym, grade 6b"},
                       headers=mia.headers).json()
    app.state.settings.llm_backend = "remote"  # the model writes replies around Mia's own words
    for question in ("what grade is the new route?", "where is the climbing gym?"):
        assert client.post(f"/api/posts/{post['id']}/comments", json={"text": question},
                           headers=fan.headers).status_code == 201
    llm = LockCheckingLLM(db, answer="Thanks for asking!")
    with db.session() as session:
        done = process_pending(session, llm=llm, shield=BuiltinShield(), settings=app.state.settings)
    assert done == 2 and llm.calls == 2 and llm.problems == []


def test_reads_and_observed_events_never_wait_for_the_writer(app, client, db, people):
    """Another connection holds the write lock (a long import, a slow writer): opening a post, the
    feed, search and reporting impressions still answer at once; their events are written later."""
    if db.dialect != "sqlite":
        pytest.skip("the single-writer lock is SQLite's")
    me, mia, post_id = people
    client.get("/api/feed", headers=me.headers)  # the first page loads what is long-lived
    holder = sqlite3.connect(db.engine.url.database, timeout=0)
    holder.execute("BEGIN IMMEDIATE")
    try:
        started = time.monotonic()
        assert client.get(f"/api/posts/{post_id}", headers=me.headers).status_code == 200
        assert client.get("/api/feed", headers=me.headers).status_code == 200
        assert client.get("/api/search", params={"q": "bouldering"}, headers=me.headers).status_code == 200
        assert client.post("/api/events", headers=me.headers, json={"events": [
            {"action": "impression", "entity_id": post_id, "surface": "home", "position": 0},
            {"action": "dwell", "entity_id": post_id, "surface": "home", "dwell_ms": 1200}]}).status_code == 201
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert elapsed < 3, f"reads waited for the writer: {elapsed:.1f} s"
    app.state.services.events.flush()
    mine = client.get("/api/events/me", headers=me.headers).json()["items"]
    assert {"open", "search", "impression", "dwell"} <= {e["action"] for e in mine}


def test_writes_succeed_while_an_assistant_turn_is_generating(app, client, db, people, signup):
    """The reported failure: one person's assistant turn, another person's posts at the same time."""
    me, mia, _ = people
    entered, release = threading.Event(), threading.Event()

    class SlowLLM(ScriptedLLM):
        def chat_with_tools(self, *args, **kwargs):
            entered.set()
            release.wait(10)
            return super().chat_with_tools(*args, **kwargs)

    app.state.llms["assistant"] = SlowLLM([("search_posts", {"query": "bouldering"})], [])
    out = {}
    turn = threading.Thread(target=lambda: out.setdefault("r", client.post("/v1/chat/completions", headers=me.headers,
                            json={"model": "assistant", "messages": [{"role": "user", "content": "find climbing"}]})))
    turn.start()
    try:
        assert entered.wait(10)
        started = time.monotonic()
        for i in range(3):
            r = client.post("/api/posts", json={"text": f"post {i} while the AI thinks"}, headers=mia.headers)
            assert r.status_code == 201, r.text
        assert time.monotonic() - started < 3
    finally:
        release.set()
        turn.join(20)
    assert out["r"].status_code == 200
    assert json.loads(out["r"].text)["choices"][0]["message"]["content"]
