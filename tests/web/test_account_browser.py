"""The account's life in Chromium: a password reset whose e-mail a real local SMTP server (aiosmtpd)
receives, the data export download, the tracking opt-out, and deleting the account."""

from __future__ import annotations

import email
import email.policy
import io
import os
import re
import zipfile
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, free_port, live_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


@pytest.fixture
def smtp_server():
    """A real SMTP server on a loopback port that keeps what it receives."""
    aiosmtpd = pytest.importorskip("aiosmtpd.controller")
    received: list = []

    class Keep:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope)
            return "250 OK"

    port = free_port()
    controller = aiosmtpd.Controller(Keep(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, received
    finally:
        controller.stop()


@pytest.fixture
def live(tmp_path: Path, smtp_server):
    port, _ = smtp_server
    with live_app(tmp_path, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none",
                  mail_from="Townsquare <noreply@town.test>") as served:
        yield served


@pytest.fixture
def page():
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(accept_downloads=True)
            tab = context.new_page()
            tab.set_default_timeout(60_000)
            yield tab
        finally:
            browser.close()


def _sign_up(page, base: str, handle: str, email: str | None = None, password: str = "first-password") -> None:
    page.goto(base + "/signup")
    page.fill("#handle", handle)
    if email:
        page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(base + "/?welcome=1")


def test_password_reset_by_email(live, smtp_server, page):
    base, _app, _db = live
    _, received = smtp_server
    _sign_up(page, base, "ada", email="ada@example.org")
    page.click("nav.nav form[action='/signout'] button")
    page.wait_for_url(base + "/signin")

    page.click("text=Forgot your password?")
    page.fill("#login", "ada@example.org")
    page.click("button[type=submit]")
    assert "a link to choose a new password is on its way" in page.content()
    assert len(received) == 1
    mail = received[0]
    assert mail.rcpt_tos == ["ada@example.org"]
    message = email.message_from_bytes(mail.content, policy=email.policy.default)
    assert message["Subject"] == "Reset your Townsquare password"
    body = message.get_content()
    link = re.search(r"(http://\S+/password/reset\?token=\S+)", body).group(1)
    assert link.startswith(base)

    # Someone else's address gets the same answer and no mail.
    page.goto(base + "/password/forgot")
    page.fill("#login", "nobody@example.org")
    page.click("button[type=submit]")
    assert "on its way" in page.content() and len(received) == 1

    page.goto(link)
    page.fill("#password", "second-password")
    page.fill("#password_again", "second-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/signin?reset=1")
    page.fill("#login", "ada")
    page.fill("#password", "second-password")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")
    # The link works once.
    response = page.goto(link)
    assert response.status == 410 and "expired or was already used" in page.content()


def test_export_opt_out_and_delete_in_the_browser(live, page, tmp_path):
    base, app, db = live
    from sqlalchemy import select

    from townsquare.social.models import Account

    _sign_up(page, base, "grace")
    page.fill("#compose-text", "my first post #hello")
    page.click(".composer button[type=submit]")
    page.wait_for_url(base + "/")

    page.goto(base + "/settings/account")
    with page.expect_download() as waiting:
        page.click("#export-link")
    download = waiting.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    archive = zipfile.ZipFile(io.BytesIO(saved.read_bytes()))
    assert "my first post #hello" in archive.read("posts.json").decode()

    page.click("#tracking-off")
    page.wait_for_url(base + "/settings/account?done=tracking_off")
    assert page.evaluate("document.body.dataset.tracking") == "0"
    page.goto(base + "/")
    assert page.evaluate("window.townsquareEvents.queue.length") == 0

    page.goto(base + "/settings/account")
    page.fill("#delete_password", "first-password")
    page.click("#delete button[type=submit]")
    page.wait_for_selector("text=Your account is being deleted")
    with db.session() as s:
        account = s.scalar(select(Account).where(Account.handle == "grace"))
        assert account.status == "deleted" and account.deletion_due_at is not None
    response = page.goto(base + "/@grace")
    assert response.status == 404
