"""The gauges that describe one serving process, sampled from its ``Services``.

Backlog and write lag of the event buffer, queue depth of each embedded LLM and whether the unified
model serves the feed are read when ``/metrics`` is scraped. With several workers a scrape reaches
one of them, so each worker also samples every ``TICK_S`` seconds in a background thread (its values
are in the shared multiprocess folder for whichever worker answers the scrape).
"""

from __future__ import annotations

import threading

from townsquare import metrics

TICK_S = 2.0


class ProcessMetrics:
    def __init__(self, services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def sample(self) -> None:
        events = self.services.events
        metrics.BUFFER_BACKLOG.set(events.pending())
        metrics.BUFFER_LAG.set(events.lag_s())
        metrics.REC_MODEL_LOADED.set(1 if self.services.feed.model_version else 0)
        from townsquare.llm.runtime import loaded_backends

        for backend in loaded_backends():
            pending = getattr(backend, "pending", None)
            if isinstance(pending, int):
                metrics.LLM_QUEUE.labels(backend.name).set(pending)

    def start(self) -> None:
        metrics.add_sampler(self.sample)
        if metrics.multiprocess_dir():
            self._thread = threading.Thread(target=self._run, name="metrics-sampler", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            metrics.sample()

    def stop(self) -> None:
        metrics.remove_sampler(self.sample)
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        metrics.mark_process_dead()
