"""Shields: check a conversation's last turn (the person's input, or the AI's output) before it
goes further. ``LlamaGuardShield`` asks a Llama Guard 3 model; ``BuiltinShield`` is the fallback
that needs no model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from townsquare.safety import builtin
from townsquare.safety.categories import category_name
from townsquare.safety.llama_guard import build_prompt, parse_verdict

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Verdict:
    safe: bool
    categories: list[str] = field(default_factory=list)
    source: str = "builtin"  # "builtin", "llama-guard", or "builtin (guard unavailable)"

    @property
    def reason(self) -> str:
        if self.safe:
            return ""
        names = ", ".join(f"{c} {category_name(c)}" for c in self.categories) or "unsafe content"
        return f"flagged as {names}"

    def as_dict(self) -> dict:
        return {"safe": self.safe, "categories": self.categories, "source": self.source, "reason": self.reason}


class Shield(Protocol):
    def check(self, messages: Sequence[dict]) -> Verdict:
        """Judge the last user or assistant message of ``messages``."""


def _last_text(messages: Sequence[dict]) -> str:
    for message in reversed(messages):
        if message.get("role") in ("user", "assistant"):
            return str(message.get("content") or "")
    return ""


class BuiltinShield:
    def check(self, messages: Sequence[dict]) -> Verdict:
        codes = builtin.classify(_last_text(messages))
        return Verdict(safe=not codes, categories=codes, source="builtin")


class LlamaGuardShield:
    """Asks a Llama Guard 3 model through ``complete(prompt) -> text`` (a raw completion).

    When the guard cannot be reached, the built-in shield decides, and the verdict says so.
    """

    def __init__(self, complete: Callable[[str], str], fallback: Shield | None = None) -> None:
        self.complete = complete
        self.fallback = fallback or BuiltinShield()

    def check(self, messages: Sequence[dict]) -> Verdict:
        if not _last_text(messages).strip():
            return Verdict(safe=True, source="llama-guard")
        try:
            answer = self.complete(build_prompt(messages))
        except Exception as exc:  # the guard being down must not open the gate or crash the turn
            log.warning("guard model unavailable, using the built-in shield: %s", exc)
            verdict = self.fallback.check(messages)
            return Verdict(verdict.safe, verdict.categories, "builtin (guard unavailable)")
        safe, codes = parse_verdict(answer)
        if safe:
            # The guard is the stronger judge, but a clear built-in match still blocks.
            codes = builtin.classify(_last_text(messages))
            return Verdict(safe=not codes, categories=codes, source="llama-guard" if not codes else "builtin")
        return Verdict(safe=False, categories=codes, source="llama-guard")


def remote_guard_completion(base_url: str, model: str, api_key: str = "", timeout: float = 30.0):
    """``complete(prompt)`` against an OpenAI-compatible ``/completions`` endpoint serving the guard."""
    import httpx

    url = base_url.rstrip("/") + "/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}

    def complete(prompt: str) -> str:
        response = httpx.post(url, json={"model": model, "prompt": prompt, "max_tokens": 20, "temperature": 0},
                              headers=headers, timeout=timeout)
        response.raise_for_status()
        return response.json()["choices"][0]["text"]

    return complete


def default_shield(settings) -> Shield:
    """Llama Guard when ``guard_model`` is configured (on ``llm_base_url``), else the built-in shield."""
    if settings.guard_model and settings.llm_base_url:
        return LlamaGuardShield(remote_guard_completion(settings.llm_base_url, settings.guard_model,
                                                        settings.llm_api_key, settings.llm_timeout_s))
    return BuiltinShield()
