"""Validation-only tuning runs on an id-only file: trains one model exactly as `bench rec` does and
prints its validation curve as JSON; never scores the test set. From the repository root:

    python docs/results/rec_dev/tune.py DATA MINUTES THREADS {ours,sasrec} [KEY=VALUE ...]

e.g. `python docs/results/rec_dev/tune.py ../shared/datasets/beauty.txt 6 2 ours epochs=10 plateau_decay=0.3`
(the session-2 tuning table in docs/benchmarks.md).
"""

import json
import random
import sys

import torch
from townsquare.rec.bench import VALID_USERS, train_one
from townsquare.rec.data import leave_one_out, read_interactions

from townsquare.rec.commands import _parse_overrides

data, minutes, threads, name = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
overrides = _parse_overrides(sys.argv[5:])
torch.set_num_threads(threads)
split = leave_one_out(read_interactions(data))
v_hist, v_tgt = split.valid_case()
sub = sorted(random.Random(0).sample(range(len(v_tgt)), min(VALID_USERS, len(v_tgt))))  # the bench's subset
_, _, res, _ = train_one(name, split, [v_hist[i] for i in sub], [v_tgt[i] for i in sub], None, minutes, 0,
                          overrides, lambda s: print(s, flush=True))
print(json.dumps({"overrides": overrides, "best_epoch": res.best_epoch, "best_valid_sub": res.best_score,
                  "epochs": res.epochs, "seconds": res.seconds,
                  "average_score": res.average_score, "averaged": res.averaged,
                  "history": [{k: round(v, 4) for k, v in h.items()} for h in res.history]}), flush=True)
