"""Item 9: uploads are accepted only when they decode, and media files are checked on every access
(a followers-only photo is not a public capability URL)."""

from __future__ import annotations

import pytest

from townsquare.sim.media import make_video
from townsquare.social.models import Media

from .conftest import png_bytes

FAKE_MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"
HTML = b"<html><body><script>alert(document.cookie)</script></body></html>"


def _upload(town, who, data: bytes, name: str, mime: str):
    return town.client.post("/api/media", headers=who.headers, files={"file": (name, data, mime)})


@pytest.mark.parametrize("data", [
    FAKE_MP4[:12] + HTML,  # the probe's file: a 12-byte MP4 header, then HTML
    FAKE_MP4 + HTML,
    make_video(0, 0)[:400],  # a real video cut short: no frame decodes
    b"\x1a\x45\xdf\xa3" + b"webm" + HTML,  # a WebM header, then HTML
])
def test_files_that_do_not_decode_as_video_are_refused(town, data, rows):
    ana = town.signup("ana")
    r = _upload(town, ana, data, "clip.mp4", "video/mp4")
    assert r.status_code == 415, r.text
    assert r.json()["error"]["code"] == "unsupported_media_type" and r.json()["error"]["message"]
    assert rows(Media) == 0


def test_real_videos_are_accepted_with_their_size(town):
    ana = town.signup("ana")
    r = _upload(town, ana, make_video(1, 0), "clip.mp4", "video/mp4")
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "video" and (r.json()["width"], r.json()["height"]) == (160, 128)


@pytest.fixture
def rows(db):
    from sqlalchemy import func, select

    def count(model) -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(model))

    return count


def test_followers_only_media_files_are_checked_on_access(town):
    olive, fran, sam = town.signup("olive"), town.signup("fran"), town.signup("sam")
    town.follow(fran, olive)
    secret = town.upload_png(olive, color=(1, 2, 3))
    public = town.upload_png(olive, color=(200, 100, 50))
    town.post(olive, "followers only photo", visibility="followers", media_ids=[secret["id"]])
    town.post(olive, "public photo", media_ids=[public["id"]])
    signed_out = type(sam)("signed out")
    for who, expected in ((olive, 200), (fran, 200), (sam, 404), (signed_out, 404)):
        r = town.client.get(secret["url"], headers=who.headers)
        assert r.status_code == expected, who.name
        if expected == 200:
            assert r.content == png_bytes((1, 2, 3))
            assert "private" in r.headers["cache-control"] and "public" not in r.headers["cache-control"]
    browser = town.web(fran)  # the pages' <img> requests carry the session cookie
    assert browser.client.get(secret["url"]).status_code == 200
    browser.close()
    r = town.client.get(public["url"])
    assert r.status_code == 200 and r.headers["cache-control"].startswith("public")
    assert r.headers["x-content-type-options"] == "nosniff"
    # Unfollowing takes the file away at once: nothing to revoke, it is checked on every request.
    town.unfollow(fran, olive)
    assert town.client.get(secret["url"], headers=fran.headers).status_code == 404


def test_unattached_uploads_are_their_owners_only(town):
    olive, sam = town.signup("olive"), town.signup("sam")
    media = town.upload_png(olive)
    assert town.client.get(media["url"], headers=olive.headers).status_code == 200
    assert town.client.get(media["url"], headers=sam.headers).status_code == 404
    assert town.client.get(media["url"]).status_code == 404
