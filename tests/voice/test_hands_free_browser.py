"""The hands-free page in Debian's Chromium with a fake microphone and a fake camera (files made here:
the packaged voice speaks the request; the camera shows a sign). The server, the page's own JS, the
speech models and OCR are real; the assistant's LLM is scripted (the page is under test, not the model)."""

from __future__ import annotations

import os

import numpy as np
import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app
from scripted_llm import ScriptedLLM

from townsquare.voice import ocr
from townsquare.voice.audio import encode, resample

from .speech import pcm_array
from .test_images import sign

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]


def microphone_file(tmp_path, text: str) -> str:
    """A WAV the fake microphone plays once: quiet, the request, quiet (as someone who taps, then speaks)."""
    samples, rate = pcm_array(text)
    samples = resample(samples, rate, 48000)
    quiet = np.zeros(int(48000 * 1.5), dtype=np.int16)
    path = tmp_path / "mic.wav"
    path.write_bytes(encode(np.concatenate([quiet, samples, quiet, quiet]), 48000, "wav")[0])
    return f"{path}%noloop"


def camera_file(tmp_path, lines: list[str]) -> str:
    """A Y4M video (one frame, repeated by Chromium) of a sign, for the fake camera."""
    import io

    from PIL import Image

    image = Image.open(io.BytesIO(sign(lines, fmt="PNG", size=(640, 480)))).convert("YCbCr")
    y, cb, cr = image.split()
    half = (320, 240)
    frame = y.tobytes() + cb.resize(half).tobytes() + cr.resize(half).tobytes()
    path = tmp_path / "camera.y4m"
    path.write_bytes(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n" + b"FRAME\n" + frame)
    return str(path)


def _people(db):
    from townsquare.social import accounts

    with db.session() as s:
        return accounts.create_account(s, "hands_me", "correct horse", display_name="Me").id


def _browser(p, tmp_path, text: str, sign_lines: list[str]):
    args = [*CHROMIUM_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={microphone_file(tmp_path, text)}",
            f"--use-file-for-fake-video-capture={camera_file(tmp_path, sign_lines)}",
            "--autoplay-policy=no-user-gesture-required"]
    return p.chromium.launch(executable_path=CHROMIUM, args=args)


def _sign_in(page, base):
    page.goto(base + "/signin?next=/hands-free")
    page.fill("input[name=login]", "hands_me")
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(base + "/hands-free")


def test_a_spoken_turn_on_the_page(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    with live_app(tmp_path) as (base, app, db):
        _people(db)
        llm = ScriptedLLM([("catch_me_up", {})])
        app.state.llms["assistant"] = llm
        with playwright_api.sync_playwright() as p:
            browser = _browser(p, tmp_path, "Catch me up.", ["HELLO"])
            try:
                page = browser.new_page()
                _sign_in(page, base)
                assert not page.is_visible("#confirm-yes")  # nothing to confirm yet
                page.click("#talk")
                page.wait_for_selector("#hands-free[data-turns='1']", timeout=120_000)
                assert "catch me up" in page.inner_text("#heard").lower()
                assert "caught up" in page.inner_text("#reply")
                assert page.get_attribute("#hands-free", "data-via") == "stream"  # spoken over the WebSocket
                page.wait_for_selector("#hands-free[data-spoken='1']", timeout=60_000)  # the answer was played
                assert page.get_attribute("#talk", "data-state") == "idle"
            finally:
                browser.close()


@pytest.mark.skipif(not ocr.available(), reason="tesseract is not installed (apt-get install tesseract-ocr-eng)")
def test_look_and_ask_then_post_this_on_the_page(tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from sqlalchemy import select

    from townsquare.social.models import Post

    with live_app(tmp_path) as (base, app, db):
        me_id = _people(db)
        llm = ScriptedLLM([], answer="It says the shop is open daily.")
        app.state.llms["assistant"] = llm
        with playwright_api.sync_playwright() as p:
            browser = _browser(p, tmp_path, "What does this sign say?", ["OPEN DAILY", "9 AM - 5 PM"])
            try:
                page = browser.new_page()
                _sign_in(page, base)
                page.check("#use-camera")
                page.wait_for_selector("#hands-free[data-camera='ready']", timeout=20_000)
                page.click("#talk")
                page.wait_for_selector("#hands-free[data-turns='1']", timeout=120_000)
                assert "sign" in page.inner_text("#heard").lower()
                assert "OPEN DAILY" in page.get_attribute("#hands-free", "data-seen").upper()
                assert page.is_visible("#snapshot")
                assert page.get_attribute("#hands-free", "data-via") == "stream"
                asked = [m for m in llm.seen[0]["messages"] if m["role"] == "user"][-1]["content"]
                assert "OPEN DAILY" in asked.upper()
                # "Post this" (typed here: the fake microphone plays one file) drafts a photo post ...
                page.fill("#typed", "post this")
                page.press("#typed", "Enter")
                page.wait_for_selector("#hands-free[data-turns='2']", timeout=120_000)
                assert "photo post" in page.inner_text("#reply")
                assert page.get_attribute("#hands-free", "data-via") == "post"  # typed turns go by POST
                assert page.is_visible("#confirm-yes")
                page.wait_for_selector("#activity li[data-status='pending']")
                with db.session() as s:
                    assert s.scalars(select(Post).where(Post.author_id == me_id)).all() == []
                # ... that is published only after "yes".
                page.click("#confirm-yes")
                page.wait_for_selector("#hands-free[data-turns='3']", timeout=120_000)
                assert "Published" in page.inner_text("#reply")
                page.wait_for_selector("#activity li[data-status='done']")
                with db.session() as s:
                    posts = s.scalars(select(Post).where(Post.author_id == me_id)).all()
                    assert len(posts) == 1 and posts[0].kind == "photo"
            finally:
                browser.close()
