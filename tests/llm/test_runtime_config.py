"""Model roles and backend choice from settings (nothing loaded)."""

import pytest

from townsquare.config import load_settings
from townsquare.errors import InvalidInput
from townsquare.llm.embedded import EmbeddedLLM
from townsquare.llm.remote import RemoteLLM
from townsquare.llm.runtime import get_llm, role_spec


def test_roles_default_to_the_embedded_model_and_share_it():
    settings = load_settings(env={})
    assert role_spec(settings, "assistant") == ("embedded", "")
    assistant, creator = get_llm("assistant", settings), get_llm("creator", settings)
    assert isinstance(assistant.backend, EmbeddedLLM)
    assert assistant.backend is creator.backend  # one model, one queue


def test_role_overrides_pick_a_gguf_or_a_remote_model():
    settings = load_settings(env={}, llm_base_url="http://127.0.0.1:9/v1", guard_model="llama-guard-3-8b",
                             creator_model="/models/creator.gguf")
    assert role_spec(settings, "guard") == ("remote", "llama-guard-3-8b")
    assert role_spec(settings, "creator") == ("embedded", "/models/creator.gguf")
    guard = get_llm("guard", settings)
    assert isinstance(guard.backend, RemoteLLM) and guard.backend.model == "llama-guard-3-8b"


def test_bad_roles_and_backends_are_clear():
    with pytest.raises(InvalidInput, match="role"):
        get_llm("poet", load_settings(env={}))
    with pytest.raises(InvalidInput, match="llm_backend"):
        get_llm("assistant", load_settings(env={}, llm_backend="cloud"))
    with pytest.raises(InvalidInput, match="llm_base_url"):
        get_llm("assistant", load_settings(env={}, llm_backend="remote"))


def test_env_settings_reach_the_runtime():
    settings = load_settings(env={"TOWNSQUARE_LLM_TOOL_THRESHOLD": "0.4", "TOWNSQUARE_LLM_QUEUE_SIZE": "3"})
    assert settings.llm_tool_threshold == 0.4
    assert get_llm("assistant", settings).backend.queue_size == 3
