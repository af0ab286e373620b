"""A CI-sized schemathesis fuzz of the native API (``/api/openapi.json``), in process (ASGI), on SQLite.

Every operation gets ``TOWNSQUARE_FUZZ_EXAMPLES`` generated requests (default 12) in each of three
passes: schema-valid requests, schema-violating requests, and schema-valid requests whose path ids
are those of real objects (so that the fuzzed bodies and queries reach the services, not only the
404s). Requests are signed in as a person with some content (``/api/admin/...`` as an admin), with a
fresh token each (a fuzzed sign-out or password change must not end the run). No request may get a
server error (5xx, or an exception out of the app), and every JSON 4xx must be the error envelope
``{"error": {"code", "message"}}``.

A longer run (see docs/security.md): ``TOWNSQUARE_FUZZ_EXAMPLES=200 pytest tests/security/test_fuzz.py``,
or schemathesis' own CLI against a live server.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from scripted_llm import ScriptedLLM
from sqlalchemy import update

from townsquare.social.models import Account
from townsquare.social.tokens import issue_token

EXAMPLES = int(os.environ.get("TOWNSQUARE_FUZZ_EXAMPLES", "12"))


@dataclass
class Fuzzed:
    app: object
    user_id: int
    admin_id: int
    known: dict[str, str]  # path parameter name -> the id of a real object


@pytest.fixture
def fuzzed(app, town) -> Fuzzed:
    """The app with a small community, every kind of object once, and scripted models."""
    app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "boss"})], answer="ok")
    app.state.llms["creator"] = ScriptedLLM(answer="ok")
    me, other, boss = town.signup("fuzzer"), town.signup("other"), town.signup("boss")
    with app.state.db.session() as s:
        s.get(Account, boss.id).is_admin = True
        s.commit()
    town.follow(me, other)
    town.follow(other, me)  # a notification for me
    post_id = town.post(other, "hello #fuzz")
    comment_id = town.comment(me, post_id, "a comment")
    town.message(me, other, "hi")
    ai = town.create_ai(me, "Fuzz AI", visibility="public")
    media = town.upload_png(me)
    client, h = town.client, me.headers
    conversation_id = client.get("/api/conversations", headers=h).json()["items"][0]["id"]
    notification_id = client.get("/api/notifications", headers=h).json()["items"][0]["id"]
    memory_id = town.ok(client.post("/api/assistant/memories", json={"text": "I like climbing"}, headers=h), 201)["id"]
    chat = town.ok(client.post("/api/assistant/conversations", headers=h), 201)["id"]
    steps = town.ok(client.post(f"/api/assistant/conversations/{chat}/messages",
                                json={"text": "follow @boss", "stream": False}, headers=h))["steps"]
    action_id = next(s["action_id"] for s in steps if s["type"] == "confirmation")
    report_id = town.ok(client.post("/api/reports", json={"target_type": "post", "target_id": post_id,
                                                          "reason": "spam"}, headers=h), 201)["id"]
    known = {"account_id": str(other.id), "post_id": post_id, "comment_id": comment_id, "ai_id": str(ai["id"]),
             "media_id": media["id"], "conversation_id": str(conversation_id), "notification_id": notification_id,
             "memory_id": str(memory_id), "action_id": action_id, "report_id": report_id, "handle": "fuzzer",
             "slug": ai["slug"], "name": "fuzz", "channel": "comments"}
    return Fuzzed(app, me.id, boss.id, known)


def _call(fz: Fuzzed, case):
    admin = case.operation.path.startswith("/api/admin/")
    with fz.app.state.db.session() as s:
        token = issue_token(s, s.get(Account, fz.admin_id if admin else fz.user_id))
        s.commit()
    response = case.call(headers={"Authorization": f"Bearer {token}"})
    if admin:  # a fuzzed suspension must not lock the run out
        with fz.app.state.db.session() as s:
            s.execute(update(Account).values(status="active"))
            s.commit()
    return response


def _problem(fz: Fuzzed, case) -> str | None:
    response = _call(fz, case)
    # Bytes, not text: some answers are binary (the audio of /v1/audio/speech).
    where = f"{case.method} {case.formatted_path} -> {response.status_code}: " + \
        response.content[:300].decode("utf-8", "replace")
    if response.status_code >= 500:
        return where
    content_type = (response.headers.get("content-type") or [""])[0]  # schemathesis: name -> list of values
    if 400 <= response.status_code < 500 and content_type.startswith("application/json"):
        error = json.loads(response.content).get("error")
        if not (isinstance(error, dict) and error.get("code") and error.get("message")):
            return "not the error envelope: " + where
    return None


def _fuzz(fz: Fuzzed, operation, mode, path_parameters: dict | None = None) -> tuple[int, list[str]]:
    """(requests made, problems found) for one operation in one pass."""
    calls, found = [0], []

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def run(case):
        calls[0] += 1
        problem = _problem(fz, case)
        if problem and len(found) < 3:
            found.append(problem)

    try:
        run()
    except Unsatisfiable:
        pass  # nothing in the schema to violate (e.g. no parameters): no negative case exists
    except Exception as exc:  # an exception raised inside the app surfaces here: a server error
        found.append(f"{operation.method.upper()} {operation.path}: {type(exc).__name__}: {exc}"[:400])
    return calls[0], found


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
def test_no_server_errors(fuzzed):
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", fuzzed.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    calls, problems = 0, []
    for operation in operations:
        names = re.findall(r"{(\w+)}", operation.path)
        passes = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if names and all(n in fuzzed.known for n in names):
            passes.append((GenerationMode.POSITIVE, {n: fuzzed.known[n] for n in names}))
        for mode, path_parameters in passes:
            made, found = _fuzz(fuzzed, operation, mode, path_parameters)
            calls, problems = calls + made, problems + found
    assert calls >= len(operations) * min(EXAMPLES, 5), calls  # the fuzz really ran
    assert not problems, f"{len(problems)} problems in {calls} requests:\n" + "\n".join(problems)
