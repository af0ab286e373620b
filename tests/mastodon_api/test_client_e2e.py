"""End to end with the real Mastodon.py client against a live server (uvicorn on loopback): app
registration, the OAuth code flow with PKCE through the consent page over HTTP, posting with media and
alt text, favourite, reblog, follow, home timeline pages, notifications, search, direct messages, and
streaming (server-sent events and WebSocket) with events arriving within a second."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

mastodon = pytest.importorskip("mastodon")
from live_server import live_app  # noqa: E402
from mastodon import Mastodon, StreamListener  # noqa: E402

from .helpers import HTML, PASSWORD, csrf_of, pkce_pair, png  # noqa: E402

REDIRECT = "http://127.0.0.1:9/callback"
SCOPES = ["read", "write", "follow"]


def _signup(base: str, handle: str) -> None:
    r = httpx.post(f"{base}/api/auth/signup", json={"handle": handle, "password": PASSWORD})
    assert r.status_code == 201, r.text


def _browser(base: str, handle: str) -> httpx.Client:
    browser = httpx.Client(base_url=base)
    page = browser.get("/signin", headers=HTML).text
    r = browser.post("/signin", data={"login": handle, "password": PASSWORD, "csrf": csrf_of(page)}, headers=HTML)
    assert r.status_code == 303 and r.headers["location"] == "/", r.text[:300]
    return browser


def _approve(browser: httpx.Client, authorize_url: str) -> dict:
    """Open the consent page at the URL the client made, press Authorize, read the redirect."""
    page = browser.get(authorize_url, headers=HTML)
    assert page.status_code == 200 and "Authorize" in page.text, page.text[:400]
    import html
    import re

    fields = {k: html.unescape(v) for k, v in re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"',
                                                          page.text)}
    r = browser.post("/oauth/authorize", data=fields | {"decision": "approve"}, headers=HTML, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    return {k: v[0] for k, v in parse_qs(urlsplit(r.headers["location"]).query).items()}


def _login_with_pkce(base: str, handle: str, client_id: str, client_secret: str) -> Mastodon:
    app = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    url = app.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, state="st8", allow_http=True)
    verifier, challenge = pkce_pair()
    url += "&" + urlencode({"code_challenge": challenge, "code_challenge_method": "S256"})
    browser = _browser(base, handle)
    try:
        got = _approve(browser, url)
    finally:
        browser.close()
    assert got["state"] == "st8"
    # Mastodon.py's log_in has no PKCE verifier: the token request is made as any PKCE client does
    r = httpx.post(f"{base}/oauth/token", data={"grant_type": "authorization_code", "code": got["code"],
                                                 "client_id": client_id, "redirect_uri": REDIRECT,
                                                 "code_verifier": verifier})
    assert r.status_code == 200, r.text
    return Mastodon(access_token=r.json()["access_token"], api_base_url=base)


def _login_with_mastodon_py(base: str, handle: str, client_id: str, client_secret: str) -> Mastodon:
    client = Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=base)
    url = client.auth_request_url(redirect_uris=REDIRECT, scopes=SCOPES, allow_http=True)
    browser = _browser(base, handle)
    try:
        code = _approve(browser, url)["code"]
    finally:
        browser.close()
    client.log_in(code=code, redirect_uri=REDIRECT, scopes=SCOPES, allow_http=True)
    return client


class Collector(StreamListener):
    def __init__(self) -> None:
        self.events: list[tuple[str, float, object]] = []
        self.arrived = threading.Condition()

    def _add(self, kind: str, item) -> None:
        with self.arrived:
            self.events.append((kind, time.monotonic(), item))
            self.arrived.notify_all()

    def on_update(self, status):
        self._add("update", status)

    def on_notification(self, notification):
        self._add("notification", notification)

    def on_conversation(self, conversation):
        self._add("conversation", conversation)

    def on_delete(self, status_id):
        self._add("delete", status_id)

    def wait_for(self, kind: str, match, timeout: float = 3.0):
        deadline = time.monotonic() + timeout
        with self.arrived:
            while True:
                for k, at, item in self.events:
                    if k == kind and match(item):
                        return at, item
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, None
                self.arrived.wait(left)


@pytest.fixture
def server(tmp_path):
    with live_app(tmp_path) as (base, app, db):
        for handle in ("ana", "bob", "cyd", "dee"):
            _signup(base, handle)
        yield base, app


def test_mastodon_py_end_to_end(server):
    base, _ = server
    client_id, client_secret = Mastodon.create_app("Townsquare e2e", scopes=SCOPES, redirect_uris=REDIRECT,
                                                   api_base_url=base)
    ana = _login_with_pkce(base, "ana", client_id, client_secret)
    bob = _login_with_mastodon_py(base, "bob", client_id, client_secret)
    assert ana.account_verify_credentials().username == "ana"
    me_bob = bob.me()
    assert me_bob.acct == "bob"
    assert ana.app_verify_credentials().name == "Townsquare e2e"
    assert ana.retrieve_mastodon_version().startswith("4.3")

    # follow, post with media and alt text
    ana_account = bob.account_lookup("ana")
    assert bob.account_follow(ana_account.id).following is True
    media = ana.media_post(png(), mime_type="image/png", description="a green square", focus=(0.25, -0.5))
    assert media.description == "a green square" and media.blurhash and media.preview_url
    assert media.meta.focus.x == 0.25
    media = ana.media_update(media.id, description="a green square, updated")
    photo = ana.status_post("my garden #gardening", media_ids=[media.id])
    assert photo.media_attachments[0].description == "a green square, updated"
    assert photo.tags[0].name == "gardening" and photo.visibility == "public"
    assert httpx.get(photo.media_attachments[0].preview_url).status_code == 200
    texts = [ana.status_post(f"note number {i}") for i in range(5)]

    # favourite and reblog, seen by the author
    assert bob.status_favourite(photo.id).favourited is True
    reblog = bob.status_reblog(photo.id)
    assert reblog.reblog.id == photo.id and reblog.account.acct == "bob"
    assert [a.acct for a in ana.status_favourited_by(photo.id)] == ["bob"]
    assert [a.acct for a in ana.status_reblogged_by(photo.id)] == ["bob"]
    reply = bob.status_post("lovely!", in_reply_to_id=photo.id)
    assert reply.in_reply_to_id == photo.id
    assert [s.id for s in ana.status_context(photo.id).descendants] == [reply.id]

    # the home timeline is the ranked feed, in pages that never repeat
    first = bob.timeline_home(limit=3)
    assert len(first) == 3 and all(s.townsquare.reasons for s in first)
    seen = [s.id for s in first]
    page = first
    while True:
        page = bob.fetch_next(page)
        if not page:
            break
        seen += [s.id for s in page]
    assert len(seen) == len(set(seen))
    assert {photo.id, *(t.id for t in texts)} <= set(seen)

    # notifications: follow, favourite, reblog, the reply as a mention
    kinds = {n.type for n in ana.notifications()}
    assert {"follow", "favourite", "reblog", "mention"} <= kinds
    only = ana.notifications(types=["favourite"])
    assert only and all(n.type == "favourite" for n in only) and only[0].status.id == photo.id

    # search
    found = bob.search_v2("garden")
    assert photo.id in [s.id for s in found.statuses]
    assert "gardening" in [t.name for t in bob.search_v2("garden", result_type="hashtags").hashtags]
    assert [a.acct for a in bob.search_v2("@ana").accounts] == ["ana"]

    # direct messages
    dm = ana.status_post("@bob just between us", visibility="direct")
    assert dm.visibility == "direct"
    conversations = bob.conversations()
    assert conversations[0].last_status.id == dm.id and conversations[0].unread is True
    answer = bob.status_post("@ana got it", visibility="direct", in_reply_to_id=dm.id)
    assert answer.visibility == "direct"
    assert bob.conversations_read(conversations[0].id).unread is False
    assert "just between us" not in str(httpx.get(f"{base}/api/v1/timelines/public").json())

    # idempotent posting
    once = ana.status_post("only once", idempotency_key="key-1")
    again = ana.status_post("only once", idempotency_key="key-1")
    assert once.id == again.id

    # unfavourite / unreblog / delete
    assert bob.status_unfavourite(photo.id).favourited is False
    assert bob.status_unreblog(photo.id).reblogged is False
    deleted = ana.status_delete(texts[0].id)
    assert deleted.text == "note number 0"

    # revoking the token ends the app's access
    token = bob.access_token
    bob.revoke_access_token(allow_http=True)
    with pytest.raises(mastodon.MastodonUnauthorizedError):
        Mastodon(access_token=token, api_base_url=base).account_verify_credentials()


def _full_token(base: str, handle: str) -> str:
    r = httpx.post(f"{base}/api/auth/signin", json={"login": handle, "password": PASSWORD})
    return r.json()["token"]


def test_streaming_events_arrive_within_a_second(server, monkeypatch):
    from townsquare.mastodon import streaming

    monkeypatch.setattr(streaming, "HEARTBEAT_S", 0.5)  # clients notice a closed stream at the next heartbeat
    base, _ = server
    ana = Mastodon(access_token=_full_token(base, "ana"), api_base_url=base)
    bob = Mastodon(access_token=_full_token(base, "bob"), api_base_url=base)
    cyd = Mastodon(access_token=_full_token(base, "cyd"), api_base_url=base)
    dee = Mastodon(access_token=_full_token(base, "dee"), api_base_url=base)
    bob.account_follow(bob.account_lookup("ana").id)
    ana.account_block(ana.account_lookup("dee").id)  # dee, blocked, must get nothing of ana's

    sse, sse_cyd, sse_tag, ws_listener, blocked = Collector(), Collector(), Collector(), Collector(), Collector()
    handles = [bob.stream_user(sse, run_async=True), cyd.stream_user(sse_cyd, run_async=True),
               cyd.stream_hashtag("news", sse_tag, run_async=True), dee.stream_public(blocked, run_async=True)]
    websocket = bob.stream_open_websocket(ws_listener)
    websocket.subscribe("user", ws_listener)
    handles.append(websocket)
    try:
        _wait_until_connected(handles)
        started = time.monotonic()
        public = ana.status_post("fresh off the press #news")
        at, status = sse.wait_for("update", lambda s: s.id == public.id)
        assert at is not None and at - started < 1.0, "SSE update late or missing"
        at, _ = ws_listener.wait_for("update", lambda s: s.id == public.id)
        assert at is not None and at - started < 1.0, "WebSocket update late or missing"
        at, _ = sse_tag.wait_for("update", lambda s: s.id == public.id)
        assert at is not None and at - started < 1.0, "hashtag update late or missing"
        assert sse_cyd.wait_for("update", lambda s: s.id == public.id, timeout=0.5)[0] is None  # cyd follows nobody
        assert blocked.wait_for("update", lambda s: True, timeout=0.3)[0] is None  # blocked: not even public
        cyd_public = cyd.status_post("cyd says hi")
        assert blocked.wait_for("update", lambda s: s.id == cyd_public.id)[0] is not None  # the control

        secret = ana.status_post("followers only #news", visibility="private")
        assert sse.wait_for("update", lambda s: s.id == secret.id)[0] is not None
        assert sse_tag.wait_for("update", lambda s: s.id == secret.id, timeout=0.5)[0] is None  # cyd may not see it

        started = time.monotonic()
        cyd.status_favourite(public.id)  # a notification for ana... and bob sees nothing of it
        note_listener = Collector()
        handles.append(ana.stream_user(note_listener, run_async=True))
        _wait_until_connected(handles[-1:])
        started = time.monotonic()
        bob.status_reblog(public.id)
        at, note = note_listener.wait_for("notification", lambda n: n.type == "reblog")
        assert at is not None and at - started < 1.0 and note.account.acct == "bob"

        started = time.monotonic()
        ana.status_post("@bob psst", visibility="direct")
        at, conversation = sse.wait_for("conversation", lambda c: "psst" in c.last_status.content)
        assert at is not None and at - started < 1.0
        assert sse_cyd.wait_for("conversation", lambda c: True, timeout=0.3)[0] is None

        started = time.monotonic()
        ana.status_delete(public.id)
        at, _ = sse.wait_for("delete", lambda i: str(i) == str(public.id))
        assert at is not None and at - started < 1.0
    finally:
        for handle in handles:
            handle.close()


def _wait_until_connected(handles, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(h.is_receiving() for h in handles):
            time.sleep(0.2)  # the subscription is registered as the first bytes go out
            return
        time.sleep(0.05)
    raise AssertionError("streams did not connect")


def _redis_reason() -> str | None:
    try:
        import redis

        redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_connect_timeout=1).ping()
        return None
    except Exception as exc:  # no server: skip, and say why
        return f"Redis not reachable at 127.0.0.1:6379: {exc}"


def test_streaming_across_workers_through_redis(tmp_path, monkeypatch):
    """Two servers (as two workers) share the database and Redis: a post made through one reaches a
    stream served by the other."""
    reason = _redis_reason()
    if reason:
        pytest.skip(reason)
    import uuid

    import uvicorn
    from live_server import free_port

    from townsquare.config import load_settings
    from townsquare.db import migrate
    from townsquare.db.engine import Database
    from townsquare.mastodon import streaming
    from townsquare.server.app import create_app

    monkeypatch.setattr(streaming, "HEARTBEAT_S", 0.5)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    migrate.upgrade(url)
    prefix = f"ts-test-{uuid.uuid4().hex[:8]}"
    servers, bases, dbs = [], [], []
    for name in ("one", "two"):
        settings = load_settings(env={}, data_dir=tmp_path / name, database_url=url, secret_key="live-test",
                                 auth_rate_limit_per_minute=1000, redis_url="redis://127.0.0.1:6379/0",
                                 redis_prefix=prefix)
        db = Database(url)
        port = free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port,
                                               log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        servers.append(server)
        bases.append(f"http://127.0.0.1:{port}")
        dbs.append(db)
    try:
        deadline = time.monotonic() + 20
        while not all(s.started for s in servers):
            assert time.monotonic() < deadline, "servers did not start"
            time.sleep(0.05)
        one, two = bases
        for handle in ("ana", "bob"):
            _signup(one, handle)
        ana = Mastodon(access_token=_full_token(one, "ana"), api_base_url=one)
        bob = Mastodon(access_token=_full_token(two, "bob"), api_base_url=two)
        bob.account_follow(bob.account_lookup("ana").id)
        listener = Collector()
        handle = bob.stream_user(listener, run_async=True)
        try:
            _wait_until_connected([handle])
            started = time.monotonic()
            status = ana.status_post("hello from the other worker")
            at, _ = listener.wait_for("update", lambda s: s.id == status.id)
            assert at is not None and at - started < 1.0
            at, note = listener.wait_for("notification", lambda n: n.type == "follow", timeout=0.2)
            assert at is None  # bob's own follow notified ana, not bob
        finally:
            handle.close()
    finally:
        for server in servers:
            server.should_exit = True
        for db in dbs:
            db.dispose()
