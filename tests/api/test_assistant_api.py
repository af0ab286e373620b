"""The assistant through its native API (SSE) and the OpenAI-compatible API with the openai client."""

import json

import openai
import pytest
from scripted_llm import ScriptedLLM


@pytest.fixture
def people(client, signup, follow):
    me, mia = signup("mee_api"), signup("mia_api", display_name="Mia")
    follow(me, mia)
    response = client.post("/api/posts", json={"text": "Sunset bouldering session #climbing"}, headers=mia.headers)
    assert response.status_code == 201
    return me, mia, response.json()["id"]


def _use(app, *script, answer="Here you go."):
    llm = ScriptedLLM(*script, answer=answer)
    app.state.llms["assistant"] = llm
    return llm


def _sse(response) -> list[dict]:
    events = []
    for frame in response.text.strip().split("\n\n"):
        data = [line[len("data: "):] for line in frame.splitlines() if line.startswith("data: ")]
        if data:
            events.append(json.loads(data[0]))
    return events


def test_streamed_turn_then_confirm_over_the_api(app, client, people):
    me, mia, _ = people
    conversation = client.post("/api/assistant/conversations", headers=me.headers).json()
    _use(app, [("react_to_post", {"post_id": people[2]})])
    response = client.post(f"/api/assistant/conversations/{conversation['id']}/messages",
                           json={"text": "like mia's climbing post"}, headers=me.headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response)
    assert [e["type"] for e in events] == ["user", "tool_call", "confirmation", "text", "done"]
    action_id = events[2]["action_id"]
    assert client.get(f"/api/posts/{people[2]}", headers=me.headers).json()["like_count"] == 0
    # Someone else cannot confirm it; the owner can, once.
    assert client.post(f"/api/assistant/actions/{action_id}/confirm", headers=mia.headers).status_code == 404
    ok = client.post(f"/api/assistant/actions/{action_id}/confirm", headers=me.headers)
    assert ok.status_code == 200 and ok.json()["status"] == "done"
    again = client.post(f"/api/assistant/actions/{action_id}/confirm", headers=me.headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    assert client.get(f"/api/posts/{people[2]}", headers=me.headers).json()["like_count"] == 1
    stored = client.get(f"/api/assistant/conversations/{conversation['id']}", headers=me.headers).json()
    assert [s["type"] for s in stored["steps"]][-1] == "tool_result"
    assert client.get(f"/api/assistant/conversations/{conversation['id']}", headers=mia.headers).status_code == 404


def test_bad_requests_are_clear_json_errors(app, client, people):
    me, _, _ = people
    conversation = client.post("/api/assistant/conversations", headers=me.headers).json()
    url = f"/api/assistant/conversations/{conversation['id']}/messages"
    assert client.post(url, json={"text": "  "}, headers=me.headers).status_code == 422
    assert client.post(url, content=b"{nope", headers={**me.headers, "content-type": "application/json"}
                       ).status_code == 422
    assert client.post(url, json={"text": "hi"}).status_code == 401
    assert client.post("/api/assistant/conversations/999999/messages", json={"text": "hi"},
                       headers=me.headers).status_code == 404
    assert client.post("/api/assistant/actions/abc/confirm", headers=me.headers).status_code in (404, 422)


def test_memories_api(client, people):
    me, mia, _ = people
    created = client.post("/api/assistant/memories", json={"text": "I climb on Tuesdays"}, headers=me.headers)
    assert created.status_code == 201
    memory_id = created.json()["id"]
    assert client.patch(f"/api/assistant/memories/{memory_id}", json={"text": "Tuesdays and Fridays"},
                        headers=me.headers).json()["text"] == "Tuesdays and Fridays"
    assert client.delete(f"/api/assistant/memories/{memory_id}", headers=mia.headers).status_code == 404
    assert client.delete(f"/api/assistant/memories/{memory_id}", headers=me.headers).status_code == 204
    assert client.get("/api/assistant/memories", headers=me.headers).json()["items"] == []


def _openai(client, user) -> openai.OpenAI:
    return openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key=user.token, http_client=client,
                         max_retries=0)


def test_openai_client_lists_models_and_chats(app, client, people):
    me, _, _ = people
    oa = _openai(client, me)
    assert "assistant" in [m.id for m in oa.models.list().data]
    _use(app, [("search_posts", {"query": "climbing"})])
    reply = oa.chat.completions.create(model="assistant", messages=[{"role": "user", "content": "climbing posts?"}])
    assert "Sunset bouldering" in reply.choices[0].message.content
    _use(app, [("search_posts", {"query": "climbing"})])
    stream = oa.chat.completions.create(model="assistant", stream=True,
                                        messages=[{"role": "user", "content": "climbing posts?"}])
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert "Sunset bouldering" in text


def test_openai_client_side_effects_come_back_as_pending_actions(app, client, people):
    me, mia, _ = people
    _use(app, [("publish_post", {"text": "Who is up for a Saturday run?"})])
    reply = _openai(client, me).chat.completions.create(
        model="assistant", messages=[{"role": "user", "content": "post: who is up for a Saturday run?"}])
    assert reply.choices[0].message.content.startswith("Please confirm")
    pending = reply.model_extra["townsquare"]["pending_action"]
    assert pending["tool"] == "publish_post"
    assert client.get(f"/api/accounts/{me.id}/posts", headers=me.headers).json()["items"] == []
    assert client.post(pending["confirm_url"], headers=me.headers).status_code == 200
    assert len(client.get(f"/api/accounts/{me.id}/posts", headers=me.headers).json()["items"]) == 1


def test_openai_errors(app, client, people):
    me, _, _ = people
    oa = _openai(client, me)
    with pytest.raises(openai.NotFoundError):
        oa.chat.completions.create(model="gpt-17", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=str(client.base_url) + "/v1", api_key="wrong", http_client=client,
                      max_retries=0).models.list()
    with pytest.raises(openai.UnprocessableEntityError):
        oa.chat.completions.create(model="assistant", messages=[{"role": "assistant", "content": "hi"}])
