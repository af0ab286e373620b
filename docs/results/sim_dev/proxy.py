"""Offline proxy for `townsquare bench simulate` (development aid, not part of the package).

For a sample of people at the end of a seeded community's history, rank the home feed with one
or more feed variants and score the first N items by the simulator's own formulas (docs/sim.md):
expected engaged items, expected hides, expected new follows, plus where the discovery items
stand (share with u > 0.35 = could lead to a follow, share with u < 0.25 = could be hidden) and
how well each signal orders the discovery candidates (Spearman with u).

    PYTHONPATH=$PWD python docs/results/sim_dev/proxy.py --data-dir D [--people 60] [--items 18] \
        [--variants heuristic,model,...] [--set blend.KEY=VALUE ...]

A variant is ``name`` or ``name:section.key=value;section.key=value`` (sections: blend, sources,
value_weights); ``heuristic`` ranks without the model.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import replace
from datetime import timedelta

import numpy as np
from sqlalchemy import func, select


def spearman(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    if len(a) < 3 or a.std() == 0 or b.std() == 0:
        return float("nan")
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def config_for(spec: str):
    from townsquare.feed.config import FeedConfig

    cfg = FeedConfig()
    name, _, rest = spec.partition(":")
    for part in filter(None, rest.split(";")):
        key, _, raw = part.partition("=")
        section, _, field = key.strip().partition(".")
        value = json.loads(raw)
        if section == "value_weights":
            cfg = replace(cfg, value_weights={**cfg.value_weights, field: float(value)})
        else:
            obj = getattr(cfg, section)
            cfg = replace(cfg, **{section: replace(obj, **{field: type(getattr(obj, field))(value)})})
    return name, cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--people", type=int, default=60)
    ap.add_argument("--items", type=int, default=18)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--variants", default="heuristic,model")
    ap.add_argument("--hours", type=float, default=12.0, help="the clock: this long after the history ends")
    args = ap.parse_args()

    import torch

    torch.set_num_threads(1)
    from pathlib import Path

    from townsquare.config import load_settings
    from townsquare.db.engine import Database
    from townsquare.feed import service as service_mod
    from townsquare.feed import sources as src
    from townsquare.feed.scoring import load_scorer
    from townsquare.feed.service import FeedService, get_controls
    from townsquare.sim.community import load_simulator
    from townsquare.social.models import Account, Post

    settings = load_settings(data_dir=Path(args.data_dir), database_url="")
    db = Database(settings.sqlalchemy_url)
    session = db.sessionmaker()
    sim = load_simulator(session, settings.data_dir)
    start = session.scalar(select(func.max(Post.created_at)))
    now = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=args.hours)
    rng = np.random.default_rng(args.seed)
    people = [i for i in range(1, len(sim.account_ids)) if not sim.churned[i]]
    people = sorted(rng.choice(people, size=min(args.people, len(people)), replace=False).tolist())
    scorer = None
    cap: dict = {}
    orig_collect = src.collect

    def collect(*a, **k):
        cap["cands"] = orig_collect(*a, **k)
        return cap["cands"]

    service_mod.src.collect = collect
    for spec in args.variants.split(","):
        name, cfg = config_for(spec)
        if name not in ("heuristic", "chronological") and scorer is None:
            scorer = load_scorer(settings)
        service = FeedService(settings, scorer=None if name in ("heuristic", "chronological") else scorer, config=cfg,
                              clock=lambda: now)
        orig_value = service.value_model.value

        def value(heads, orig_value=orig_value):
            cap["heads"] = heads
            return orig_value(heads)

        service.value_model.value = value
        tot = {"engaged": 0.0, "hides": 0.0, "follows": 0.0, "disc": 0, "disc_good": 0, "disc_miss": 0,
               "in_miss": 0, "items": 0}
        sp: dict[str, list[float]] = {}
        for i in people:
            aid = sim.account_ids[i]
            viewer = session.get(Account, aid)
            if name == "chronological":
                from types import SimpleNamespace

                page = service._chronological(session, viewer, args.items, None)
                feed = SimpleNamespace(items=[SimpleNamespace(post_id=x.post.id, in_network=True) for x in page.items])
                cap.clear()
            else:
                feed = service.rank(session, viewer, get_controls(session, aid))
            soc = float(sim.pop.sociability[i])
            followed_authors = set()
            for it in feed.items[: args.items]:
                info = sim.posts.get(it.post_id) or sim._post(it.post_id)
                u = sim._affinity(i, info)
                age = max(0.0, (now - info.created_at).total_seconds() / 3600)
                u *= 0.7 + 0.3 * math.exp(-age / 36)
                if it.post_id in sim.seen[i]:
                    u *= 0.25
                ps = [0.02 + 0.4 * u ** 3, min(0.9, (0.01 + 0.5 * u ** 2.5) * (0.5 + soc)),
                      (0.002 + 0.12 * u ** 3) * soc, 0.002 + 0.05 * u ** 4, (0.001 + 0.06 * u ** 4) * soc]
                tot["engaged"] += 1 - math.prod(1 - p for p in ps)
                tot["hides"] += 0.12 * (0.25 - u) / 0.25 if u < 0.25 else 0.0
                author = sim.index_of.get(info.author_id)
                if author is not None and author not in sim.following[i] and author not in followed_authors and u > 0.35:
                    tot["follows"] += 0.5 * u * (0.3 + soc) * 0.6
                    followed_authors.add(author)
                tot["items"] += 1
                if it.in_network:
                    tot["in_miss"] += u < 0.25
                else:
                    tot["disc"] += 1
                    tot["disc_good"] += u > 0.35
                    tot["disc_miss"] += u < 0.25
            # How each signal orders the discovery candidates
            cands, heads = cap.get("cands", []), cap.get("heads", {})
            disc = [k for k, c in enumerate(cands) if not c.in_network]
            if len(disc) > 3:
                us = [sim._affinity(i, sim.posts.get(cands[k].post_id) or sim._post(cands[k].post_id)) for k in disc]
                vals = service.value_model.contributions(heads)
                total = np.sum(np.stack(list(vals.values())), axis=0)
                sp.setdefault("value", []).append(spearman(total[disc], us))
                for h in ("like", "hide", "follow_author", "open"):
                    if h in heads:
                        sp.setdefault(h, []).append(spearman(np.asarray(heads[h])[disc], us))
                ua = np.asarray(us)

                def at6(score, key, sp=sp, ua=ua):
                    top = np.argsort(-np.asarray(score, float), kind="stable")[:6]
                    sp.setdefault(f"good@6_{key}", []).append(float((ua[top] > 0.35).mean()))
                    sp.setdefault(f"miss@6_{key}", []).append(float((ua[top] < 0.25).mean()))

                at6(total[disc], "value")
                at6(np.asarray(heads["like"])[disc], "like")
                at6(-np.asarray(heads["hide"])[disc], "nohide")
                if scorer is not None and hasattr(scorer, "content_similarity"):
                    st = scorer.encode(aid)
                    sims = scorer.content_similarity(st, [cands[k].post_id for k in disc])
                    sp.setdefault("knn_sim", []).append(spearman(sims, us))
                    at6(sims, "knn")
                    at6(np.asarray(heads["like"])[disc] * np.exp(4 * sims), "like_x_knn")
                    if st.profile is not None:
                        prof = np.asarray([scorer.posts.f_text[scorer.posts.row[cands[k].post_id]] @ st.profile
                                           if cands[k].post_id in scorer.posts.row else 0 for k in disc])
                        sp.setdefault("profile_sim", []).append(spearman(prof, us))
                sp.setdefault("n_disc_cands", []).append(len(disc))
                sp.setdefault("good_disc_cands", []).append(sum(u > 0.35 for u in us))
        n = len(people)
        d = max(tot["disc"], 1)
        print(json.dumps({"variant": spec, "people": n, "items": args.items,
                          "exp_engaged": round(tot["engaged"] / n, 3), "exp_hides": round(tot["hides"] / n, 3),
                          "exp_follows": round(tot["follows"] / n, 3),
                          "disc_per_feed": round(tot["disc"] / n, 2), "disc_good": round(tot["disc_good"] / d, 3),
                          "disc_miss": round(tot["disc_miss"] / d, 3), "in_miss_per_feed": round(tot["in_miss"] / n, 2),
                          "spearman_disc": {k: round(float(np.nanmean(v)), 3) for k, v in sp.items()}}), flush=True)
    session.close()


if __name__ == "__main__":
    main()
