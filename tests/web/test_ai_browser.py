"""Real browser runs of the AI pages: the assistant panel (streamed steps, confirm) and the studio
(create an AI, chat with it). The models are scripted; the pages, APIs and database are real."""

from __future__ import annotations

import os

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app
from scripted_llm import ScriptedLLM
from sqlalchemy import select

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


def _people(db):
    from townsquare.social import accounts, posts

    with db.session() as s:
        me = accounts.create_account(s, "browser_me", "correct horse", display_name="Me")
        mia = accounts.create_account(s, "mia_cl", "correct horse", display_name="Mia")
        posts.create_post(s, mia, text="My favourite crag is Fontainebleau, the sandstone is perfect. #climbing")
        return me.id, mia.id


def _sign_in(page, base, handle):
    page.goto(base + "/signin")
    page.fill("input[name=login]", handle)
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/")


def test_assistant_panel_streams_steps_and_confirms(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from townsquare.social.models import Follow

    with live_app(tmp_path) as (base, app, db):
        me_id, mia_id = _people(db)
        app.state.llms["assistant"] = ScriptedLLM([("follow", {"handle": "mia_cl"})])
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                _sign_in(page, base, "browser_me")
                page.goto(base + "/assistant")
                page.fill("#assistant-input", "follow mia please")
                page.click("#assistant-send")
                page.wait_for_selector(".ai-confirm button:has-text('Confirm')")
                assert "follow" in page.inner_text(".ai-tool")
                assert "Follow @mia_cl" in page.inner_text(".ai-confirm")
                with db.session() as s:
                    assert s.get(Follow, (me_id, mia_id)) is None  # nothing before the confirmation
                page.click(".ai-confirm button:has-text('Confirm')")
                page.wait_for_selector(".ai-confirm .muted")
                assert "now follow @mia_cl" in page.inner_text(".ai-confirm")
                with db.session() as s:
                    assert s.get(Follow, (me_id, mia_id)) is not None
                # The conversation is stored: reloading shows it again.
                page.reload()
                page.wait_for_selector(".ai-msg.me")
                assert "follow mia please" in page.inner_text("#assistant-log")
            finally:
                browser.close()


def test_create_an_ai_and_chat_with_it(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from townsquare.studio.models import CreatorAI

    with live_app(tmp_path) as (base, app, db):
        _people(db)
        app.state.llms["creator"] = ScriptedLLM(answer="unused: answers quote the creator's posts")
        with playwright_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                creator = browser.new_page()
                _sign_in(creator, base, "mia_cl")
                creator.goto(base + "/studio")
                creator.fill("#ai-name", "Mia's Climbing AI")
                creator.fill("#ai-avoid", "politics")
                creator.fill("#ai-greeting", "Hi! Ask me about climbing.")
                creator.click("#create-ai button[type=submit]")
                creator.wait_for_selector("text=Model id")
                with db.session() as s:
                    ai = s.scalar(select(CreatorAI))
                    assert ai.name == "Mia's Climbing AI" and ai.topics_to_avoid == ["politics"]
                fan = browser.new_context().new_page()
                _sign_in(fan, base, "browser_me")
                fan.goto(base + "/@mia_cl")
                fan.click("text=Chat with Mia's Climbing AI")
                assert "Hi! Ask me about climbing." in fan.inner_text("#ai-chat-log")
                assert fan.inner_text(".ai-badge") == "AI"
                fan.fill("#ai-chat-input", "What's your favourite crag?")
                fan.click("#ai-chat-form button")
                fan.wait_for_selector("#ai-chat-log .ai-msg.ai .bubble[data-status='ok'] a", timeout=120_000)
                answer = fan.inner_text("#ai-chat-log .ai-msg.ai:last-child .bubble")
                assert "Fontainebleau" in answer
                link = fan.get_attribute("#ai-chat-log .ai-msg.ai:last-child .bubble a", "href")
                assert link.startswith("/p/")  # the real post page, not a 404
                page = fan.context.new_page()
                assert page.goto(base + link).status == 200 and "Fontainebleau" in page.content()
                page.close()
                fan.fill("#ai-chat-input", "thoughts on politics?")
                fan.click("#ai-chat-form button")
                fan.wait_for_selector("#ai-chat-log .ai-msg.ai .bubble[data-status='declined']")
            finally:
                browser.close()
