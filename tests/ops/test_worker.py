"""``townsquare worker``: auto-replies every pass, training when due, one run at a time, remembered
across restarts, and nothing started before the log is big enough."""

from __future__ import annotations

from townsquare.ops.worker import Worker, WorkerConfig

HOUR = 3600.0


class FakeTraining:
    def __init__(self):
        self.started: list[tuple[str, list[str]]] = []
        self.busy = False

    def running(self):
        return self.busy

    def start(self, kind, args):
        self.started.append((kind, args))
        self.busy = True

    def stop(self):
        self.busy = False


def _worker(settings, events=5000, has_model=True, **cfg):
    w = Worker(settings, WorkerConfig(**{"fine_tune_every_h": 6, "train_every_h": 168, **cfg}))
    w.training = FakeTraining()
    w.event_count = lambda: events
    w.has_model = lambda: has_model
    w.autoreply_once = lambda: 0
    return w


def test_training_is_scheduled_and_remembered(settings):
    t0 = 1_000_000.0
    w = _worker(settings, train_nproc=2)
    w.tick(t0)
    assert w.training.started == [("full", ["--resume", "--max-minutes", "60.0", "--nproc", "2"])]
    w.tick(t0 + 7 * HOUR)  # a fine-tune is due but the full run is still going: not twice at once
    assert len(w.training.started) == 1
    w.training.busy = False
    w.tick(t0 + 7 * HOUR)
    assert w.training.started[-1][0] == "fine-tune" and "--fine-tune" in w.training.started[-1][1]
    w.training.busy = False
    w.tick(t0 + 8 * HOUR)  # nothing due
    assert len(w.training.started) == 2
    again = _worker(settings)  # a restarted worker remembers when the jobs last ran
    again.tick(t0 + 9 * HOUR)
    assert again.training.started == []
    again.tick(t0 + 169 * HOUR)
    assert again.training.started[0][0] == "full"


def test_no_training_on_a_small_log_and_full_training_without_a_model(settings):
    w = _worker(settings, events=10)
    w.tick(1e6)
    assert w.training.started == []
    fresh = _worker(settings, has_model=False, train_every_h=0)  # only fine-tunes scheduled, no model yet
    fresh.tick(2e6)
    assert fresh.training.started[0][0] == "full"


def test_a_failing_job_does_not_stop_the_worker(settings):
    w = _worker(settings)
    calls = []

    def broken():
        calls.append(1)
        raise RuntimeError("database is away")

    w.autoreply_once = broken
    w.tick(1e6)
    w.tick(1e6 + 60)
    assert len(calls) == 2 and w.training.started  # training was still scheduled
