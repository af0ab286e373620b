"""What a new person runs into on the everyday pages, checked in Debian's Chromium on the real app:
the post menu above the next card, post addresses, the signed-in 404, notifications in date order,
offline API docs, non-ASCII hashtags, the composer's limits, "Show more", the For you default, the
people-you-may-know page and the phone tab bar."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app

from .conftest import png_bytes

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]

PASSWORD = "password123"


@pytest.fixture
def live(tmp_path: Path):
    # A small upload limit, so that "too big" is quick to reach.
    with live_app(tmp_path, max_upload_bytes=200_000) as served:
        yield served


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def make_people(db, media_dir: Path, *handles: str) -> dict[str, int]:
    from townsquare.social import accounts

    ids = {}
    with db.session() as session:
        for handle in handles:
            account = accounts.create_account(session, handle, PASSWORD, display_name=handle.title())
            session.flush()
            ids[handle] = account.id
    return ids


def sign_in(browser, base: str, handle: str, viewport=(1280, 900)):
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.set_default_timeout(60_000)
    page.goto(base + "/signin")
    page.fill("#login", handle)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    return page


def test_post_menu_opens_above_media_and_the_next_card(live, browser, tmp_path):
    base, app, db = live
    from townsquare.social import accounts, graph, media, posts

    ids = make_people(db, tmp_path, "alice", "bob")
    with db.session() as session:
        bob = accounts.get_account(session, ids["bob"])
        for i in range(3):
            stored = media.store_upload(session, bob, png_bytes(640, 480, (30 * i, 90, 160)),
                                        media_dir=app.state.settings.media_store, max_bytes=10**7)
            posts.create_post(session, bob, kind="photo", text=f"photo {i}", media_ids=[stored.id])
        graph.follow(session, accounts.get_account(session, ids["alice"]), ids["bob"])

    page = sign_in(browser, base, "alice")
    page.goto(base + "/following")
    card = page.locator("article.post").first
    card.locator("details.post-menu summary").click()
    items = card.locator(".menu-list button, .menu-list a")
    assert items.count() >= 3
    for i in range(items.count()):
        # What is drawn at the centre of each item is the item itself, not the photo or the next card.
        on_top = items.nth(i).evaluate(
            "el => { const r = el.getBoundingClientRect();"
            " const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);"
            " return el.contains(hit); }")
        assert on_top, items.nth(i).inner_text()
    card.locator(".menu-list button", has_text="Mute @bob").click()
    page.wait_for_load_state()
    assert "/p/" not in page.url  # the click muted; it did not open the post
    assert "Muted." in page.content()


def test_post_addresses_and_not_found_page_keep_the_signed_in_chrome(live, browser, tmp_path):
    base, _app, db = live
    from townsquare.social import accounts, posts

    ids = make_people(db, tmp_path, "alice")
    with db.session() as session:
        post = posts.create_post(session, accounts.get_account(session, ids["alice"]), text="an answer to cite")
        session.flush()
        post_id = post.id

    page = sign_in(browser, base, "alice")
    response = page.goto(base + f"/posts/{post_id}")  # what models write: the post page
    assert response.status == 200 and page.url == base + f"/p/{post_id}"
    assert "an answer to cite" in page.content()
    for missing in ("/posts/987654", "/no/such/page"):
        response = page.goto(base + missing)
        assert response.status == 404
        assert page.locator("nav.nav a[href='/notifications']").count() == 1, missing  # signed-in navigation
        assert page.locator("nav.nav a[href='/signin']").count() == 0, missing


def test_notifications_in_date_order_and_of_every_kind(live, browser, tmp_path):
    base, _app, db = live
    from townsquare.social import accounts
    from townsquare.social.models import Notification
    from townsquare.social.posts import create_post

    ids = make_people(db, tmp_path, "alice", "bob")
    now = datetime.now(UTC)
    kinds = ["like", "comment", "repost", "mention", "follow", "message", "follow_request", "reply"]
    # Inserted out of date order (as imported or backfilled notifications are): ids are not dates.
    days_ago = [5, 1, 7, 3, 2, 6, 4, 8]
    with db.session() as session:
        post = create_post(session, accounts.get_account(session, ids["alice"]), text="my post")
        session.flush()
        for kind, ago in zip(kinds, days_ago, strict=True):
            on_post = kind in ("like", "comment", "repost", "mention", "reply")
            session.add(Notification(recipient_id=ids["alice"], actor_id=ids["bob"], kind=kind,
                                     post_id=post.id if on_post else None, created_at=now - timedelta(days=ago)))

    page = sign_in(browser, base, "alice")
    page.goto(base + "/notifications")
    notes = page.locator("a.note")
    assert notes.count() == len(kinds)
    shown = [notes.nth(i).locator("time").get_attribute("datetime") for i in range(notes.count())]
    assert shown == sorted(shown, reverse=True)
    texts = " ".join(notes.all_inner_texts())
    for phrase in ("liked your post", "commented on your post", "reposted your post", "mentioned you",
                   "followed you", "sent you a message", "asked to follow you", "replied to your comment"):
        assert phrase in texts
    page.click(".tabs a:has-text('Likes and reposts')")
    page.wait_for_url(base + "/notifications?show=activity")
    assert sorted(page.locator("a.note").all_inner_texts()) == sorted(
        t for t in page.locator("a.note").all_inner_texts() if "liked" in t or "reposted" in t)
    assert page.locator("a.note").count() == 2


def test_api_docs_work_with_no_way_out(live, browser):
    base, _app, _db = live
    page = browser.new_page()
    outside: list[str] = []

    def only_this_server(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(base + "/api/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "Townsquare" in page.locator(".swagger-ui .info .title").inner_text()
    assert page.locator(".opblock").count() > 10  # the operations are listed
    assert outside == []


def test_hashtags_with_any_letters_are_links(live, browser, tmp_path):
    base, _app, db = live
    from townsquare.social import accounts, posts

    ids = make_people(db, tmp_path, "alice")
    with db.session() as session:
        posts.create_post(session, accounts.get_account(session, ids["alice"]),
                          text="Coffee time #café and #বাংলা and #émoji")
    page = sign_in(browser, base, "alice")
    page.goto(base + "/@alice")
    links = page.locator(".post-text a")
    assert links.all_inner_texts() == ["#café", "#বাংলা", "#émoji"]
    page.click(".post-text a:has-text('#বাংলা')")
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text().strip() == "#বাংলা"
    assert "Coffee time" in page.content()


def test_composer_limits_and_show_more(live, browser, tmp_path):
    base, _app, db = live
    from townsquare.social import accounts, graph, posts

    ids = make_people(db, tmp_path, "alice", "bob")
    long_text = "A long story. " + ("Every word of it matters. " * 60) + "THE-END-MARK"
    with db.session() as session:
        posts.create_post(session, accounts.get_account(session, ids["bob"]), text=long_text)
        graph.follow(session, accounts.get_account(session, ids["alice"]), ids["bob"])

    page = sign_in(browser, base, "alice")
    # Over the character limit: nothing is cut; the composer says by how much and will not post.
    page.fill("#compose-text", "x" * 5003)
    note = page.locator(".compose-limit")
    note.wait_for()
    assert "3 characters over the 5,000-character limit" in note.inner_text()
    assert page.locator(".composer button[type=submit]").is_disabled()
    assert len(page.input_value("#compose-text")) == 5003
    page.fill("#compose-text", "short and sweet")
    assert note.is_hidden() and page.locator(".composer button[type=submit]").is_enabled()

    # A file over the upload limit is named before anything is sent.
    big = tmp_path / "huge.png"
    big.write_bytes(png_bytes(32, 32) + os.urandom(400_000))
    page.set_input_files("#compose-media", str(big))
    assert "huge.png: larger than the" in note.inner_text()
    assert page.locator(".composer button[type=submit]").is_disabled()

    # Long posts in the feed show their start and a "Show more" that opens the rest in place.
    page.goto(base + "/following")
    card = page.locator("article.post").first
    text = card.locator(".post-text")
    assert "clamped" in text.get_attribute("class")
    folded = text.evaluate("el => el.clientHeight")
    card.locator("a.show-more").click()
    assert page.url == base + "/following"
    assert "clamped" not in text.get_attribute("class")
    assert text.evaluate("el => el.clientHeight") > folded
    assert card.locator("a.show-more").inner_text() == "Show less"


def test_too_big_upload_gets_a_page_in_the_browser(live, browser, tmp_path):
    base, _app, db = live
    make_people(db, tmp_path, "alice")
    page = sign_in(browser, base, "alice")
    page.goto(base + "/compose")
    # Past the page script's own check (a form submitted by hand): the server's answer is a page.
    page.evaluate("document.querySelector('.composer button[type=submit]').disabled = false")
    big = tmp_path / "enormous.png"
    big.write_bytes(png_bytes(32, 32) + os.urandom(1_400_000))  # beyond the limit and its envelope
    page.set_input_files("#compose-media", str(big))
    page.evaluate("document.querySelector('form.composer-form').submit()")
    page.wait_for_selector(".error-page")
    assert page.locator(".error-page .code").inner_text() == "413"
    assert "limit of" in page.locator(".error-page").inner_text()


def test_for_you_is_the_default_and_people_you_may_know_has_a_page(live, browser, tmp_path):
    base, _app, db = live
    from townsquare.social import accounts, graph

    long_name = "Maximiliana Bartholomew-Featherstonehaugh"
    handles = ["alice", "bob", "carol", "dave", "erin", "frank", "grace"]
    ids = make_people(db, tmp_path, *handles)
    with db.session() as session:
        alice = accounts.get_account(session, ids["alice"])
        accounts.update_profile(session, accounts.get_account(session, ids["carol"]), display_name=long_name)
        graph.follow(session, alice, ids["bob"])
        for friend in ("carol", "dave", "erin", "frank", "grace"):
            graph.follow(session, accounts.get_account(session, ids["bob"]), ids[friend])
            graph.follow(session, accounts.get_account(session, ids[friend]), ids["bob"])

    page = sign_in(browser, base, "alice")
    assert page.locator(".tabs a.active").inner_text() == "For you"
    panel_names = page.locator(".suggestion .who b")
    assert panel_names.count() == 3
    for i in range(panel_names.count()):  # nothing cut off
        assert panel_names.nth(i).evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    page.click("a.panel-more")
    page.wait_for_url(base + "/people/suggested")
    rows = page.locator(".suggestion-full")
    assert rows.count() == 5
    assert long_name in page.content()
    assert all(r.strip() for r in page.locator(".suggestion-full .reasons li").all_inner_texts())


def test_phone_tab_bar_has_the_assistant_and_studio(live, browser, tmp_path):
    base, _app, db = live
    make_people(db, tmp_path, "alice")
    page = sign_in(browser, base, "alice", viewport=(390, 844))
    tabbar = page.locator("nav.tabbar")
    assert tabbar.is_visible()
    for label, href in (("Assistant", "/assistant"), ("AI Studio", "/studio")):
        tab = tabbar.locator(f"a[aria-label='{label}']")
        assert tab.is_visible() and tab.get_attribute("href") == href
    tabbar.locator("a[aria-label='AI Studio']").click()
    page.wait_for_url(base + "/studio")


def test_spanish_browser_gets_spanish_pages_and_script_messages(live, browser, tmp_path):
    base, _app, db = live
    make_people(db, tmp_path, "alice")
    context = browser.new_context(locale="es-ES")
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(base + "/signin")
    assert page.locator("html").get_attribute("lang") == "es"
    assert page.locator("h1").last.inner_text() == "Hola de nuevo"
    page.fill("#login", "alice")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    assert page.locator(".tabs a.active").inner_text() == "Para ti"
    page.fill("#compose-text", "x" * 5002)
    note = page.locator(".compose-limit")
    note.wait_for()
    assert "se pasa en 2 caracteres del límite de 5000" in note.inner_text().replace(".", "")
    context.close()
