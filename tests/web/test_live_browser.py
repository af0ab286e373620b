"""Live updates in Chromium: a like and a follow show up on the open notifications page, the badge
counts up on another page, and a message appears in the open conversation, all without a reload
(server-sent events from /live, fed by the app's stream hub)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


@pytest.fixture
def live(tmp_path: Path):
    with live_app(tmp_path) as served:
        yield served


def test_notifications_and_messages_arrive_without_reload(live):
    playwright_api = pytest.importorskip("playwright.sync_api")
    import httpx

    base, _app, _db = live
    bob = httpx.post(base + "/api/auth/signup", json={"handle": "bob", "password": "bob-password"}).json()
    bob_api = {"Authorization": "Bearer " + bob["token"]}

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(base + "/signup")
            page.fill("#handle", "alice")
            page.fill("#password", "alice-password")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/?welcome=1")
            page.fill("#compose-text", "hello from alice")
            page.click(".composer button[type=submit]")
            page.wait_for_url(base + "/")
            post_id = page.locator("article.post").first.get_attribute("data-post-id")

            page.goto(base + "/notifications")
            page.wait_for_function("() => window.townsquareLive && window.townsquareLive.readyState === 1")
            marker = page.evaluate("window.__marker = Math.random()")
            assert page.locator("a.note").count() == 0
            liked = httpx.post(base + f"/api/posts/{post_id}/reaction", json={"kind": "like"}, headers=bob_api)
            assert liked.status_code in (200, 201), liked.text
            page.wait_for_selector("a.note:has-text('liked your post')")
            assert page.evaluate("window.__marker") == marker  # the same page: no reload

            # On another page, the badge counts up and a toast says what happened.
            page.goto(base + "/search")
            page.wait_for_function("() => window.townsquareLive && window.townsquareLive.readyState === 1")
            alice_id = httpx.get(base + "/api/accounts/lookup", params={"handle": "alice"}, headers=bob_api).json()["id"]
            followed = httpx.post(base + f"/api/accounts/{alice_id}/follow", headers=bob_api)
            assert followed.status_code in (200, 201), followed.text
            page.wait_for_selector("nav.nav a[href='/notifications'] .badge")
            page.wait_for_selector(".toast.show:has-text('followed you')")

            # A message appears in the open conversation.
            page.goto(base + "/messages/bob")
            page.wait_for_function("() => window.townsquareLive && window.townsquareLive.readyState === 1")
            sent = httpx.post(base + "/api/conversations", json={"recipient_id": alice_id, "text": "are you there?"},
                              headers=bob_api)
            assert sent.status_code in (200, 201), sent.text
            page.wait_for_selector(".chat :text('are you there?')", timeout=4000)  # before the 6 s poll
        finally:
            browser.close()

