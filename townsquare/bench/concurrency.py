"""Many people at once, against the real server: ``townsquare bench concurrency`` and
``townsquare bench durability``.

Concurrency: a fresh database (SQLite in a temporary folder, or a new PostgreSQL database) with a
small community, the real server (``townsquare serve``, one or several workers), one person asking
the assistant through ``/v1`` with the ``openai`` client for the whole run (the configured model:
the bundled one by default), and N others posting, commenting, liking, reading the feed (first and
next pages), opening posts, searching and reporting impressions, each with a short think time.
It reports requests/s and p50/p99 per route, the failures (any status >= 400 or transport error)
and, after a clean stop, every acknowledged write that is missing from the database.

Durability: sustained writes from several clients, ``kill -9`` of the whole server in the middle,
restart, then every write that was acknowledged must be there and SQLite's ``PRAGMA
integrity_check`` must say ``ok``; repeated for several rounds.
"""

from __future__ import annotations

import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import select, text

from townsquare.bench.server import ServerProcess, percentile

WRITE_ROUTES = ("post", "comment", "like")
WORDS = ("hiking", "coffee", "jazz", "football", "garden", "climbing", "pasta", "photography", "cats", "books")
# What one person asks the assistant during the run: requests that tools answer, and requests the
# model answers in its own words (those are the long turns: several seconds of generation).
ASSISTANT_REQUESTS = (
    "catch me up", "write me a short poem about autumn in the city",
    "find posts about hiking", "can you help me plan a relaxed weekend? give me a few ideas",
    "who should I follow?", "tell me a little story about a cat who learns to surf",
    "search for jazz posts", "what are some good habits for sleeping better?",
)


@dataclass
class Person:
    id: int
    handle: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: dict[str, list[str]] = field(default_factory=dict)
    posts: set[int] = field(default_factory=set)  # acknowledged writes
    comments: set[int] = field(default_factory=set)
    likes: set[tuple[int, int]] = field(default_factory=set)  # (account, post)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, route: str, seconds: float, failure: str | None = None) -> None:
        with self.lock:
            self.latencies.setdefault(route, []).append(seconds)
            if failure is not None:
                self.failures.setdefault(route, []).append(failure)

    def acknowledged(self) -> int:
        return len(self.posts) + len(self.comments) + len(self.likes)


# --- a database of its own -------------------------------------------------------------------------
@contextmanager
def scratch_database(backend: str, postgres_url: str) -> Iterator[tuple[str, Path]]:
    """``(database url, data folder)``: a migrated, empty database and folder, removed afterwards."""
    from townsquare.db.migrate import upgrade

    with tempfile.TemporaryDirectory(prefix="ts-bench-") as tmp:
        data = Path(tmp)
        if backend == "sqlite":
            url = f"sqlite:///{data / 'townsquare.db'}"
            upgrade(url)
            yield url, data
            return
        import psycopg

        name = f"townsquare_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = postgres_url.rsplit("/", 1)[0] + "/" + name
        try:
            upgrade(url)
            yield url, data
        finally:
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed_people(url: str, n: int, posts_each: int = 3, seed: int = 7) -> tuple[list[Person], list[int]]:
    """``n`` people who follow each other at random, each with a few public posts, and API tokens."""
    from townsquare.db.engine import Database
    from townsquare.social.accounts import create_account
    from townsquare.social.graph import follow
    from townsquare.social.posts import create_post
    from townsquare.social.tokens import issue_token

    rng = random.Random(seed)
    db = Database(url)
    people, post_ids = [], []
    try:
        with db.session() as s:
            accounts = [create_account(s, f"bench_{i}", "bench password") for i in range(n)]
            for a in accounts:
                for b in rng.sample(accounts, min(len(accounts), 6)):
                    if b.id != a.id:
                        follow(s, a, b.id)
                for j in range(posts_each):
                    post = create_post(s, a, text=f"{rng.choice(WORDS)} and {rng.choice(WORDS)}, day {j} #{rng.choice(WORDS)}")
                    post_ids.append(post.id)
                people.append(Person(a.id, a.handle, issue_token(s, a, name="bench")))
    finally:
        db.dispose()
    return people, post_ids


# --- the load ----------------------------------------------------------------------------------------
def _timed(results: Results, route: str, http: httpx.Client, method: str, url: str, ok=(200, 201),
           **kwargs) -> httpx.Response | None:
    """One request, timed and recorded under ``route``; the response when it succeeded."""
    started = time.perf_counter()
    try:
        response = http.request(method, url, **kwargs)
    except httpx.HTTPError as exc:
        results.record(route, time.perf_counter() - started, f"{type(exc).__name__}")
        return None
    failure = None if response.status_code in ok else f"HTTP {response.status_code}"
    results.record(route, time.perf_counter() - started, failure)
    return response if failure is None else None


def social_client(base: str, me: Person, post_ids: list[int], results: Results, stop: threading.Event,
                  seed: int, think_s: float) -> None:
    rng = random.Random(seed)
    actions = ["post"] * 2 + ["comment"] * 2 + ["like"] * 2 + ["feed"] * 3 + ["open"] * 2 + ["search", "events"]
    liked: set[int] = set()
    with httpx.Client(base_url=base, headers=me.headers, timeout=60) as http:
        while not stop.is_set():
            action = rng.choice(actions)
            target = rng.choice(post_ids)
            if action == "like" and target in liked:
                action = "open"  # one like per post and person (a second is a 409, as it should be)
            if action == "post":
                r = _timed(results, "post", http, "POST", "/api/posts",
                           json={"text": f"{rng.choice(WORDS)} thoughts #{rng.choice(WORDS)}"})
                if r is not None:
                    with results.lock:
                        results.posts.add(int(r.json()["id"]))
                        post_ids.append(int(r.json()["id"]))
            elif action == "comment":
                r = _timed(results, "comment", http, "POST", f"/api/posts/{target}/comments",
                           json={"text": f"nice {rng.choice(WORDS)}"})
                if r is not None:
                    with results.lock:
                        results.comments.add(int(r.json()["id"]))
            elif action == "like":
                liked.add(target)
                if _timed(results, "like", http, "POST", f"/api/posts/{target}/reaction", json={"kind": "like"}):
                    with results.lock:
                        results.likes.add((me.id, target))
            elif action == "feed":
                r = _timed(results, "feed", http, "GET", "/api/feed", params={"limit": 20})
                cursor = r.json().get("next_cursor") if r is not None else None
                if cursor:
                    _timed(results, "feed_next", http, "GET", "/api/feed", params={"limit": 20, "cursor": cursor})
            elif action == "open":
                _timed(results, "open", http, "GET", f"/api/posts/{target}")
            elif action == "search":
                _timed(results, "search", http, "GET", "/api/search", params={"q": rng.choice(WORDS)})
            else:
                shown = rng.sample(post_ids, 5)
                _timed(results, "events", http, "POST", "/api/events", ok=(201,), json={"events": [
                    {"action": "impression", "entity_id": str(p), "surface": "home", "position": i}
                    for i, p in enumerate(shown)]})
            stop.wait(think_s)


def assistant_client(base: str, me: Person, results: Results, stop: threading.Event) -> None:
    """One person asking the assistant through /v1 with the openai client, turn after turn."""
    import openai

    client = openai.OpenAI(base_url=base + "/v1", api_key=me.token, timeout=300, max_retries=0)
    turn = 0
    while not stop.is_set():
        request = ASSISTANT_REQUESTS[turn % len(ASSISTANT_REQUESTS)]
        stream = turn % 2 == 1
        started = time.perf_counter()
        failure = None
        try:
            messages = [{"role": "user", "content": request}]
            if stream:
                text_out = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
                    model="assistant", messages=messages, stream=True) if c.choices)
            else:
                text_out = client.chat.completions.create(model="assistant", messages=messages).choices[0].message.content
            if not text_out:
                failure = "empty answer"
        except openai.OpenAIError as exc:
            failure = type(exc).__name__
        results.record("assistant_v1", time.perf_counter() - started, failure)
        turn += 1


def run_load(base: str, people: list[Person], post_ids: list[int], *, seconds: float, clients: int,
             assistant: bool = True, think_s: float = 0.2, progress=None) -> Results:
    results = Results()
    stop = threading.Event()
    shared_posts = list(post_ids)
    threads = [threading.Thread(target=social_client, args=(base, people[1 + i], shared_posts, results, stop, i, think_s))
               for i in range(clients)]
    if assistant:
        threads.append(threading.Thread(target=assistant_client, args=(base, people[0], results, stop)))
    for t in threads:
        t.start()
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        time.sleep(0.5)
        if progress is not None:
            progress(min(seconds, time.monotonic() - started))
    stop.set()
    for t in threads:
        t.join(600)
    results.latencies["_elapsed"] = [time.monotonic() - started]
    return results


def missing_writes(url: str, results: Results) -> int:
    """Acknowledged writes that are not in the database."""
    from townsquare.db.engine import Database
    from townsquare.social.models import Comment, Post, Reaction

    db = Database(url)
    try:
        with db.session() as s:
            posts = set(s.scalars(select(Post.id)))
            comments = set(s.scalars(select(Comment.id)))
            likes = {(a, p) for a, p in s.execute(select(Reaction.account_id, Reaction.post_id))}
    finally:
        db.dispose()
    return len(results.posts - posts) + len(results.comments - comments) + len(results.likes - likes)


def integrity_ok(url: str) -> bool:
    """SQLite's ``PRAGMA integrity_check``; PostgreSQL keeps its own (true if it answers)."""
    from townsquare.db.engine import Database

    db = Database(url)
    try:
        with db.engine.connect() as conn:
            if db.dialect == "sqlite":
                return conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            return conn.execute(text("SELECT 1")).scalar() == 1
    finally:
        db.dispose()


def route_rows(results: Results) -> list[dict]:
    elapsed = results.latencies.get("_elapsed", [1.0])[0]
    rows = []
    for route, values in sorted(results.latencies.items()):
        if route.startswith("_"):
            continue
        failures = len(results.failures.get(route, []))
        rows.append({"name": route, "metrics": {
            "requests": len(values), "req_per_s": round(len(values) / elapsed, 2), "failed": failures,
            "p50_ms": round(percentile(values, 0.5) * 1e3, 1), "p99_ms": round(percentile(values, 0.99) * 1e3, 1)}})
    return rows


def summary(results: Results, missing: int) -> dict:
    writes = [v for r in WRITE_ROUTES for v in results.latencies.get(r, [])]
    elapsed = results.latencies.get("_elapsed", [1.0])[0]
    total = sum(len(v) for k, v in results.latencies.items() if not k.startswith("_"))
    failures = sorted({f for v in results.failures.values() for f in v})
    return {"requests": total, "req_per_s": round(total / elapsed, 2),
            "failed": sum(len(v) for v in results.failures.values()), "failure_kinds": failures,
            "write_p50_ms": round(percentile(writes, 0.5) * 1e3, 1),
            "write_p99_ms": round(percentile(writes, 0.99) * 1e3, 1),
            "assistant_turns": len(results.latencies.get("assistant_v1", [])),
            "acknowledged_writes": results.acknowledged(), "missing_writes": missing}


# --- kill -9 -----------------------------------------------------------------------------------------
def durability_round(server: ServerProcess, url: str, people: list[Person], post_ids: list[int], *,
                     write_seconds: float, clients: int = 4) -> dict:
    """Writes from ``clients`` people, kill -9 in the middle, restart: what was acknowledged is there."""
    results = Results()
    stop = threading.Event()
    shared = list(post_ids)

    def writer(i: int) -> None:
        rng = random.Random(i)
        me = people[i % len(people)]
        with httpx.Client(base_url=server.base_url, headers=me.headers, timeout=10) as http:
            while not stop.is_set():
                target = rng.choice(shared)
                if rng.random() < 0.5:
                    r = _timed(results, "post", http, "POST", "/api/posts", json={"text": f"durable {rng.random()}"})
                    if r is not None:
                        with results.lock:
                            results.posts.add(int(r.json()["id"]))
                else:
                    r = _timed(results, "comment", http, "POST", f"/api/posts/{target}/comments",
                               json={"text": "still here"})
                    if r is not None:
                        with results.lock:
                            results.comments.add(int(r.json()["id"]))

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    time.sleep(write_seconds)
    server.kill()  # mid-write: requests in flight fail, which is allowed; acknowledged ones must stay
    stop.set()
    for t in threads:
        t.join(30)
    ok = integrity_ok(url)
    server.start()
    return {"acknowledged": results.acknowledged(), "missing": missing_writes(url, results), "integrity_ok": ok}
