"""A proxy on the *served* model during a simulation (development aid, not part of the package).

``proxy.py`` ranks at the end of the seeded history with the model trained once on it, whose hide head
has seen almost no discovery misses. This one runs the model system of ``bench simulate`` for some
days (with its scheduled fine-tunes) and, at the end of chosen days, dumps every candidate the feed
considered for a sample of people: the model's heads, the value, freshness and controls factors,
``content_knn``, and the simulator's felt value u of the item. ``eval`` then replays the blender on
the dumps under other rules or weights and scores the first N items by the simulator's formulas
(docs/sim.md), in seconds.

    PYTHONPATH=$PWD python docs/results/sim_dev/dynproxy.py dump --data-dir D --days 4 --at 2,4 \
        --retrain-every 2 --out X.pkl [--people 80]
    PYTHONPATH=$PWD python docs/results/sim_dev/dynproxy.py eval X.pkl [--items 20]
"""

from __future__ import annotations

import argparse
import json
import math
import pickle
import sys
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np


def dump(args) -> None:
    import torch

    torch.set_num_threads(1)
    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.feed import feedbench
    from townsquare.feed import service as service_mod
    from townsquare.feed.service import FeedService, apply_controls, get_controls
    from townsquare.social.models import Account

    settings = load_settings(data_dir=Path(args.data_dir), database_url="")
    copy = feedbench._copy_community(settings, Path(args.data_dir).parent / f"{Path(args.data_dir).name}-dyn")
    grab: dict = {}
    orig_metrics = feedbench._sim_metrics

    def metrics(sim, *a, **k):
        grab["sim"] = sim
        return orig_metrics(sim, *a, **k)

    class Service(FeedService):
        def __init__(self, *a, **k):
            super().__init__(*a, **k)
            grab["service"] = self

    feedbench._sim_metrics = metrics
    feedbench.FeedService = Service
    at = {int(x) for x in args.at.split(",")}
    out: dict = {"snapshots": [], "days": []}
    orig_collect = service_mod.src.collect

    def snapshot(day: int) -> None:
        sim, service = grab["sim"], grab["service"]
        db = Database(copy.sqlalchemy_url)
        session = db.sessionmaker()
        from sqlalchemy import func, select

        from townsquare.social.models import Post

        now = session.scalar(select(func.max(Post.created_at))) + timedelta(minutes=1)
        orig_clock, service.clock = service.clock, (lambda: now)
        # every candidate, the floor off: ``eval`` replays the rules (the run itself keeps its config)
        orig_config = service.config
        service.config = replace(orig_config, blend=replace(orig_config.blend, discovery_min_similarity=0.0))
        rng = np.random.default_rng(day)
        people = [i for i in range(1, len(sim.account_ids)) if not sim.churned[i]]
        people = sorted(rng.choice(people, size=min(args.people, len(people)), replace=False).tolist())
        cap: dict = {}

        def collect(*a, **k):
            cap["cands"] = orig_collect(*a, **k)
            return cap["cands"]

        service_mod.src.collect = collect
        orig_value = service.value_model.value

        def value(heads):
            cap["heads"] = heads
            return orig_value(heads)

        service.value_model.value = value
        rows = []
        try:
            for i in people:
                aid = sim.account_ids[i]
                viewer = session.get(Account, aid)
                controls = get_controls(session, aid)
                scorer = service.scorer
                scorer.invalidate(aid)
                feed = service.rank(session, viewer, controls)
                cands, heads = cap["cands"], {h: np.asarray(v, float) for h, v in cap["heads"].items()}
                ctx = service_mod.src.viewer_context(session, aid, now, service.config.blend.seen_window_h)
                factor = apply_controls(np.ones(len(cands)), cands, ctx, controls, service.config)
                st = scorer.encode(aid)
                knn = np.asarray(scorer.content_similarity(st, [c.post_id for c in cands]), float)
                us, ages = [], []
                for c in cands:
                    info = sim._post(c.post_id)
                    age = max(0.0, (now - info.created_at).total_seconds() / 3600)
                    u = sim._affinity(i, info) * (0.7 + 0.3 * math.exp(-age / 36))
                    if c.post_id in sim.seen[i]:
                        u *= 0.25
                    us.append(u)
                    ages.append(c.age_hours(now))
                author_idx = [sim.index_of.get(c.author_id) for c in cands]
                fans = ctx.followers  # who follows the viewer (read by viewer_context)
                rows.append({
                    "person": i, "soc": float(sim.pop.sociability[i]), "discovery": controls["discovery"],
                    "post_id": [c.post_id for c in cands], "author_id": [c.author_id for c in cands],
                    "kind": [c.kind for c in cands], "in_network": np.array([c.in_network for c in cands]),
                    "follows_viewer": np.array([c.author_id in fans for c in cands]),
                    "followable": np.array([a is not None and a != i and a not in sim.following[i] for a in author_idx]),
                    "heads": heads, "factor": factor, "age_h": np.asarray(ages), "knn": knn, "u": np.asarray(us),
                    "served": [it.post_id for it in feed.items[:30]], "hidden_authors": frozenset(ctx.hidden_authors),
                    "candidates": cands,
                })
        finally:
            service_mod.src.collect = orig_collect
            service.value_model.value = orig_value
            service.clock = orig_clock
            service.config = orig_config
            service.scorer.invalidate()
            session.close()
            db.dispose()
        out["snapshots"].append({"day": day, "rows": rows})
        with open(args.out, "wb") as f:
            pickle.dump(out, f)
        print(f"snapshot day {day}: {len(rows)} people", file=sys.stderr, flush=True)

    def on_day(day: int, m: dict) -> None:
        out["days"].append({"day": day, "metrics": m})
        print(json.dumps({"day": day, **{k: round(v, 4) for k, v in m.items()}}), file=sys.stderr, flush=True)
        if day in at:
            snapshot(day)

    retrain = feedbench.Retraining(args.retrain_every, 2, 14.0) if args.retrain_every else None
    feedbench.simulate_system("model", copy, args.days, args.seed, on_day=on_day, retrain=retrain)
    with open(args.out, "wb") as f:
        pickle.dump(out, f)


# -- replay ----------------------------------------------------------------------------------------
def expected(row: dict, order: list[int], items: int) -> dict:
    soc = row["soc"]
    tot = {"engaged": 0.0, "hides": 0.0, "follows": 0.0, "disc": 0, "disc_good": 0, "disc_miss": 0,
           "disc_hides": 0.0}
    followed = set()
    for k in order[:items]:
        u = float(row["u"][k])
        ps = [0.02 + 0.4 * u ** 3, min(0.9, (0.01 + 0.5 * u ** 2.5) * (0.5 + soc)),
              (0.002 + 0.12 * u ** 3) * soc, 0.002 + 0.05 * u ** 4, (0.001 + 0.06 * u ** 4) * soc]
        tot["engaged"] += 1 - math.prod(1 - p for p in ps)
        h = 0.12 * (0.25 - u) / 0.25 if u < 0.25 else 0.0
        tot["hides"] += h
        a = row["author_id"][k]
        if row["followable"][k] and a not in followed and u > 0.35:
            tot["follows"] += 0.5 * u * (0.3 + soc) * 0.6
            followed.add(a)
        if not row["in_network"][k]:
            tot["disc"] += 1
            tot["disc_good"] += u > 0.35
            tot["disc_miss"] += u < 0.25
            tot["disc_hides"] += h
    return tot


def policy_order(row: dict, pol: dict) -> list[int]:
    from townsquare.feed.blender import BlendInput, blend
    from townsquare.feed.config import DEFAULT_VALUE_WEIGHTS, BlendConfig
    from townsquare.feed.value import ValueModel

    heads = row["heads"]
    w = {**DEFAULT_VALUE_WEIGHTS, **pol.get("weights", {})}
    vals = ValueModel(w).value(heads)
    disc = ~row["in_network"]
    if "disc_hide_weight" in pol:  # an extra hide penalty on discovery items only
        vals = vals + disc * (pol["disc_hide_weight"] - w["hide"]) * heads["hide"]
    f = row["factor"]
    vals = np.where(vals >= 0, vals * f, vals / f)
    cfg = replace(BlendConfig(), **pol.get("blend", {}))
    fr = np.power(0.5, row["age_h"] / cfg.freshness_half_life_h)
    vals = np.where(vals >= 0, vals * fr, vals * (2 - fr))
    held = np.zeros(len(vals), bool)
    if "max_hide" in pol:
        held |= disc & (heads["hide"] >= pol["max_hide"])
    if "min_knn" in pol and (row["knn"] != 0).any():  # no engaged history (knn all 0): no floor
        floor = np.full(len(vals), pol["min_knn"])
        if "min_knn_followers" in pol and "follows_viewer" in row:
            floor[row["follows_viewer"]] = pol["min_knn_followers"]
        held |= disc & (row["knn"] < floor)
    if pol.get("drop_negative"):
        held |= vals <= 0
    if "knn_boost" in pol:  # multiply discovery values by exp(b * (knn - 0.5))
        vals = np.where(disc & (vals > 0), vals * np.exp(pol["knn_boost"] * (row["knn"] - 0.5)), vals)
    back = held.copy()
    if "in_back_knn" in pol and (row["knn"] != 0).any():  # in-network items unlike anything engaged: last
        back |= row["in_network"] & (row["knn"] < pol["in_back_knn"])
    if "all_knn_boost" in pol:  # every positive value x exp(b * (knn - 0.5))
        vals = np.where(vals > 0, vals * np.exp(pol["all_knn_boost"] * (row["knn"] - 0.5)), vals)
    if back.any():
        vals = np.where(back, np.minimum(vals, 0) - 1e-6, vals)  # behind every positive item
    share = cfg.in_network_share_friends_first + (cfg.in_network_share_discovery - cfg.in_network_share_friends_first) \
        * pol.get("discovery", row["discovery"])
    ratio = pol.get("ratio", cfg.discovery_value_ratio)
    order = blend(BlendInput(row["candidates"], vals, share, row["hidden_authors"], ratio), cfg)
    if pol.get("drop_held"):  # the feed ends ("caught up") instead of showing what was held back
        order = [k for k in order if not held[k]]
    return order


POLICIES = {
    "current": {},
    "ratio0": {"ratio": 0.0},
    "ratio1.5": {"ratio": 1.5},
    "ratio2": {"ratio": 2.0},
    "ratio3": {"ratio": 3.0},
    "hide-40": {"weights": {"hide": -40.0}},
    "hide-60": {"weights": {"hide": -60.0}},
    "dhide-40": {"disc_hide_weight": -40.0},
    "dhide-60": {"disc_hide_weight": -60.0},
    "dhide-100": {"disc_hide_weight": -100.0},
    "maxhide.03": {"max_hide": 0.03},
    "maxhide.05": {"max_hide": 0.05},
    "maxhide.08": {"max_hide": 0.08},
    "minknn.4": {"min_knn": 0.4},
    "minknn.5": {"min_knn": 0.5},
    "minknn.6": {"min_knn": 0.6},
    "knnboost4": {"knn_boost": 4.0},
    "knnboost8": {"knn_boost": 8.0},
    "disc.15": {"discovery": 0.15},
    "disc.0": {"discovery": 0.0},
}


def evaluate(args) -> None:
    with open(args.dump, "rb") as f:
        data = pickle.load(f)
    pols = dict(POLICIES)
    for extra in args.policy or []:
        name, _, spec = extra.partition("=")
        pols[name] = json.loads(spec)
    names = args.only.split(",") if args.only else list(pols)
    for snap in data["snapshots"]:
        rows = snap["rows"]
        base_u_disc = np.concatenate([r["u"][~r["in_network"]] for r in rows])
        print(f"# day {snap['day']}: {len(rows)} people; discovery candidates/person "
              f"{np.mean([(~r['in_network']).sum() for r in rows]):.0f}, good {np.mean(base_u_disc > 0.35):.3f}, "
              f"miss {np.mean(base_u_disc < 0.25):.3f}")
        for name in names:
            tot: dict = {}
            for r in rows:
                t = expected(r, policy_order(r, pols[name]), args.items)
                for k, v in t.items():
                    tot[k] = tot.get(k, 0) + v
            n, d = len(rows), max(tot["disc"], 1)
            print(f"{name:>12}  eng {tot['engaged'] / n:6.3f}  hides {tot['hides'] / n:6.3f}  "
                  f"follows {tot['follows'] / n:6.3f}  disc/feed {tot['disc'] / n:5.2f}  "
                  f"disc good {tot['disc_good'] / d:5.3f} miss {tot['disc_miss'] / d:5.3f}  "
                  f"disc hides {tot['disc_hides'] / n:6.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--data-dir", required=True)
    d.add_argument("--days", type=int, default=4)
    d.add_argument("--at", default="4")
    d.add_argument("--people", type=int, default=80)
    d.add_argument("--seed", type=int, default=7)
    d.add_argument("--retrain-every", type=int, default=2)
    d.add_argument("--out", required=True)
    e = sub.add_parser("eval")
    e.add_argument("dump")
    e.add_argument("--items", type=int, default=20)
    e.add_argument("--only", default="")
    e.add_argument("--policy", action="append", help="name={json policy}")
    args = ap.parse_args()
    dump(args) if args.cmd == "dump" else evaluate(args)


if __name__ == "__main__":
    main()
