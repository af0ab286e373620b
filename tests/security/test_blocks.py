"""Item 5: one block rule (``social/blocks.py``) on every surface, creator AIs included.

olive blocks bea. For bea, olive does not exist (404 everywhere); olive still finds bea's bare profile
(to unblock) but no content, and cannot act on her (403); creator AIs are hidden both ways.
"""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM

HTML = {"accept": "text/html"}


@pytest.fixture
def blocked(town, app):
    olive, bea = town.signup("olive", bio="zzolivebio"), town.signup("bea")
    town.message(bea, olive, "hello before the block")
    olive_ai = town.create_ai(olive, "Olive AI", visibility="public")
    bea_ai = town.create_ai(bea, "Bea AI", visibility="public")
    town.block(olive, bea)
    app.state.llms["creator"] = ScriptedLLM(answer="zzaianswer")
    app.state.llms["assistant"] = ScriptedLLM(answer="ok")
    return olive, bea, olive_ai, bea_ai


def _chat(town, who, model: str):
    return town.client.post("/v1/chat/completions", headers=who.headers,
                            json={"model": model, "messages": [{"role": "user", "content": "hi there"}]})


def test_the_blocker_does_not_exist_for_the_blocked(town, blocked):
    olive, bea, olive_ai, _ = blocked
    h, page = bea.headers, bea.headers | HTML
    not_there = [
        town.client.get(f"/api/accounts/{olive.sid}", headers=h),
        town.client.get("/api/accounts/lookup", params={"handle": "olive"}, headers=h),
        town.client.get(f"/api/accounts/{olive.sid}/posts", headers=h),
        town.client.get(f"/api/accounts/{olive.sid}/followers", headers=h),
        town.client.get("/api/studio/creators/olive/ais", headers=h),
        town.client.get(f"/api/studio/creators/olive/ais/{olive_ai['slug']}", headers=h),
        town.client.post(f"/api/studio/creators/olive/ais/{olive_ai['slug']}/chat", json={"text": "hi"}, headers=h),
        _chat(town, bea, olive_ai["model"]),
        _chat(town, bea, "creator/olive"),
        town.client.post(f"/api/accounts/{olive.sid}/follow", headers=h),
        town.client.post("/api/conversations", json={"recipient_id": olive.sid, "text": "hi?"}, headers=h),
        town.client.post("/api/reports", json={"target_type": "account", "target_id": olive.sid, "reason": "spam"},
                         headers=h),
        town.client.get("/@olive", headers=page),
        town.client.get("/@olive/followers", headers=page),
        town.client.get("/@olive/ai", headers=page, follow_redirects=False),
        town.client.get(f"/@olive/ai/{olive_ai['slug']}", headers=page),
        town.client.get("/messages/olive", headers=page),
        town.client.get(f"/report?account={olive.sid}", headers=page),
    ]
    for response in not_there:
        assert response.status_code == 404, (response.request.url, response.status_code, response.text[:200])
        assert "zzolivebio" not in response.text and "zzaianswer" not in response.text
    models = town.client.get("/v1/models", headers=h).json()["data"]
    assert olive_ai["model"] not in [m["id"] for m in models]
    conversations = town.client.get("/api/conversations", headers=h).json()["items"]
    assert conversations == []  # the conversation with olive is gone for bea
    assert "olive" not in town.client.get("/messages", headers=page).text


def test_the_blocker_sees_the_bare_profile_but_cannot_act(town, blocked):
    olive, bea, _, bea_ai = blocked
    assert town.client.get(f"/api/accounts/{bea.sid}", headers=olive.headers).status_code == 200
    assert town.client.get("/@bea", headers=olive.headers | HTML).status_code == 200
    refused = town.client.post(f"/api/accounts/{bea.sid}/follow", headers=olive.headers)
    assert refused.status_code == 403
    sent = town.client.post("/api/conversations", json={"recipient_id": bea.sid, "text": "x"}, headers=olive.headers)
    assert sent.status_code == 403
    # Creator AIs are content: hidden both ways.
    assert _chat(town, olive, bea_ai["model"]).status_code == 404
    assert bea_ai["model"] not in [m["id"] for m in town.client.get("/v1/models", headers=olive.headers).json()["data"]]
    assert town.client.get("/api/studio/creators/bea/ais", headers=olive.headers).json()["items"] == []
    assert town.client.get(f"/@bea/ai/{bea_ai['slug']}", headers=olive.headers | HTML).status_code == 404
    assert "Bea AI" not in town.client.get("/@bea", headers=olive.headers | HTML).text
    # Reporting someone you blocked is fine (block, then report).
    report = town.client.post("/api/reports", json={"target_type": "account", "target_id": bea.sid,
                                                    "reason": "harassment"}, headers=olive.headers)
    assert report.status_code == 201


def test_unblocking_brings_everything_back(town, blocked):
    olive, bea, olive_ai, _ = blocked
    town.ok(town.client.delete(f"/api/accounts/{bea.sid}/block", headers=olive.headers))
    assert town.client.get("/@olive", headers=bea.headers | HTML).status_code == 200
    assert _chat(town, bea, olive_ai["model"]).status_code == 200
    assert olive_ai["model"] in [m["id"] for m in town.client.get("/v1/models", headers=bea.headers).json()["data"]]
