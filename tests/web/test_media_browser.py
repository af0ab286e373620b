"""Media as people see it, in Chromium: thumbnails chosen through srcset, a BlurHash placeholder,
video posters, alt text typed in the composer (with a nudge when it is missing), and photos whose
EXIF GPS position never reaches the server's files."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from live_server import CHROMIUM, CHROMIUM_ARGS, live_app

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (make browser) to run browser tests"),
]

GPS_IFD = 0x8825


def photo_with_gps(width: int = 1600, height: int = 1000) -> bytes:
    """A JPEG with a gradient (so sizes differ) and an EXIF GPS position."""
    from PIL import Image

    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif, quality=90)
    return out.getvalue()


@pytest.fixture
def live(tmp_path: Path):
    with live_app(tmp_path) as served:
        yield served


def test_photo_post_with_alt_text_thumbnails_and_no_gps(live, tmp_path):
    playwright_api = pytest.importorskip("playwright.sync_api")
    from PIL import Image
    from sqlalchemy import select

    from townsquare.social.media_store import media_key
    from townsquare.social.models import Media

    base, app, db = live
    photo = tmp_path / "holiday.jpg"
    photo.write_bytes(photo_with_gps())
    assert Image.open(photo).getexif().get_ifd(GPS_IFD)  # the upload does carry a position

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=1)
            page.set_default_timeout(60_000)
            page.goto(base + "/signup")
            page.fill("#handle", "lena")
            page.fill("#password", "camera-roll-1")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/?welcome=1")

            page.fill("#compose-text", "Paris from the tower")
            page.set_input_files("#compose-media", str(photo))
            page.wait_for_selector(".composer .alt-input")
            page.click(".composer button[type=submit]")
            # The nudge: not posted yet, the description field is asked for.
            nudge = page.locator(".composer .alt-nudge")
            nudge.wait_for()
            assert page.url.startswith(base + "/?welcome=1")
            assert page.evaluate("document.activeElement.classList.contains('alt-input')")
            page.fill(".composer .alt-input", "The Seine and its bridges seen from above")
            page.click(".composer button[type=submit]")
            page.wait_for_url(base + "/")

            image = page.locator("article.post .media-grid img").first
            image.wait_for()
            assert image.get_attribute("alt") == "The Seine and its bridges seen from above"
            assert "320w" in image.get_attribute("srcset") and "1600w" in image.get_attribute("srcset")
            assert "url(data:image/png;base64," in image.get_attribute("style")  # the placeholder
            page.wait_for_function("() => document.querySelector('article.post .media-grid img').complete")
            chosen = image.evaluate("img => img.currentSrc")
            assert "/thumb-" in chosen and chosen.endswith(".webp")  # a phone does not load 1600 px
            assert image.evaluate("img => img.naturalWidth") < 1600
        finally:
            browser.close()

    with db.session() as s:
        media = s.scalars(select(Media)).one()
        assert media.description == "The Seine and its bridges seen from above"
        assert media.blurhash and [v["width"] for v in media.variants] == [320, 640, 1080]
        store = app.state.settings.media_store
        stored = Image.open(io.BytesIO(store.get(media_key(media.sha256, "jpg"))))
        assert not stored.getexif().get_ifd(GPS_IFD) and not stored.getexif()
        for variant in media.variants:
            thumb = Image.open(io.BytesIO(store.get(media_key(variant["sha256"], "webp"))))
            assert thumb.format == "WEBP" and thumb.width == variant["width"]
            assert not thumb.getexif()


def test_video_gets_a_poster(live, tmp_path):
    from townsquare.social.video_probe import ffmpeg_exe

    if ffmpeg_exe() is None:
        pytest.skip("no ffmpeg: videos are stored without a poster")
    playwright_api = pytest.importorskip("playwright.sync_api")
    import subprocess

    base, _app, db = live
    clip = tmp_path / "clip.mp4"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
                    "testsrc=size=640x360:rate=10:duration=1", "-pix_fmt", "yuv420p", str(clip)], check=True)
    from townsquare.social import accounts, media, posts

    with db.session() as s:
        owner = accounts.create_account(s, "vid", "video-maker-1")
        item = media.store_upload(s, owner, clip.read_bytes(), media_dir=_app.state.settings.media_store,
                                  max_bytes=10**8)
        posts.create_post(s, owner, kind="video", text="a clip", media_ids=[item.id])
        s.flush()
        assert [v["kind"] for v in item.variants] == ["poster"]

    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base + "/@vid")
            video = page.locator("article.post video").first
            poster = video.get_attribute("poster")
            assert poster and poster.endswith(".webp")
            response = page.request.get(base + poster)
            assert response.status == 200 and response.headers["content-type"] == "image/webp"
        finally:
            browser.close()
