"""``townsquare train --nproc 2``: the unified model trained by two CPU processes (PyTorch DDP over
gloo, started by torchrun) reaches the validation score of one process, and writes one checkpoint."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from townsquare.db import migrate
from townsquare.db.engine import Database
from townsquare.rec import distributed

HERE = Path(__file__).resolve().parent
EPOCHS = 6


@pytest.fixture(scope="module")
def community_db(tmp_path_factory):
    from rec_app.community import build_community

    url = f"sqlite:///{tmp_path_factory.mktemp('ddp') / 'community.db'}"
    migrate.upgrade(url)
    db = Database(url)
    build_community(db, people=32, days=16)
    db.dispose()
    return url


def _run(url: str, tmp_path: Path, nproc: int, name: str) -> dict:
    out = tmp_path / f"{name}.json"
    args = [str(HERE / "ddp_tiny.py"), url, str(tmp_path / name), str(out), str(EPOCHS)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": os.pathsep.join(
        [str(HERE.parents[1]), os.environ.get("PYTHONPATH", "")])}
    if nproc == 1:
        cmd = [sys.executable, *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


def test_two_processes_reach_the_validation_score_of_one(community_db, tmp_path):
    one = _run(community_db, tmp_path, 1, "one")
    two = _run(community_db, tmp_path, 2, "two")
    assert one["fit"]["processes"] == 1 and two["fit"]["processes"] == 2
    assert two["fit"]["epochs"] == EPOCHS  # both ranks ran every epoch together (no early exit, no hang)
    s1, s2 = one["fit"]["best_valid_score"], two["fit"]["best_valid_score"]
    print(f"validation score: 1 process {s1:.4f}, 2 processes {s2:.4f}")
    # The score is the mean validation AUC of the heads; the model learns the community (> 0.6) either way
    # and the two runs agree within the noise of a 32-person community (seeds move it by ~0.03).
    assert s1 > 0.6 and s2 > 0.6, (s1, s2)
    assert abs(s1 - s2) < 0.06, (s1, s2)
    # One checkpoint, written by rank 0 only, and active.
    assert two["activated"] and two["version"]
    versions = [p for p in (tmp_path / "two" / "models" / "rec").iterdir() if p.is_dir()]
    assert len(versions) == 1


def test_nproc_is_taken_out_of_the_command_torchrun_runs():
    assert distributed.without_nproc(["train", "--nproc", "2", "--epochs", "3"]) == ["train", "--epochs", "3"]
    assert distributed.without_nproc(["train", "--nproc=4"]) == ["train"]
    cmd = distributed.torchrun_command(2, ["train", "--epochs", "3"])
    assert cmd[1:5] == ["-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    assert cmd[-4:] == ["townsquare.cli", "train", "--epochs", "3"]
