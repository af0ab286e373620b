"""The models the web layer hands to domain code: one LLM per role and the safety shield, from the
app's ``Services`` (``townsquare/services.py``). Tests put scripted models in ``app.state.llms[role]``."""

from __future__ import annotations

from fastapi import Request


def llm_for(request: Request, role: str):
    return request.app.state.services.llm(role)


def shield_for(request: Request):
    return request.app.state.services.shield()
