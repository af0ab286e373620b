""""Train now" from the admin pages: one ``townsquare train`` child process at a time, started by a
serving process, with its state in ``<data_dir>/run/train-now.json`` and its output in
``train-now.log`` (so every worker process, and a restarted one, sees the same run). The serving
processes pick up the model it activates by themselves (``docs/operations.md``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from townsquare.errors import Conflict


@dataclass(frozen=True)
class TrainingRun:
    state: str  # "none", "running", "finished", "failed"
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    args: tuple[str, ...] = ()
    last_lines: tuple[str, ...] = ()


def _paths(settings) -> tuple[Path, Path]:
    run = Path(settings.data_dir) / "run"
    run.mkdir(parents=True, exist_ok=True)
    return run / "train-now.json", run / "train-now.log"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return False
    try:  # a finished child of this process is a zombie until waited for
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True  # not our child (another worker started it): alive as far as kill() says
    return True


def status(settings) -> TrainingRun:
    state_file, log_file = _paths(settings)
    if not state_file.exists():
        return TrainingRun("none")
    info = json.loads(state_file.read_text())
    lines = tuple(log_file.read_text(errors="replace").splitlines()[-12:]) if log_file.exists() else ()
    if info.get("exit_code") is None and _alive(int(info["pid"])):
        return TrainingRun("running", info["started_at"], None, None, tuple(info["args"]), lines)
    if info.get("exit_code") is None:  # stopped without saying how (killed, machine restarted)
        info["exit_code"], info["finished_at"] = -1, time.time()
        state_file.write_text(json.dumps(info))
    state = "finished" if info["exit_code"] == 0 else "failed"
    return TrainingRun(state, info["started_at"], info.get("finished_at"), info["exit_code"], tuple(info["args"]),
                       lines)


def start(settings, epochs: int, max_minutes: float) -> TrainingRun:
    """Start a training run; Conflict when one is already running."""
    if status(settings).state == "running":
        raise Conflict("a training run is already going; wait for it to finish")
    state_file, log_file = _paths(settings)
    args = ["train", "--epochs", str(int(epochs)), "--max-minutes", f"{float(max_minutes):g}"]
    env = {**os.environ, "TOWNSQUARE_DATA_DIR": str(settings.data_dir),
           "TOWNSQUARE_DATABASE_URL": settings.sqlalchemy_url, "COLUMNS": "200"}
    state_file.write_text(json.dumps({"pid": os.getpid(), "started_at": time.time(), "args": args,
                                      "exit_code": None}))
    log_file.write_bytes(b"")
    proc = subprocess.Popen([sys.executable, "-m", "townsquare.ops.train_now", str(state_file), str(log_file), *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    info = json.loads(state_file.read_text())
    if info.get("exit_code") is None:  # (a child that failed at once has already written its end)
        info["pid"] = proc.pid
        state_file.write_text(json.dumps(info))
    return status(settings)


def _run(state_file: Path, log_file: Path, args: list[str]) -> int:
    """The child: run the training, then record how it ended beside its state."""
    with open(log_file, "wb") as log:
        code = subprocess.call([sys.executable, "-m", "townsquare.cli", *args], stdout=log, stderr=subprocess.STDOUT)
    info = json.loads(state_file.read_text())
    info.update(exit_code=code, finished_at=time.time())
    state_file.write_text(json.dumps(info))
    return code


if __name__ == "__main__":
    raise SystemExit(_run(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]))
