"""``townsquare bench llm``: what our runtime adds on top of llama-cpp-python.

Both systems use the same loaded model, the same prompt tokens and the same settings (greedy, same
max_tokens), interleaved run by run so that machine load hits both alike; the KV cache is reset
before every run so neither reuses the other's prompt. Metrics per run: time to first token (call ->
first text piece), tokens/s after the first token, total time; the table shows medians.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from townsquare.errors import InvalidInput
from townsquare.llm.embedded import EmbeddedLLM

PROMPTS = [
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Explain how a bicycle stays upright, for a curious ten-year-old.",
    "Describe a perfect Sunday morning in a small coastal town.",
    "Give me some tips for keeping a vegetable garden healthy in summer.",
]


def _timed(stream: Any, count_tokens: Any) -> tuple[float, float, int]:
    start = time.perf_counter()
    first = None
    text = []
    for piece in stream:
        if first is None:
            first = time.perf_counter()
        text.append(piece)
    end = time.perf_counter()
    tokens = count_tokens("".join(text))
    first = first or end
    return first - start, max(tokens - 1, 1) / max(end - first, 1e-9), end - start


def run_speed_bench(llm: Any, runs: int = 8, max_tokens: int = 64) -> list[dict[str, Any]]:
    backend = llm.backend
    if not isinstance(backend, EmbeddedLLM):
        raise InvalidInput("bench llm compares against llama-cpp-python and needs the embedded backend")
    model = backend._llama()

    def count(text: str) -> int:
        return len(model.tokenize(text.encode(), add_bos=False, special=True))

    def direct(prompt_text: str):
        for chunk in model.create_completion(prompt_text, max_tokens=max_tokens, temperature=0.0, stream=True,
                                             seed=backend.seed):
            piece = chunk["choices"][0]["text"]
            if piece:
                yield piece

    samples: dict[str, list[tuple[float, float, float]]] = {"direct": [], "ours": []}
    for i in range(runs + 1):  # run 0 warms both paths up and is not counted
        messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
        prompt_text = backend.render(messages)
        order = ("direct", "ours") if i % 2 == 0 else ("ours", "direct")
        for system in order:
            model.reset()
            if system == "direct":
                sample = _timed(direct(prompt_text), count)
            else:
                sample = _timed(llm.chat(messages, max_tokens=max_tokens, temperature=0.0, stream=True), count)
            if i:
                samples[system].append(sample)
    # What our code adds before llama.cpp starts (render, tokenize, context check, queue), measured
    # directly: the TTFT difference above is within the noise of a shared machine.
    prep = []
    for i in range(50):
        messages = [{"role": "user", "content": PROMPTS[i % len(PROMPTS)]}]
        start = time.perf_counter()
        backend._request(backend.render(messages), max_tokens, 0.0, None, None, None)
        backend._admit().release()
        prep.append(time.perf_counter() - start)
    rows = []
    for system, name in (("direct", "llama-cpp-python direct"), ("ours", "townsquare runtime")):
        ttft, tps, total = zip(*samples[system], strict=True)
        rows.append({"name": name, "metrics": {"tokens_per_s": statistics.median(tps),
                                               "ttft_ms": 1000 * statistics.median(ttft),
                                               "total_ms": 1000 * statistics.median(total),
                                               "prep_ms": 1000 * statistics.median(prep) if system == "ours" else 0.0},
                     "config": {"runs": runs, "max_tokens": max_tokens, "threads": backend.n_threads,
                                "model": backend.name}})
    return rows
