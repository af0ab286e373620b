"""Development harness (not a benchmark): the before/after micro-measurements quoted in
docs/benchmarks.md (session 5, feed latency), each the median CPU ms of the same work done the old
way and the new way, on a seeded community with a trained model:

    OMP_NUM_THREADS=1 python docs/results/feed_dev/micro.py DATA_DIR
"""
import json
import os
import random
import sqlite3
import statistics
import sys
import time

os.environ["TOWNSQUARE_DATA_DIR"] = sys.argv[1]
import numpy as np  # noqa: E402
import torch  # noqa: E402
from sqlalchemy import bindparam, or_, select, text  # noqa: E402
from townsquare.feed.feedbench import sample_viewers  # noqa: E402
from townsquare.rec.dataset import tokenize  # noqa: E402

from townsquare.config import load_settings  # noqa: E402
from townsquare.db.engine import Database  # noqa: E402
from townsquare.db.ids import id_list, in_ids  # noqa: E402
from townsquare.feed import sources as src  # noqa: E402
from townsquare.feed.scoring import load_scorer  # noqa: E402
from townsquare.social.events import EventRecord  # noqa: E402
from townsquare.social.models import Account, Post  # noqa: E402
from townsquare.social.visibility import visible_posts_clause  # noqa: E402


def median_ms(fn, cases, repeat=1):
    out = []
    for case in cases:
        for _ in range(repeat):
            c = time.process_time()
            fn(case)
            out.append((time.process_time() - c) * 1e3)
    return statistics.median(out)


def row(name, before, after):
    print(f"{name:<58} {before:8.2f} -> {after:6.2f} ms")


settings = load_settings()
db = Database(settings.sqlalchemy_url)
db_file = settings.sqlalchemy_url.removeprefix("sqlite:///")
rng = random.Random(0)
with db.session() as s:
    top = s.scalar(select(Post.id).order_by(Post.id.desc()).limit(1))
id_sets = [rng.sample(range(top - 50_000, top), 600) for _ in range(30)]

# 1. SQLite page reads: SQLite's own 2 MB cache vs the memory map (raw sqlite3, the candidate read).
CAND_SQL = """SELECT posts.id, posts.author_id, posts.kind, posts.created_at FROM posts
JOIN accounts ON accounts.id = posts.author_id
WHERE posts.id IN (SELECT value FROM json_each(?)) AND posts.deleted_at IS NULL AND posts.removed_at IS NULL
AND accounts.status = 'active' AND (posts.author_id = ? OR NOT (EXISTS (SELECT * FROM blocks
WHERE blocks.blocker_id = ? AND blocks.blocked_id = posts.author_id OR blocks.blocker_id = posts.author_id
AND blocks.blocked_id = ?)) AND (posts.visibility = 'public' OR (EXISTS (SELECT * FROM follows
WHERE follows.follower_id = ? AND follows.followee_id = posts.author_id))))"""  # the feed's, compiled


def candidate_read(conn):
    return lambda ids: conn.execute(CAND_SQL, [json.dumps(ids), 7, 7, 7, 7]).fetchall()


plain, mapped = sqlite3.connect(db_file), sqlite3.connect(db_file)
mapped.execute("PRAGMA mmap_size=1073741824")
for conn in (plain, mapped):
    median_ms(candidate_read(conn), id_sets)  # warm the file cache alike
row("600-candidate read, raw sqlite3: default cache -> mmap", median_ms(candidate_read(plain), id_sets, 3),
    median_ms(candidate_read(mapped), id_sets, 3))

# 2. The same read through SQLAlchemy: expanded IN list + per-call statement vs in_ids + built once.
def expanded(ids):
    with db.session() as s:
        s.execute(select(Post.id, Post.author_id, Post.kind, Post.created_at).join(Account, Account.id == Post.author_id)
                  .where(Post.id.in_(ids), visible_posts_clause(7))).all()


PREBUILT = (select(Post.id, Post.author_id, Post.kind, Post.created_at).join(Account, Account.id == Post.author_id)
            .where(in_ids(Post.id), visible_posts_clause(bindparam("viewer"))))


def one_param(ids):
    with db.session() as s:
        s.execute(PREBUILT, {"ids": id_list(ids), "viewer": 7}).all()


row("600-candidate read, SQLAlchemy: expanded IN -> in_ids", median_ms(expanded, id_sets, 3),
    median_ms(one_param, id_sets, 3))

# 3. The catalogue refresh's two reads: OR over the posts table vs two partial indexes; new posts
#    ordered by creation time (a walk of that index) vs by id (a primary-key range).
with db.session() as s:
    gone_or = select(Post.id).where(or_(Post.deleted_at.is_not(None), Post.removed_at.is_not(None)))
    gone_union = text("SELECT id FROM posts WHERE deleted_at IS NOT NULL UNION ALL "
                      "SELECT id FROM posts WHERE removed_at IS NOT NULL")
    newest = top - 10
    by_time = (select(Post.id).join(Account, Account.id == Post.author_id)
               .where(Post.deleted_at.is_(None), Account.status == "active", Post.id > newest)
               .order_by(Post.created_at.desc(), Post.id.desc()).limit(50_000))
    by_id = (select(Post.id).join(Account, Account.id == Post.author_id)
             .where(Post.deleted_at.is_(None), Account.status == "active", Post.id > newest)
             .order_by(Post.id.desc()).limit(50_000))
    row("refresh: deleted/removed posts, OR scan -> partial indexes",
        median_ms(lambda _: s.execute(gone_or).all(), range(10)),
        median_ms(lambda _: s.execute(gone_union).all(), range(10)))
    row("refresh: posts since the last look, by time -> by id",
        median_ms(lambda _: s.execute(by_time).all(), range(10)),
        median_ms(lambda _: s.execute(by_id).all(), range(10)))

# 4. Tokenizing 400 events: SQLAlchemy rows as they come vs made EventRecords first (30 heaviest).
with db.session() as s:
    heavy = list(s.scalars(text("SELECT actor_id FROM events GROUP BY actor_id ORDER BY count(*) DESC LIMIT 30")))
    histories = [s.execute(src._LATEST_EVENTS, {"viewer": v, "n": 1000}).all()[:400] for v in heavy]
row("tokenize 400 events: rows -> EventRecords first", median_ms(lambda r: tokenize(reversed(r)), histories),
    median_ms(lambda r: tokenize(reversed([EventRecord(*x[:9]) for x in r])), histories))

# 5. Model retrieval: gather the allowed rows' vectors then score vs score every row and mask.
scorer = load_scorer(settings)
if scorer is not None:
    states = [scorer.encode(v) for v in sample_viewers(db, 60, 7)]
    store = scorer.posts
    vectors = store.vectors

    def gathered(state):
        ok = scorer._visible_mask(state, store)
        cand = np.nonzero(ok)[0]
        with torch.no_grad():
            scores = scorer.model.retrieval_scores(state.vector[None], torch.from_numpy(vectors[cand]))[0]
        torch.topk(scores, 200)

    row("model retrieval (50k posts): gather then score -> score all, mask", median_ms(gathered, states, 3),
        median_ms(lambda st: scorer.retrieve(st, 200), states, 3))

# 6. What the shared lists cost to recompute (a background thread, every 60 s): no before/after.
from datetime import UTC, datetime  # noqa: E402

from townsquare.feed.config import SourceConfig  # noqa: E402

with db.session() as s:
    now = s.scalar(select(Post.created_at).order_by(Post.created_at.desc()).limit(1)) or datetime.now(UTC)
    for name in ("trending", "popular"):
        def recompute(_, name=name):
            src.SHARED.clear()
            src.SOURCES[name](s, None, SourceConfig(), now)
        print(f"{'shared list recomputed: ' + name:<58} {median_ms(recompute, range(5)):8.2f} ms")
