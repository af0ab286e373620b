"""Serving latency of the Scorer, as the feed uses it: encode one history (no cache), retrieve 500
candidates, score them with every head in one batched pass. Reported as p50/p99 milliseconds."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np


def measure_serving(model, space, settings, db, embed, people: list[int], n_candidates: int = 500,
                    threads: int = 1) -> dict[str, float]:
    import torch

    from townsquare.rec.registry import LoadedModel
    from townsquare.rec.serve import Scorer

    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        t0 = time.perf_counter()
        scorer = Scorer(LoadedModel(version="bench", model=model, space=space, manifest={}, path=Path(".")),
                        settings, db, embed)
        load_s = time.perf_counter() - t0
        enc, ret, sco = [], [], []
        for pid in people:
            t0 = time.perf_counter()
            state = scorer._encode(pid)
            t1 = time.perf_counter()
            cands = [i for i, _ in scorer.retrieve(state, k=n_candidates)]
            t2 = time.perf_counter()
            # The feed scores candidates from every source: pad with others to a full batch.
            if len(cands) < n_candidates:
                cands += [int(i) for i in scorer.posts.ids[:n_candidates - len(cands)]]
            scorer.score(state, cands)
            t3 = time.perf_counter()
            enc.append(t1 - t0)
            ret.append(t2 - t1)
            sco.append(t3 - t2)
    finally:
        torch.set_num_threads(old)

    def pct(xs, q):
        return float(np.percentile(np.asarray(xs) * 1000, q)) if xs else float("nan")

    tot = [a + b + c for a, b, c in zip(enc, ret, sco, strict=True)]
    return {"load_s": round(load_s, 2), "posts": len(scorer.posts), "accounts": len(scorer.accounts),
            "people": len(people), "candidates": n_candidates, "threads": threads,
            "encode_ms_p50": pct(enc, 50), "encode_ms_p99": pct(enc, 99),
            "retrieve_ms_p50": pct(ret, 50), "retrieve_ms_p99": pct(ret, 99),
            "score_ms_p50": pct(sco, 50), "score_ms_p99": pct(sco, 99),
            "total_ms_p50": pct(tot, 50), "total_ms_p99": pct(tot, 99)}
