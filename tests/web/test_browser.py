"""One real browser run: Debian's Chromium drives the app served by uvicorn on a loopback port.

Sign up, post a photo (a generated PNG) and see it on the timeline with the image loaded; like it
without a reload; and check that the page script logged impressions and dwell to the event log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app

from .conftest import png_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


@pytest.fixture
def live_server(tmp_path: Path):
    """The real app on a temp SQLite database, served by uvicorn in a thread."""
    with live_app(tmp_path) as (base, _app, db):
        yield base, db


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
            page.set_default_timeout(90_000)  # generous: the test machine is shared with training jobs
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
            page.fill(".composer .alt-input", "An orange sunset over the engine room")
            page.click(".composer button[type=submit]")
            page.wait_for_url(base + "/")

            card = page.locator("article.post").first
            assert "First light from the engine room" in card.inner_text()
            image = card.locator(".media-grid img")
            image.wait_for()
            page.wait_for_function("() => document.querySelector('article.post .media-grid img').complete")
            assert image.evaluate("img => img.naturalWidth") == 320
            assert image.get_attribute("alt") == "An orange sunset over the engine room"

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
            signup = httpx.post(base + "/api/auth/signup", json={"handle": "babbage", "password": "difference-engine"})
            babbage = {"Authorization": "Bearer " + signup.json()["token"]}
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

            # Infinite scroll: with more than a page of posts, scrolling down loads the next page.
            for i in range(21):
                posted = httpx.post(base + "/api/posts", json={"kind": "text", "text": f"note {i}"}, headers=babbage)
                assert posted.status_code == 201, posted.text
            page.goto(base + "/following")
            assert page.locator("article.post").count() == 20
            page.mouse.wheel(0, 20000)
            page.wait_for_function("() => document.querySelectorAll('article.post').length === 22")
            page.locator("article.post").last.scroll_into_view_if_needed()
            page.wait_for_timeout(300)
            page.evaluate("window.scrollTo(0, 0)")

            # Impressions and dwell: the card was seen for a while; leaving the page sends the batch
            # (navigator.sendBeacon on pagehide).
            page.wait_for_timeout(400)
            assert page.evaluate("window.townsquareEvents.queue.length") >= 1
            page.click("nav.nav a[href='/notifications']")
            page.wait_for_url(base + "/notifications")
            deadline = time.monotonic() + 30
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
        post = session.scalars(select(Post).where(Post.author.has(handle="ada"))).one()
        assert post.kind == "photo" and post.like_count == 1
        reaction = session.scalars(select(Reaction)).one()
        assert reaction.post_id == post.id and reaction.kind == "haha"
        assert session.scalars(select(Follow)).one() is not None
        assert session.scalars(select(Report)).one().reason == "spam"
        impressions = session.scalars(select(Event).where(Event.action == "impression")).all()
        assert post.id in {e.entity_id for e in impressions}
        assert max(e.position for e in impressions) >= 20  # positions continue on the loaded page
        like = session.scalars(select(Event).where(Event.action == "like").order_by(Event.id)).first()
        assert like.surface == "home"  # the script passes the card's surface to the API
