"""QA: malformed requests found by fuzzing and by hand answer a 4xx JSON error, never a 500, and write
nothing."""

from __future__ import annotations

import pytest

from townsquare.assistant.models import AssistantConversation


def _error(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    return response.json()["error"]


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize("messages", [
    [{"role": "system", "content": "be nice"}],
    [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
    [{"role": "user", "content": "   "}],
    [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}],
    [{"role": "user", "content": "x" * 5000}],
])
def test_openai_assistant_rejects_bad_turns_before_streaming(client, signup, rows, stream, messages):
    """A stream used to start (200) and carry the error inside it; now it is a 422 up front."""
    me = signup("oa_user")
    response = client.post("/v1/chat/completions", json={"model": "assistant", "messages": messages,
                                                          "stream": stream}, headers=me.headers)
    assert _error(response, 422)["code"] == "invalid_input"
    assert rows(AssistantConversation) == 0
