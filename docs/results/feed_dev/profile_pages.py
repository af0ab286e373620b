"""Development harness (not a benchmark): time N fresh first pages in process, like `bench feed`,
and say where the time goes: CPU percentiles, each stage's p50/p99 (FeedPage.timings_ms), the
garbage collector's time per page and per generation, the slowest pages stage by stage, and
optionally a cProfile.

    OMP_NUM_THREADS=1 python docs/results/feed_dev/profile_pages.py DATA_DIR 1000 [--cprofile]

Environment: GCTH=a,b,c sets gc thresholds before the service starts (the service's own setting
then applies once the model is loaded unless GCTH_KEEP=1); TOPN=n slowest pages listed (8).
"""
import collections
import cProfile
import gc
import os
import pstats
import sys
import time

os.environ["TOWNSQUARE_DATA_DIR"] = sys.argv[1]
import numpy as np  # noqa: E402
from townsquare.feed.feedbench import sample_viewers  # noqa: E402

from townsquare.config import load_settings  # noqa: E402
from townsquare.db.engine import Database  # noqa: E402
from townsquare.feed import service as service_mod  # noqa: E402
from townsquare.feed.service import FeedService  # noqa: E402
from townsquare.social.models import Account  # noqa: E402

settings = load_settings()
db = Database(settings.sqlalchemy_url)
n = int(sys.argv[2])
viewers = sample_viewers(db, n + 1, 7)
if os.environ.get("GCTH"):
    threshold = tuple(map(int, os.environ["GCTH"].split(",")))
    gc.set_threshold(*threshold)
    if os.environ.get("GCTH_KEEP"):
        service_mod.YOUNG_GC_THRESHOLD = threshold[0]
collections_log = []  # (generation, CPU ms)
_start = {}


def _on_gc(phase, info):
    if phase == "start":
        _start["t"] = time.process_time()
    else:
        collections_log.append((info["generation"], (time.process_time() - _start["t"]) * 1e3))


gc.callbacks.append(_on_gc)
svc = FeedService(settings)
with db.session() as s:
    svc.page(s, s.get(Account, viewers[0]), None, 30)  # loads the model, freezes what is long-lived
prof = cProfile.Profile(time.process_time) if "--cprofile" in sys.argv else None
cpu, parts = [], collections.defaultdict(list)
mark = len(collections_log)
for v in viewers[1:]:
    with db.session() as s:
        viewer = s.get(Account, v)
        g0 = len(collections_log)
        c0 = time.process_time()
        if prof:
            prof.enable()
        page = svc.page(s, viewer, None, 30)
        if prof:
            prof.disable()
        cpu.append((time.process_time() - c0) * 1e3)
        parts["gc_ms"].append(sum(ms for _, ms in collections_log[g0:]))
        for k, x in page.timings_ms.items():
            parts[k].append(x)
print("ranked_by", page.ranked_by, "pages", len(cpu))
p50, p90, p99, top = np.percentile(cpu, [50, 90, 99, 100])
print(f"cpu p50 {p50:.1f} p90 {p90:.1f} p99 {p99:.1f} max {top:.1f}")
for k, x in parts.items():
    print(k, f"p50 {np.percentile(x, 50):.1f} p99 {np.percentile(x, 99):.1f}")
keys = list(parts)
print("slowest: cpu | " + " ".join(k.removesuffix("_ms") for k in keys))
for i in sorted(range(len(cpu)), key=lambda i: -cpu[i])[:int(os.environ.get("TOPN", 8))]:
    print(f"{cpu[i]:.1f} | " + " ".join(f"{parts[k][i]:.1f}" for k in keys))
by_gen = collections.defaultdict(list)
for g, ms in collections_log[mark:]:
    by_gen[g].append(ms)
for g in sorted(by_gen):
    print("gc generation", g, "collections", len(by_gen[g]), f"total ms {sum(by_gen[g]):.0f} max {max(by_gen[g]):.1f}")
print("gc threshold", gc.get_threshold(), "tracked objects (not frozen)", len(gc.get_objects()))
if prof:
    pstats.Stats(prof).sort_stats("cumulative").print_stats(40)
