"""``townsquare worker``: the background jobs of a deployment, in one long-running process.

- **Creator auto-replies** every ``autoreply_every_s`` (30 s): creator AIs answer the comments and
  messages their creators opted in to (``studio.autoreply.process_pending``).
- **Scheduled training**: every ``fine_tune_every_h`` hours (6) ``townsquare train --fine-tune``
  (the active model continued on the last 14 days), and every ``train_every_h`` hours (168, weekly)
  a full ``townsquare train --resume`` (with ``--nproc`` processes when asked). Each runs as a
  child process, so the auto-replies go on meanwhile and the training's memory is returned when it
  ends; a run that is still going when the next is due is not started twice. Every serving process
  picks up the newly activated model by itself (``docs/operations.md``).
- **Account deletions** every ``purge_every_s`` (10 min): accounts whose grace period is over lose
  their content (``social.lifecycle.purge_due``, ``docs/accounts.md``).

When a job last ran is kept in ``<data_dir>/run/worker-state.json``, so a restarted worker does not
retrain at once. A failed job is logged and retried at its next turn; the database or the LLM being
away only delays the jobs (nothing is lost: what waits stays in the database). Run one worker per
deployment.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass
class WorkerConfig:
    autoreply_every_s: float = 30.0
    purge_every_s: float = 600.0  # 0 = never
    fine_tune_every_h: float = 6.0  # 0 = never
    train_every_h: float = 168.0  # 0 = never
    train_nproc: int = 1
    train_max_minutes: float = 60.0
    min_events: int = 1000  # no training before the log has this many events


class TrainingJob:
    """One ``townsquare train`` child process at a time."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.kind = ""

    def running(self) -> bool:
        if self.proc is None:
            return False
        code = self.proc.poll()
        if code is None:
            return True
        log.log(logging.INFO if code == 0 else logging.WARNING, "worker: %s training finished (exit %s)",
                self.kind, code)
        self.proc = None
        return False

    def start(self, kind: str, args: list[str]) -> None:
        self.kind = kind
        cmd = [sys.executable, "-m", "townsquare.cli", "train", *args]
        log.info("worker: starting %s training: %s", kind, " ".join(cmd[2:]))
        self.proc = subprocess.Popen(cmd, env=os.environ.copy(), stdout=sys.stderr, stderr=sys.stderr)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()  # train leaves no checkpoint and the active model unchanged
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Worker:
    def __init__(self, settings, config: WorkerConfig, services=None) -> None:
        self.settings = settings
        self.config = config
        self._services = services
        self.state_path = Path(settings.data_dir) / "run" / "worker-state.json"
        self.state = self._load_state()
        self.training = TrainingJob()
        self.stop_event = threading.Event()

    @property
    def services(self):
        if self._services is None:
            from townsquare.services import Services

            self._services = Services(self.settings)
        return self._services

    def _load_state(self) -> dict:
        try:
            return json.loads(self.state_path.read_text())
        except (OSError, ValueError):
            return {}

    def _save_state(self) -> None:
        self.state_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2))
        os.replace(tmp, self.state_path)

    def _due(self, name: str, every_s: float, now: float) -> bool:
        return every_s > 0 and now - float(self.state.get(name, 0.0)) >= every_s

    def _mark(self, name: str, now: float) -> None:
        self.state[name] = now
        self._save_state()

    # --- jobs ---------------------------------------------------------------------------------------
    def autoreply_once(self) -> int:
        from townsquare.studio.autoreply import process_pending

        services = self.services
        with services.session() as session:
            return process_pending(session, llm=services.llm("creator"), shield=services.shield(),
                                   settings=self.settings)

    def purge_once(self) -> int:
        """Remove the content of the accounts whose deletion is due; returns how many."""
        from townsquare.social.lifecycle import purge_due

        reports = purge_due(self.services.session, self.settings.media_store)
        for report in reports:
            log.info("worker: account %d deleted (%d posts, %d media files)", report.account_id, report.posts,
                     report.media_files)
        return len(reports)

    def event_count(self) -> int:
        from sqlalchemy import func, select

        from townsquare.social.models import Event

        with self.services.session() as session:
            return int(session.scalar(select(func.count()).select_from(Event)) or 0)

    def has_model(self) -> bool:
        from townsquare.rec import registry

        return registry.active_version(registry.rec_models_dir(self.settings)) is not None

    def maybe_train(self, now: float) -> str | None:
        """Start the training that is due, if none is running. Returns what was started."""
        cfg = self.config
        if self.training.running():
            return None
        full_due = self._due("train", cfg.train_every_h * 3600, now)
        tune_due = self._due("fine_tune", cfg.fine_tune_every_h * 3600, now)
        if not (full_due or tune_due):
            return None
        if self.event_count() < cfg.min_events:
            return None
        budget = ["--max-minutes", str(cfg.train_max_minutes)]
        if full_due or not self.has_model():
            args = ["--resume", *budget]
            if cfg.train_nproc > 1:
                args += ["--nproc", str(cfg.train_nproc)]
            self.training.start("full", args)
            self._mark("train", now)
            self._mark("fine_tune", now)  # a full run includes what a fine-tune would learn
            return "full"
        self.training.start("fine-tune", ["--fine-tune", "--epochs", "2", *budget])
        self._mark("fine_tune", now)
        return "fine-tune"

    def tick(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        if self._due("autoreply", self.config.autoreply_every_s, now):
            try:
                answered = self.autoreply_once()
                if answered:
                    log.info("worker: %d auto-replies written", answered)
            except Exception as exc:  # the database or the model is away: next turn
                log.warning("worker: auto-replies failed, will retry: %s", str(exc).splitlines()[0] if str(exc) else exc)
            self.state["autoreply"] = now  # in memory only: cheap to redo after a restart
        if self._due("purge", self.config.purge_every_s, now):
            try:
                self.purge_once()
            except Exception as exc:
                log.warning("worker: account purge failed, will retry: %s", str(exc).splitlines()[0] if str(exc) else exc)
            self.state["purge"] = now
        try:
            self.maybe_train(now)
        except Exception as exc:
            log.warning("worker: scheduling training failed, will retry: %s", str(exc).splitlines()[0] if str(exc) else exc)

    def run(self, poll_s: float = 5.0) -> None:
        log.info("worker: auto-replies every %.0fs, fine-tune every %.1fh, full training every %.1fh",
                 self.config.autoreply_every_s, self.config.fine_tune_every_h, self.config.train_every_h)
        try:
            while not self.stop_event.is_set():
                self.tick()
                self.stop_event.wait(poll_s)
        finally:
            self.training.stop()
            if self._services is not None:
                self._services.close()
