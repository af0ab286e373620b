"""The models the web layer hands to domain code: one LLM per role and the safety shield.

They are created on first use and kept on ``app.state``; tests (and deployments that wire
models themselves) put their own in ``app.state.llms[role]`` / ``app.state.shield``.
"""

from __future__ import annotations

import threading

from fastapi import Request

_lock = threading.Lock()


def llm_for(request: Request, role: str):
    llms = request.app.state.llms
    if role not in llms:
        with _lock:
            if role not in llms:
                from townsquare.llm.runtime import get_llm

                llms[role] = get_llm(role, request.app.state.settings)
    return llms[role]


def shield_for(request: Request):
    if request.app.state.shield is None:
        with _lock:
            if request.app.state.shield is None:
                from townsquare.safety.shields import default_shield

                request.app.state.shield = default_shield(request.app.state.settings)
    return request.app.state.shield
