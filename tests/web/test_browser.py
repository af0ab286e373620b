"""One real browser run: Debian's Chromium drives the app served by uvicorn on a loopback port.

Sign up, post a photo (a generated PNG) and see it on the timeline with the image loaded; like it
without a reload; and check that the page script logged impressions and dwell to the event log.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from .conftest import png_bytes

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path: Path):
    """The real app on a temp SQLite database, served by uvicorn in a thread."""
    import uvicorn

    from townsquare.api.app import create_app
    from townsquare.config import load_settings
    from townsquare.db import migrate
    from townsquare.db.engine import Database

    url = f"sqlite:///{tmp_path / 'browser.db'}"
    migrate.upgrade(url)
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=url, secret_key="browser-test",
                             auth_rate_limit_per_minute=1000)
    db = Database(url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, db), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", db
    server.should_exit = True
    thread.join(timeout=10)
    db.dispose()


def test_sign_up_post_a_photo_and_see_it(live_server, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    import httpx
    from sqlalchemy import select

    from townsquare.social.models import Event, Follow, Post, Reaction, Report

    base, db = live_server
    photo = tmp_path / "sunset.png"
    photo.write_bytes(png_bytes(320, 200, (240, 120, 40)))

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)

            page.goto(base + "/")
            assert page.url.endswith("/signin")
            page.click("text=Create an account")
            page.fill("#handle", "ada")
            page.fill("#display_name", "Ada Lovelace")
            page.fill("#password", "analytical-engine")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/?welcome=1")
            assert "Welcome to Townsquare" in page.content()

            # Compose: attach the PNG (the preview shows it) and post it.
            page.fill("#compose-text", "First light from the engine room #sunset")
            page.set_input_files("#compose-media", str(photo))
            page.wait_for_function("() => document.querySelector('.composer .preview img')?.naturalWidth > 0")
            page.click(".composer button[type=submit]")
            page.wait_for_url(base + "/")

            card = page.locator("article.post").first
            assert "First light from the engine room" in card.inner_text()
            image = card.locator(".media-grid img")
            image.wait_for()
            page.wait_for_function("() => document.querySelector('article.post .media-grid img').complete")
            assert image.evaluate("img => img.naturalWidth") == 320

            # Like without a reload: the count updates in place and the API stored the reaction.
            marker = page.evaluate("window.__marker = Math.random()")
            card.locator("button.action.like").click()
            page.wait_for_function("() => document.querySelector('button.action.like').classList.contains('on')")
            assert card.locator("button.action.like .count").inner_text() == "1"
            assert page.evaluate("window.__marker") == marker  # same document: no reload

            # The reaction picker on the post page replaces the like with another kind, in place.
            page.goto(base + f"/p/{card.get_attribute('data-post-id')}")
            page.click(".reaction-picker summary")
            page.click("button[aria-label='React with haha']")
            page.wait_for_function("() => document.querySelector('button.action.like').classList.contains('has-emoji')")
            assert page.locator("button.action.like .emoji").inner_text() == "😂"
            page.goto(base + "/")

            # Follow without a reload, then report the account through the dialog.
            httpx.post(base + "/api/auth/signup", json={"handle": "babbage", "password": "difference-engine"})
            page.goto(base + "/@babbage")
            page.click("form[data-kind=follow] button")
            page.wait_for_function("() => document.querySelector('form[data-kind=follow]').dataset.state === 'on'")
            assert page.locator("form[data-kind=follow] .label-default").inner_text() == "Following"
            page.click(".profile details.menu summary")
            page.click("a[data-report]")
            assert page.locator("#report-dialog").is_visible()
            page.check("#report-dialog input[value=spam]")
            page.click("#report-dialog button[type=submit]")
            page.wait_for_url(base + "/@babbage")
            assert "report was sent" in page.content()
            page.goto(base + "/")

            # Impressions and dwell: the card was seen for a while; leaving the page sends the batch
            # (navigator.sendBeacon on pagehide).
            page.wait_for_timeout(400)
            assert page.evaluate("window.townsquareEvents.queue.length") >= 1
            page.click("nav.nav a[href='/notifications']")
            page.wait_for_url(base + "/notifications")
            deadline = time.monotonic() + 10
            actions: set[str] = set()
            while time.monotonic() < deadline and not {"impression", "dwell"} <= actions:
                time.sleep(0.2)
                with db.session() as session:
                    actions = set(session.scalars(select(Event.action).where(Event.surface == "home")))
            assert {"impression", "dwell"} <= actions, actions
            assert errors == []
        finally:
            browser.close()

    with db.session() as session:
        post = session.scalars(select(Post)).one()
        assert post.kind == "photo" and post.like_count == 1
        reaction = session.scalars(select(Reaction)).one()
        assert reaction.post_id == post.id and reaction.kind == "haha"
        assert session.scalars(select(Follow)).one() is not None
        assert session.scalars(select(Report)).one().reason == "spam"
        impression = session.scalars(select(Event).where(Event.action == "impression")).first()
        assert impression.entity_id == post.id and impression.position == 0
        like = session.scalars(select(Event).where(Event.action == "like").order_by(Event.id)).first()
        assert like.surface == "home"  # the script passes the card's surface to the API
