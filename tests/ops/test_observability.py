"""/healthz, /readyz, /metrics, request ids and access logs, on the app in process."""

from __future__ import annotations

import logging
import re
import time

import pytest
from fastapi.testclient import TestClient

from townsquare.server.logs import RequestIdFilter


def _sample(text: str, name: str, **labels) -> float:
    """The value of one sample in Prometheus exposition text (0 when absent)."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.compile(rf"^{re.escape(name)}(\{{(.*)\}})? ([0-9.e+-]+)$")
    total = 0.0
    for line in text.splitlines():
        m = pattern.match(line)
        if not m:
            continue
        got = m.group(2) or ""
        if all(part in got.split(",") for part in want.split(",") if part):
            total += float(m.group(3))
    return total


def test_healthz_and_readyz_answer_with_json(client):
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    body = ready.json()
    assert body["ready"] is True
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["rec_model"]["state"] == "none"  # no model trained: heuristics, still ready
    assert body["checks"]["llm"]["ok"] is True
    assert "redis" not in body["checks"]  # not configured


def test_request_id_is_kept_when_plain_and_replaced_when_not(client):
    assert client.get("/healthz", headers={"X-Request-ID": "trace-1.a_b:c"}).headers["x-request-id"] == "trace-1.a_b:c"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    other = client.get("/healthz").headers["x-request-id"]
    assert other != made


def test_metrics_count_requests_by_route_template_and_status(client):
    before = client.get("/metrics").text
    for post_id in (123456, 123457, 123458):
        assert client.get(f"/api/posts/{post_id}").status_code == 404
    client.get("/no/such/page/at/all")
    text = client.get("/metrics").text
    key = dict(method="GET", route="/api/posts/{post_id}", status="404")
    assert _sample(text, "townsquare_http_requests_total", **key) - _sample(
        before, "townsquare_http_requests_total", **key) == 3
    assert "/api/posts/123456" not in text  # raw paths never become labels
    assert _sample(text, "townsquare_http_requests_total", route="<unmatched>") >= 1
    count = "townsquare_http_request_duration_seconds_count"
    assert _sample(text, count, route="/api/posts/{post_id}") - _sample(before, count, route="/api/posts/{post_id}") == 3
    assert "townsquare_event_buffer_backlog" in text and "townsquare_event_buffer_lag_seconds" in text


def test_feed_stage_timings_and_event_backlog_reach_the_metrics(client):
    token = client.post("/api/auth/signup", json={"handle": "metrics_reader", "password": "correct horse"}).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    before = client.get("/metrics").text
    assert client.get("/api/feed", headers=auth).status_code == 200
    text = client.get("/metrics").text
    for stage in ("context", "sources", "score", "blend", "hydrate"):
        name = "townsquare_feed_stage_seconds_count"
        assert _sample(text, name, stage=stage) - _sample(before, name, stage=stage) == 1, stage
    assert _sample(text, "townsquare_feed_pages_total", ranked_by="heuristic") > _sample(
        before, "townsquare_feed_pages_total", ranked_by="heuristic")


def test_event_buffer_backlog_and_lag_are_sampled(app, client):
    events = app.state.services.events
    events.interval_s = 3600  # nothing is written behind our back during the test
    events._rows.extend([{"placeholder": True}] * 7)  # what waits, as the sampler sees it
    events._since = events._since or 0.0
    try:
        text = client.get("/metrics").text
        assert _sample(text, "townsquare_event_buffer_backlog") == 7
        assert _sample(text, "townsquare_event_buffer_lag_seconds") > 0
    finally:
        events._rows.clear()
        events._since = None


def test_metrics_token_when_configured(settings, db):
    from townsquare.server.app import create_app

    settings.metrics_token = "s3cret"
    with TestClient(create_app(settings, db)) as c:
        assert c.get("/metrics").status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_every_log_line_of_a_request_carries_its_id(app, client, caplog):
    """Lines logged in the route's worker thread and the access line carry the request's id."""

    @app.get("/_test/log-something")
    def _log_something():
        logging.getLogger("townsquare.test").warning("inside the route")
        return {"ok": True}

    caplog.handler.addFilter(RequestIdFilter())  # caplog's handler is this test's own
    caplog.set_level(logging.INFO, logger="townsquare.access")
    response = client.get("/_test/log-something", headers={"X-Request-ID": "req-abc-1"})
    assert response.status_code == 200 and response.headers["x-request-id"] == "req-abc-1"
    deadline = time.monotonic() + 5  # the access line is written once the last byte is sent
    while time.monotonic() < deadline:
        mine = [r for r in caplog.records if getattr(r, "request_id", None) == "req-abc-1"]
        if {r.name for r in mine} >= {"townsquare.test", "townsquare.access"}:
            break
        time.sleep(0.02)
    assert {r.name for r in mine} >= {"townsquare.test", "townsquare.access"}
    access = next(r for r in mine if r.name == "townsquare.access")
    assert access.status == 200 and access.route == "/_test/log-something" and access.method == "GET"


def test_json_log_format_writes_one_object_a_line():
    import json

    from townsquare.server.logs import JsonFormatter, request_id_var

    token = request_id_var.set("rid-9")
    try:
        record = logging.LogRecord("townsquare.access", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
        record.status, record.route = 200, "/x"
        RequestIdFilter().filter(record)
        line = JsonFormatter().format(record)
    finally:
        request_id_var.reset(token)
    data = json.loads(line)
    assert data["message"] == "GET /x" and data["request_id"] == "rid-9" and data["status"] == 200
    assert data["level"] == "info" and data["logger"] == "townsquare.access"


def test_log_config_refuses_an_unknown_format():
    from townsquare.server.logs import log_config

    with pytest.raises(ValueError, match="text.*json"):
        log_config("xml")
    off = log_config("text", access_log=False)
    assert off["loggers"]["townsquare.access"]["level"] == "WARNING"


def test_readiness_waits_for_the_active_model_to_load(settings, db):
    """With a trained model active, a process is not ready until it serves it; then it is, and the
    gauge says so."""
    from rec_app.community import build_community, fake_embed, train_tiny

    from townsquare.server.app import create_app

    build_community(db, people=12, days=6)
    out = train_tiny(settings, db, epochs=1)
    assert out.activated
    settings.preload_models = False  # so that the first probe sees it unloaded
    app = create_app(settings, db)
    from townsquare.rec.serve import Scorer

    app.state.services.feed._load_scorer = lambda: Scorer.load_active(settings, db=db, embed=fake_embed)
    with TestClient(app) as client:
        first = client.get("/readyz")
        assert first.status_code == 503 and first.json()["checks"]["rec_model"]["state"] == "loading"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and client.get("/readyz").status_code != 200:
            time.sleep(0.2)
        body = client.get("/readyz").json()
        assert body["ready"] is True, body
        model = body["checks"]["rec_model"]
        assert (model["state"], model["active"], model["loaded"]) == ("loaded", out.version, out.version)
        assert _sample(client.get("/metrics").text, "townsquare_rec_model_loaded") == 1
