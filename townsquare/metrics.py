"""Prometheus metrics: what a server measures about itself, with the maintained ``prometheus_client``.

Everything a process measures is defined here, once, so that the names stay one vocabulary:

| metric | type | labels |
|---|---|---|
| ``townsquare_http_requests_total`` | counter | method, route (the route's template), status |
| ``townsquare_http_request_duration_seconds`` | histogram | method, route |
| ``townsquare_http_requests_in_progress`` | gauge | — |
| ``townsquare_feed_stage_seconds`` | histogram | stage (``FeedPage.timings_ms``: context, sources, score, value, blend, hydrate, ...) |
| ``townsquare_feed_pages_total`` | counter | ranked_by (model, heuristic, chronological) |
| ``townsquare_llm_requests_total`` | counter | backend, model, outcome (ok, busy, unavailable, invalid) |
| ``townsquare_llm_tokens_total`` | counter | backend, model, kind (prompt, completion) |
| ``townsquare_llm_generation_seconds`` | histogram | backend, model |
| ``townsquare_llm_tokens_per_second`` | histogram | backend, model (completion tokens / seconds of one request) |
| ``townsquare_llm_queue_depth`` | gauge | model (embedded: requests running or waiting) |
| ``townsquare_event_buffer_backlog`` | gauge | — (events and token touches waiting to be written) |
| ``townsquare_event_buffer_lag_seconds`` | gauge | — (age of the oldest waiting row) |
| ``townsquare_event_buffer_written_total`` / ``_dropped_total`` | counter | — |
| ``townsquare_rec_model_loaded`` | gauge | — (1 when the unified model serves the feed) |

**Several workers.** ``townsquare serve --workers N`` sets ``PROMETHEUS_MULTIPROC_DIR`` before the
workers start (``prometheus_client``'s multiprocess mode: every worker writes its values to files
there, and ``/metrics``, whichever worker answers, adds them up). Gauges that describe a process's
own state (backlog, queue depth) are summed over the live workers (``livesum``); a worker that
stops marks its files dead. In a single process the default registry is used.

Domain code calls the ``observe_*`` functions; they never fail a request (a metric error is
logged and ignored).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
STAGE_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
LLM_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RATE_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

HTTP_REQUESTS = Counter("townsquare_http_requests_total", "HTTP requests answered",
                        ["method", "route", "status"])
HTTP_LATENCY = Histogram("townsquare_http_request_duration_seconds", "Time to answer an HTTP request",
                         ["method", "route"], buckets=LATENCY_BUCKETS)
HTTP_IN_PROGRESS = Gauge("townsquare_http_requests_in_progress", "HTTP requests being answered",
                         multiprocess_mode="livesum")
FEED_STAGE = Histogram("townsquare_feed_stage_seconds", "Time of each stage of ranking and serving a feed page",
                       ["stage"], buckets=STAGE_BUCKETS)
FEED_PAGES = Counter("townsquare_feed_pages_total", "Feed pages served", ["ranked_by"])
LLM_REQUESTS = Counter("townsquare_llm_requests_total", "LLM requests", ["backend", "model", "outcome"])
LLM_TOKENS = Counter("townsquare_llm_tokens_total", "LLM tokens", ["backend", "model", "kind"])
LLM_SECONDS = Histogram("townsquare_llm_generation_seconds", "Time of one LLM request",
                        ["backend", "model"], buckets=LLM_BUCKETS)
LLM_RATE = Histogram("townsquare_llm_tokens_per_second", "Completion tokens per second of one LLM request",
                     ["backend", "model"], buckets=RATE_BUCKETS)
LLM_QUEUE = Gauge("townsquare_llm_queue_depth", "LLM requests running or waiting (embedded model)",
                  ["model"], multiprocess_mode="livesum")
BUFFER_BACKLOG = Gauge("townsquare_event_buffer_backlog", "Observed events waiting to be written",
                       multiprocess_mode="livesum")
BUFFER_LAG = Gauge("townsquare_event_buffer_lag_seconds", "Age of the oldest event waiting to be written",
                   multiprocess_mode="livemax")
BUFFER_WRITTEN = Counter("townsquare_event_buffer_written_total", "Observed events written by the buffer")
BUFFER_DROPPED = Counter("townsquare_event_buffer_dropped_total", "Observed events the database refused")
REC_MODEL_LOADED = Gauge("townsquare_rec_model_loaded", "1 when the unified model ranks the feed",
                         multiprocess_mode="livemin")


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess_dir(path: str | os.PathLike) -> str:
    """Create (or empty) the folder for multiprocess metrics; call before the workers start."""
    folder = os.fspath(path)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.endswith(".db"):
            os.unlink(os.path.join(folder, name))
    return folder


def mark_process_dead(pid: int | None = None) -> None:
    """A stopping worker: its live gauges no longer count."""
    if multiprocess_dir():
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


# --- samplers: process state read at scrape time (and by a background tick with several workers) ---
_samplers: list[Callable[[], None]] = []


def add_sampler(fn: Callable[[], None]) -> Callable[[], None]:
    _samplers.append(fn)
    return fn


def remove_sampler(fn: Callable[[], None]) -> None:
    if fn in _samplers:
        _samplers.remove(fn)


def sample() -> None:
    for fn in list(_samplers):
        try:
            fn()
        except Exception:
            log.debug("metrics sampler failed", exc_info=True)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric of this process (or of every worker)."""
    sample()
    folder = multiprocess_dir()
    if folder:
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=folder)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# --- what domain code reports ---------------------------------------------------------------------
def observe_feed_page(timings_ms: dict[str, float], ranked_by: str) -> None:
    try:
        FEED_PAGES.labels(ranked_by).inc()
        for stage, ms in timings_ms.items():
            FEED_STAGE.labels(stage.removesuffix("_ms")).observe(max(0.0, ms) / 1e3)
    except Exception:
        log.debug("feed metrics failed", exc_info=True)


def observe_llm(backend: str, model: str, outcome: str, seconds: float = 0.0, prompt_tokens: int = 0,
                completion_tokens: int = 0) -> None:
    try:
        LLM_REQUESTS.labels(backend, model, outcome).inc()
        if outcome != "ok":
            return
        LLM_SECONDS.labels(backend, model).observe(seconds)
        LLM_TOKENS.labels(backend, model, "prompt").inc(max(0, prompt_tokens))
        LLM_TOKENS.labels(backend, model, "completion").inc(max(0, completion_tokens))
        if seconds > 0 and completion_tokens > 0:
            LLM_RATE.labels(backend, model).observe(completion_tokens / seconds)
    except Exception:
        log.debug("llm metrics failed", exc_info=True)


def llm_outcome(exc: BaseException | None) -> str:
    """The outcome label of an LLM call that raised ``exc`` (None: it succeeded)."""
    if exc is None:
        return "ok"
    name = type(exc).__name__
    return {"Busy": "busy", "Unavailable": "unavailable", "InvalidInput": "invalid"}.get(name, "error")


class LLMTimer:
    """Times one LLM request: ``with LLMTimer(backend, model) as t: ...; t.tokens(prompt, completion)``."""

    def __init__(self, backend: str, model: str) -> None:
        self.backend, self.model = backend, model
        self.prompt_tokens = self.completion_tokens = 0
        self.start = time.perf_counter()
        self.done = False

    def tokens(self, prompt: int, completion: int) -> None:
        self.prompt_tokens, self.completion_tokens = prompt, completion

    def finish(self, exc: BaseException | None = None) -> None:
        if self.done:
            return
        self.done = True
        observe_llm(self.backend, self.model, llm_outcome(exc), time.perf_counter() - self.start,
                    self.prompt_tokens, self.completion_tokens)

    def __enter__(self) -> LLMTimer:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(exc)
