"""``townsquare bench assistant-stream``: how much later the first streamed token reaches a client of
``/v1/chat/completions`` than the model itself produced its first token.

The app runs for real (uvicorn, in this process, on a scratch SQLite database with a small seeded
community); the client is ``httpx`` reading the server-sent events. The assistant's model is wrapped
to note the moment its own stream yields its first piece, on the same clock as the client
(``time.perf_counter`` in one process). Per request: ``model_first_token_s`` (request sent -> the
model's first piece), ``client_first_token_s`` (request sent -> first content chunk at the client) and
their difference, the ``gap_s`` the app adds (grounding checks that hold a clause back, the output
shield, transport). Prompts are ones the model answers in its own words (no tool), since tool
answers are not generated token by token.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from dataclasses import dataclass

PROMPTS = (
    "Tell me something nice about mornings.", "What is the capital of Japan?", "Say hello to me!",
    "What's a good name for a cat?", "How are you today?", "Give me a word that rhymes with moon.",
    "What colour is the sky on a clear day?", "Name a fruit that is yellow.",
)


class FirstTokenLLM:
    """Wraps the assistant's model; ``first_piece_at`` is when its latest stream yielded its first piece."""

    def __init__(self, llm) -> None:
        self.llm = llm
        self.first_piece_at: float | None = None

    def __getattr__(self, name):  # backend, name, chat_with_tools, ...: the real model's
        return getattr(self.llm, name)

    def chat(self, *args, **kwargs):
        result = self.llm.chat(*args, **kwargs)
        if not kwargs.get("stream"):
            return result
        self.first_piece_at = None
        return _NotedStream(result, self)


class _NotedStream:
    def __init__(self, stream, owner: FirstTokenLLM) -> None:
        self.stream, self.owner, self.iterator = stream, owner, iter(stream)

    def __iter__(self):
        return self

    def __next__(self):
        piece = next(self.iterator)
        if self.owner.first_piece_at is None and piece:
            self.owner.first_piece_at = time.perf_counter()
        return piece

    def __getattr__(self, name):  # close, usage, finish_reason
        return getattr(self.stream, name)


@dataclass
class StreamSample:
    prompt: str
    model_first_token_s: float | None
    client_first_token_s: float | None
    total_s: float

    @property
    def gap_s(self) -> float | None:
        if self.model_first_token_s is None or self.client_first_token_s is None:
            return None
        return self.client_first_token_s - self.model_first_token_s


def _serve(app):
    import uvicorn

    from townsquare.bench.server import free_port

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def _ask(client, base: str, token: str, prompt: str, timer: FirstTokenLLM) -> StreamSample:
    body = {"model": "assistant", "stream": True, "messages": [{"role": "user", "content": prompt}]}
    timer.first_piece_at = None  # a turn the tools answer streams no model tokens
    started = time.perf_counter()
    first = None
    with client.stream("POST", base + "/v1/chat/completions", json=body,
                       headers={"Authorization": f"Bearer {token}"}) as response:
        if response.status_code != 200:
            raise RuntimeError(f"/v1 answered HTTP {response.status_code}: {response.read()[:200]!r}")
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            delta = (chunk.get("choices") or [{}])[0].get("delta") or {}
            if first is None and delta.get("content"):
                first = time.perf_counter()
    ended = time.perf_counter()
    model = timer.first_piece_at
    return StreamSample(prompt, None if model is None else model - started,
                        None if first is None else first - started, ended - started)


def run(*, prompts: tuple[str, ...] = PROMPTS, repeats: int = 1, people: int = 30, seed: int = 7,
        settings=None, progress=None) -> dict:
    import httpx

    from townsquare.bench.report import scratch_database
    from townsquare.server.app import create_app
    from townsquare.sim.seed import DEMO_HANDLE, SeedOptions, seed_community
    from townsquare.social import accounts, tokens

    with scratch_database("townsquare-bench-stream-", settings) as (bench_settings, db):
        seed_community(bench_settings, db, SeedOptions(people=people, days=1, seed=seed))
        with db.session() as s:
            token = tokens.issue_token(s, accounts.get_account_by_handle(s, DEMO_HANDLE), name="stream bench")
        app = create_app(bench_settings, db)
        timer = FirstTokenLLM(app.state.services.llm("assistant"))
        app.state.services.llms["assistant"] = timer
        base, server, thread = _serve(app)
        samples: list[StreamSample] = []
        try:
            with httpx.Client(timeout=300) as client:
                _ask(client, base, token, "Hello!", timer)  # warm-up: model load, first prompt cache
                for _ in range(repeats):
                    for prompt in prompts:
                        samples.append(_ask(client, base, token, prompt, timer))
                        if progress:
                            progress()
        finally:
            server.should_exit = True
            thread.join(timeout=10)
    gaps = [s.gap_s for s in samples if s.gap_s is not None]
    return {"name": "assistant-stream", "metrics": {
        "requests": len(samples), "streamed_by_model": len(gaps),  # the others were answered by tools
        "gap_median_s": statistics.median(gaps) if gaps else None,
        "gap_max_s": max(gaps) if gaps else None,
        "model_first_token_median_s": statistics.median([s.model_first_token_s for s in samples
                                                         if s.model_first_token_s is not None] or [0.0]),
        "client_first_token_median_s": statistics.median([s.client_first_token_s for s in samples
                                                          if s.client_first_token_s is not None] or [0.0]),
        "goal_gap_s": 1.0},
        "samples": [{"prompt": s.prompt, "model_first_token_s": s.model_first_token_s,
                     "client_first_token_s": s.client_first_token_s, "gap_s": s.gap_s, "total_s": s.total_s}
                    for s in samples]}
