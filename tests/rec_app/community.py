"""A hand-built community with clear preferences, and a fast fake text embedder, for the tests."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta

import numpy as np

from townsquare.social.events import log_events
from townsquare.social.models import Account, Follow, Post

TOPICS = {
    "football": "football match goal striker league stadium referee penalty",
    "cooking": "recipe pasta sauce oven garlic bake kitchen flavour",
    "space": "rocket orbit planet telescope galaxy astronaut launch mars",
    "music": "guitar concert album melody drums chorus band vinyl",
}
T0 = datetime(2026, 1, 1, tzinfo=UTC)
DIM = 384


def fake_embed(texts: list[str]) -> np.ndarray:
    """Bag of hashed words, unit length: texts about the same topic land close together."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            h = int(hashlib.md5(w.encode()).hexdigest(), 16)
            out[i, h % DIM] += 1.0 if (h >> 20) % 2 else -1.0
    n = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(n, 1e-9)


def topic_text(rng: random.Random, topic: str) -> str:
    words = TOPICS[topic].split()
    return " ".join(rng.choice(words) for _ in range(6))


def build_community(db, *, people: int = 32, days: int = 16, posts_per_person: int = 6,
                    impressions_per_day: int = 8, seed: int = 0) -> dict:
    """Accounts with one favourite topic each, posts about topics, and a log of feed sessions in
    which people open, like and dwell on their topic and hide the rest. Returns facts for asserts."""
    rng = random.Random(seed)
    topics = list(TOPICS)
    with db.session() as s:
        accounts = [Account(handle=f"u{i}", display_name=f"User {i}", bio=f"I like {topics[i % 4]}",
                            created_at=T0) for i in range(people)]
        s.add_all(accounts)
        s.flush()
        ids = [a.id for a in accounts]
        topic_of = {a.id: topics[i % 4] for i, a in enumerate(accounts)}
        posts = []
        for a in accounts:
            for _ in range(posts_per_person):
                created = T0 + timedelta(hours=rng.uniform(0, days * 24))
                posts.append(Post(author_id=a.id, kind=rng.choice(["text", "photo", "link"]),
                                  text=topic_text(rng, topic_of[a.id]), created_at=created))
        s.add_all(posts)
        s.flush()
        post_topic = {p.id: topic_of[p.author_id] for p in posts}
        post_list = [(p.id, p.author_id, p.created_at) for p in posts]
        rows = [{"actor_id": p.author_id, "action": "post", "entity_type": "post", "entity_id": p.id,
                 "ts": p.created_at} for p in posts]
        following: set[tuple[int, int]] = set()
        for day in range(days):
            for person in ids:
                t = T0 + timedelta(days=day, hours=rng.uniform(8, 20))
                visible = [p for p in post_list if p[2] < t and p[1] != person]
                for pid, author, _ in rng.sample(visible, min(len(visible), impressions_per_day)):
                    t += timedelta(seconds=rng.uniform(5, 60))
                    rows.append({"actor_id": person, "action": "impression", "entity_id": pid, "ts": t,
                                 "surface": "home"})
                    liked = post_topic[pid] == topic_of[person]
                    if liked:
                        if rng.random() < 0.7:
                            rows.append({"actor_id": person, "action": "open", "entity_id": pid,
                                         "ts": t + timedelta(seconds=2)})
                        rows.append({"actor_id": person, "action": "dwell", "entity_id": pid,
                                     "ts": t + timedelta(seconds=3), "dwell_ms": rng.randint(6000, 30000)})
                        if rng.random() < 0.5:
                            rows.append({"actor_id": person, "action": "like", "entity_id": pid,
                                         "ts": t + timedelta(seconds=4)})
                        if (person, author) not in following and rng.random() < 0.3:
                            following.add((person, author))
                            rows.append({"actor_id": person, "action": "follow", "entity_type": "account",
                                         "entity_id": author, "ts": t + timedelta(seconds=5)})
                            if (author, person) not in following and rng.random() < 0.5:
                                following.add((author, person))
                                rows.append({"actor_id": author, "action": "follow", "entity_type": "account",
                                             "entity_id": person, "ts": t + timedelta(hours=3)})
                    else:
                        rows.append({"actor_id": person, "action": "dwell", "entity_id": pid,
                                     "ts": t + timedelta(seconds=1), "dwell_ms": rng.randint(200, 2500)})
                        if rng.random() < 0.15:
                            rows.append({"actor_id": person, "action": "hide", "entity_id": pid,
                                         "ts": t + timedelta(seconds=2)})
        log_events(s, rows)
        for a, b in following:
            s.add(Follow(follower_id=a, followee_id=b, created_at=T0 + timedelta(days=days)))
    return {"ids": ids, "topic_of": topic_of, "post_topic": post_topic, "n_events": len(rows)}


def tiny_train_config(**overrides):
    from townsquare.rec.pipeline import AppTrainConfig

    base = dict(d_model=32, n_layers=1, n_heads=1, max_len=32, epochs=3, max_minutes=1.0, patience=3,
                negatives=32, threads=1, batch_size=16, min_steps=1, dropout=0.0)
    base.update(overrides)
    return AppTrainConfig(**base)


def train_tiny(settings, db, resume: bool = False, **overrides):
    """Train and activate a tiny model on whatever the log holds (fake embeddings, seconds)."""
    from townsquare.rec.pipeline import run_training

    return run_training(settings, db, tiny_train_config(**overrides), embed=fake_embed, dim=DIM, progress=False,
                        resume=resume)
