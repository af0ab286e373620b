"""Feed benchmarks on a seeded synthetic community.

- ``latency``: p50/p99 of a 30-item first page (fresh ranking: sources, model or heuristic
  scoring, value model, blender, hydration) and of the next page (cached ranking), in process.
- ``http_throughput``: requests per second of ``GET /api/feed?limit=30`` through a real uvicorn
  server, with N concurrent clients.
- ``simulate``: the ``Simulator`` scrolls the feed each system serves for D days and acts by its
  hidden preferences; chronological vs heuristic vs unified model, each on its own copy of the
  seeded database, with the same people, moods and new posts (common random numbers).
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from townsquare.config import Settings
from townsquare.db.engine import Database
from townsquare.feed.service import FeedService
from townsquare.social.models import Account, Post


def percentiles(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, dtype=np.float64)
    if not a.size:
        return {"p50_ms": 0.0, "p99_ms": 0.0, "mean_ms": 0.0}
    return {"p50_ms": float(np.percentile(a, 50)), "p99_ms": float(np.percentile(a, 99)),
            "mean_ms": float(a.mean())}


def _cpu(ms: list[float]) -> dict[str, float]:
    p = percentiles(ms)
    return {"cpu_p50_ms": p["p50_ms"], "cpu_p99_ms": p["p99_ms"]}


def sample_viewers(db: Database, n: int, seed: int) -> list[int]:
    with db.session() as s:
        ids = list(s.scalars(select(Account.id).where(Account.status == "active").order_by(Account.id)))
    rng = np.random.default_rng(seed)
    return [int(x) for x in rng.choice(ids, size=min(n, len(ids)), replace=False)]


def latency(settings: Settings, db: Database, viewers: list[int], limit: int = 30, progress=None,
            heuristic: bool = False) -> list[dict]:
    """``heuristic``: rank with ``HeuristicRanker`` even when a trained model is active."""
    service = FeedService(settings, scorer=None) if heuristic else FeedService(settings)
    first, second, parts = [], [], Counter()
    # CPU time of the process during each page, next to the wall time: on a shared machine the
    # wall time is mostly other people's jobs, the CPU time is what the feed itself spends.
    first_cpu, second_cpu = [], []
    ranked_by = Counter()
    # warm-up: scorer load, shared trending/popular lists, SQLite page cache
    with db.session() as s:
        service.page(s, s.get(Account, viewers[0]), None, limit)
    for k, vid in enumerate(viewers):
        with db.session() as s:
            viewer = s.get(Account, vid)
            t0, c0 = time.perf_counter(), time.process_time()
            page = service.page(s, viewer, None, limit)
            first.append((time.perf_counter() - t0) * 1e3)
            first_cpu.append((time.process_time() - c0) * 1e3)
            ranked_by[page.ranked_by] += 1
            for key, v in page.timings_ms.items():
                parts[key] += v
            if page.next_cursor:
                t0, c0 = time.perf_counter(), time.process_time()
                service.page(s, viewer, page.next_cursor, limit)
                second.append((time.perf_counter() - t0) * 1e3)
                second_cpu.append((time.process_time() - c0) * 1e3)
        if progress:
            progress(k + 1)
    n = max(len(first), 1)
    return [
        {"name": "feed_first_page", "metrics": {**percentiles(first), **_cpu(first_cpu), "requests": len(first),
                                                **{k: v / n for k, v in parts.items()}},
         "config": {"limit": limit, "ranked_by": dict(ranked_by)}},
        {"name": "feed_next_page", "metrics": {**percentiles(second), **_cpu(second_cpu), "requests": len(second)},
         "config": {"limit": limit}},
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_throughput(settings: Settings, db: Database, viewers: list[int], requests: int = 200,
                    concurrency: int = 4, limit: int = 30) -> dict:
    """Requests per second of GET /api/feed through uvicorn (fresh first pages, N clients)."""
    from concurrent.futures import ThreadPoolExecutor

    import httpx
    import uvicorn

    from townsquare.server.app import create_app
    from townsquare.social.tokens import issue_token

    with db.session() as s:
        tokens = [issue_token(s, s.get(Account, v), name="bench") for v in viewers]
    app = create_app(settings, db)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", workers=1))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}/api/feed?limit={limit}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    lat: list[float] = []
    errors = 0
    statuses: Counter = Counter()
    first_error: list[str] = []
    lock = threading.Lock()

    def one(k: int) -> None:
        nonlocal errors
        with httpx.Client(timeout=60) as client:
            t0 = time.perf_counter()
            r = client.get(url, headers={"Authorization": f"Bearer {tokens[k % len(tokens)]}"})
            dt = (time.perf_counter() - t0) * 1e3
        with lock:
            lat.append(dt)
            errors += r.status_code != 200
            statuses[r.status_code] += 1
            if r.status_code != 200 and not first_error:
                first_error.append(r.text[:300])

    try:
        one(0)  # warm-up
        lat.clear()
        t0 = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            list(pool.map(one, range(requests)))
        wall = time.perf_counter() - t0
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    return {"name": "feed_http", "metrics": {"requests_per_s": requests / wall, **percentiles(lat),
                                            "errors": errors, "requests": requests},
            "config": {"concurrency": concurrency, "limit": limit, "server": "uvicorn, 1 worker",
                       "statuses": dict(statuses), "first_error": first_error[0] if first_error else None}}


# -- simulation ------------------------------------------------------------------------------------
def _copy_community(src: Settings, dest_dir: Path) -> Settings:
    """A private copy of the seeded SQLite database and the simulator's hidden truth."""
    from townsquare.sim.community import sim_dir

    if dest_dir.exists():
        shutil.rmtree(dest_dir)
    dest_dir.mkdir(parents=True)
    import sqlite3

    db_file = Path(src.sqlalchemy_url.removeprefix("sqlite:///"))
    # The backup API copies committed pages still in the WAL too (a file copy would miss them).
    with sqlite3.connect(db_file) as source, sqlite3.connect(dest_dir / "townsquare.db") as dest:
        source.backup(dest)
    shutil.copytree(sim_dir(src.data_dir), sim_dir(dest_dir))
    if src.models_dir.exists():  # the trained unified model, for the "model" system
        shutil.copytree(src.models_dir, dest_dir / "models")
    return replace(src, data_dir=dest_dir, database_url="")


def _write_posts(session, sim, plans) -> None:
    from townsquare.social.models import Hashtag, PostHashtag

    aid = sim.account_ids
    rows = [Post(author_id=aid[p.author], kind=p.kind, text=p.text, link_url=p.link_url, link_title=p.link_title,
                 visibility=p.visibility, created_at=p.created_at) for p in plans]
    session.add_all(rows)
    session.flush()
    names = sorted({t for p in plans for t in p.hashtags})
    tags = {h.name: h.id for h in session.scalars(select(Hashtag).where(Hashtag.name.in_(names)))} if names else {}
    for n in names:
        if n not in tags:
            h = Hashtag(name=n)
            session.add(h)
            session.flush()
            tags[n] = h.id
    session.add_all([PostHashtag(post_id=r.id, hashtag_id=tags[t]) for r, p in zip(rows, plans, strict=True)
                     for t in dict.fromkeys(p.hashtags)])
    session.flush()
    sim.add_posts(sim.post_info(p, r.id) for r, p in zip(rows, plans, strict=True))


def _restore_history(session, sim) -> None:
    """What each person already saw, liked, reposted and requested (so nothing is done twice)."""
    from townsquare.social.models import Event, FollowRequest, Reaction, Repost

    index = sim.index_of
    for sets, query in (
        (sim.seen, select(Event.actor_id, Event.entity_id).where(Event.action == "impression")),
        (sim.liked, select(Reaction.account_id, Reaction.post_id)),
        (sim.reposted, select(Repost.account_id, Repost.post_id)),
    ):
        for actor, post in session.execute(query):
            i = index.get(actor)
            if i is not None and post is not None:
                sets[i].add(post)
    for a, b in session.execute(select(FollowRequest.requester_id, FollowRequest.target_id)):
        ia, ib = index.get(a), index.get(b)
        if ia is not None and ib is not None:
            sim.requested.add((ia, ib))


def _sim_metrics(sim, existing: set[tuple[int, int]], shown: Counter) -> dict[str, float]:
    """The simulate metrics over every session so far."""
    summaries = sim.summaries
    follows_now = {(i, j) for i, fs in enumerate(sim.following) for j in fs}
    new_follows = follows_now - existing
    two_way = sum(1 for i, j in new_follows if i in sim.following[j])
    simulated = [i for i in range(len(sim.account_ids)) if not (i == 0 and not sim.simulate_demo)]
    active = sum(1 for i in simulated if not sim.churned[i])
    n = max(len(summaries), 1)
    return {
        "sessions": len(summaries),
        "engagement_per_session": sum(s.engaged for s in summaries) / n,
        "hides_per_session": sum(s.negative for s in summaries) / n,
        "items_per_session": sum(s.items_seen for s in summaries) / n,
        "mean_affinity": float(np.mean([s.mean_affinity for s in summaries])) if summaries else 0.0,
        "new_follows": len(new_follows),
        "two_way_share": two_way / len(new_follows) if new_follows else 0.0,
        "still_active": active / max(len(simulated), 1),
        "discovery_share": (shown[(False, False)] + shown[(False, True)]) / max(sum(shown.values()), 1),
        "hide_rate_in_network": shown[(True, True)] / max(shown[(True, True)] + shown[(True, False)], 1),
        "hide_rate_discovery": shown[(False, True)] / max(shown[(False, True)] + shown[(False, False)], 1),
    }


@dataclass(frozen=True)
class Retraining:
    """Scheduled retraining of the model system during the simulated days, as a deployment would run
    ``townsquare train --fine-tune`` on a schedule: after every ``every_days`` days the active model
    is continued for ``epochs`` epochs on the last ``window_days`` days of the log (which by then
    holds what people did in front of the model's own feed) and served from the next day on."""

    every_days: int
    epochs: int = 2
    window_days: float = 14.0


def _retrain(settings: Settings, db: Database, plan: Retraining, day: int, log=None) -> dict:
    from townsquare.rec.pipeline import AppTrainConfig, run_fine_tune

    t0 = time.monotonic()
    tc = AppTrainConfig(epochs=plan.epochs, max_minutes=None, threads=1, seed=day)
    out = run_fine_tune(settings, db, tc, window_days=plan.window_days, log_fn=log)
    return {"day": day, "version": out.version, "activated": out.activated,
            "seconds": round(time.monotonic() - t0, 1)}


def simulate_system(system: str, settings: Settings, days: int, seed: int, page_size: int = 10,
                    progress=None, on_day=None, retrain: Retraining | None = None, log=None) -> dict:
    """Run ``days`` simulated days in which people scroll the ``system`` feed; returns the metrics.
    ``on_day(day, metrics)`` receives the totals after each day. ``retrain``: the model system's
    retraining schedule (default: trained once, before the first day)."""
    from townsquare.feed.scoring import load_scorer
    from townsquare.sim.community import load_simulator
    from townsquare.sim.writer import ActionWriter

    db = Database(settings.sqlalchemy_url)
    clock = {"now": datetime.now(UTC)}
    if system == "model":
        scorer = load_scorer(settings)
        if scorer is None:
            return {"name": system, "metrics": {}, "config": {"skipped": "no trained unified model (rec serve)"}}
    else:
        scorer = None
    service = FeedService(settings, scorer=scorer, clock=lambda: clock["now"])
    session = db.sessionmaker()
    try:
        sim = load_simulator(session, settings.data_dir, seed=seed)
        _restore_history(session, sim)
        writer = ActionWriter(session, sim, seed=seed)
        start = session.scalar(select(func.max(Post.created_at))) or datetime.now(UTC)
        start = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        n_posts = session.scalar(select(func.count(Post.id)).where(Post.created_at >= start - timedelta(days=7)))
        per_day = max(1, int((n_posts or 0) / 7))
        existing = {(a, b) for a, b in ((i, j) for i, fs in enumerate(sim.following) for j in fs)}
        n_people = len(sim.account_ids)
        accounts = {}
        shown = Counter()  # (in network?, hidden?) of every item shown: where hides come from
        retrains: list[dict] = []
        for day in range(days):
            day_start = start + timedelta(days=day)
            _write_posts(session, sim, sim.plan_new_posts(day, day_start, per_day))
            session.commit()
            actions = []
            for account_id, t in sim.plan_day(day, day_start):
                if sim.is_churned(account_id):
                    continue
                clock["now"] = t
                viewer = accounts.get(account_id) or session.get(Account, account_id)
                accounts[account_id] = viewer
                state = {"cursor": None, "done": False, "chron": None}

                def feed_fn(_aid, page, viewer=viewer, state=state):
                    if state["done"]:
                        return []
                    if system == "chronological":
                        p = service._chronological(session, viewer, page_size, state["chron"])
                        if p.next_cursor:
                            from townsquare.feed.service import _decode

                            _, a, b = _decode(p.next_cursor)
                            state["chron"] = (a, b)
                        else:
                            state["done"] = True
                    else:
                        p = service.page(session, viewer, state["cursor"], page_size)
                        state["cursor"] = p.next_cursor
                        state["done"] = p.next_cursor is None
                    return [i.post.id for i in p.items]

                i = sim.index_of[account_id]
                following_before = set(sim.following[i])
                session_actions = sim.session(account_id, feed_fn, day, t)
                hid = {a.entity_id for a in session_actions if a.action == "hide"}
                for a in session_actions:
                    if a.action == "impression" and a.entity_id in sim.posts:
                        author = sim.index_of.get(sim.posts[a.entity_id].author_id)
                        shown[(author in following_before or author == i, a.entity_id in hid)] += 1
                writer.write(session_actions)  # the next person's feed sees these
                session.commit()  # the model scorer reads through its own connection
                if scorer is not None and hasattr(scorer, "invalidate"):
                    scorer.invalidate(account_id)
                actions += session_actions
            session.commit()
            if (scorer is not None and retrain is not None and retrain.every_days > 0
                    and (day + 1) % retrain.every_days == 0 and day + 1 < days):
                retrains.append(_retrain(settings, db, retrain, day + 1, log))
                fresh = load_scorer(settings)
                if fresh is not None:
                    getattr(scorer, "db", None) and scorer.db.dispose()
                    scorer = fresh
                    service._scorer = scorer
                    service.cache.clear()
            if progress:
                progress(day + 1)
            if on_day is not None:  # the totals so far: a long run that is stopped still reports
                on_day(day + 1, _sim_metrics(sim, existing, shown))
        config = {"days": days, "people": n_people, "new_posts_per_day": per_day, "page_size": page_size,
                  "seed": seed}
        if system == "model" and retrain is not None and retrain.every_days > 0:
            config["retrain"] = {"every_days": retrain.every_days, "epochs": retrain.epochs,
                                 "window_days": retrain.window_days, "runs": retrains}
        return {"name": system, "metrics": _sim_metrics(sim, existing, shown), "config": config}
    finally:
        session.close()
        db.dispose()
