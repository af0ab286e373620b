"""Run simulated days against a feed: the loop shared by the seed and by feed benchmarks.

    rows = run_days(sim, feed_for, start, days=30, on_actions=writer.write)

``feed_for(account_id, session_start) -> FeedFn`` builds the feed a person sees in one session. Each
day: optionally new posts (``new_posts``: plan, store, register), then every visitor's session; the
result is one row of ``Simulator.metrics(day)`` per day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from townsquare.sim.behaviour import Action, FeedFn, Simulator
from townsquare.sim.content import PostPlan

FeedFactory = Callable[[int, datetime], FeedFn]


def run_days(sim: Simulator, feed_for: FeedFactory, start: datetime, days: int, *, first_day: int = 0,
             posts_per_day: int = 0, store_posts: Callable[[list[PostPlan]], list[int]] | None = None,
             on_actions: Callable[[list[Action]], None] | None = None,
             on_day_start: Callable[[int, datetime], None] | None = None,
             stop_at: datetime | None = None, progress: Callable[[int], None] | None = None) -> list[dict]:
    """Simulate ``days`` days from ``start`` (day numbers from ``first_day``; they seed the randomness).

    ``store_posts(plans) -> post ids`` writes each day's new posts (``posts_per_day`` of them) wherever
    the feed reads from; they are then registered with the simulator. ``on_actions`` receives each
    day's actions (e.g. ``ActionWriter.write``). Sessions starting at or after ``stop_at`` are skipped."""
    rows = []
    for d in range(days):
        day = first_day + d
        day_start = start + timedelta(days=d)
        if posts_per_day and store_posts is not None:
            plans = sim.plan_new_posts(day, day_start, posts_per_day)
            ids = store_posts(plans)
            sim.add_posts(sim.post_info(plan, pid) for plan, pid in zip(plans, ids, strict=True))
        if on_day_start is not None:
            on_day_start(day, day_start)
        actions: list[Action] = []
        for account_id, session_start in sim.plan_day(day, day_start):
            if stop_at is not None and session_start >= stop_at:
                continue
            actions.extend(sim.session(account_id, feed_for(account_id, session_start), day, session_start))
        if on_actions is not None:
            on_actions(actions)
        rows.append({"day": day, **sim.metrics(day)})
        if progress is not None:
            progress(day)
    return rows
