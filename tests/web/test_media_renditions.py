"""Renditions are served with their file's access check; uploads whose renditions cannot be made
are still stored; metadata that can hold a position (EXIF, XMP) is gone from stored photos."""

from __future__ import annotations

import io

from sqlalchemy import select


def _jpeg(width=900, height=600, **save) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, "JPEG", **save)
    return out.getvalue()


def test_thumbnails_follow_the_post_visibility(person, db):
    from townsquare.social.models import Media

    alice, follower, stranger = person("alice"), person("fan"), person("stranger")
    follower.post_form("/@alice/follow", page="/@alice")
    alice.post_form("/compose", {"text": "for my followers", "followers_only": "1", "alt": "a grey gradient"},
                    files={"media": ("g.jpg", _jpeg(), "image/jpeg")}, page="/compose")
    with db.session() as s:
        media = s.scalars(select(Media)).one()
        assert media.description == "a grey gradient"
        names = [f"{v['kind']}-{v['width']}.webp" for v in media.variants]
        sha = media.sha256
    assert names == ["thumb-320.webp", "thumb-640.webp"]
    for name in names:
        assert follower.client.get(f"/media/renditions/{sha}/{name}").status_code == 200
        assert follower.client.get(f"/media/renditions/{sha}/{name}").headers["content-type"] == "image/webp"
        assert stranger.client.get(f"/media/renditions/{sha}/{name}").status_code == 404
        assert person().client.get(f"/media/renditions/{sha}/{name}").status_code == 404
    assert follower.client.get(f"/media/renditions/{sha}/thumb-999.webp").status_code == 404
    assert follower.client.get(f"/media/renditions/{'0' * 64}/thumb-320.webp").status_code == 404
    assert follower.client.get("/media/renditions/not-a-sha/thumb-320.webp").status_code == 404
    page = follower.get("/following").text
    assert f"/media/renditions/{sha}/thumb-320.webp 320w" in page and 'alt="a grey gradient"' in page


def test_xmp_and_exif_are_stripped():
    from PIL import Image

    from townsquare.social.media import sniff

    xmp = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           b'<rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" exif:GPSLatitude="48,51.4N"/>'
           b'</rdf:RDF></x:xmpmeta>')
    with_xmp = _jpeg(xmp=xmp)
    assert b"GPSLatitude" in with_xmp
    stored = sniff(with_xmp).data
    assert b"GPSLatitude" not in stored
    assert Image.open(io.BytesIO(stored)).size == (900, 600)
    plain = _jpeg()
    assert sniff(plain).data == plain  # nothing to strip: the bytes are kept as they are


def test_renditions_failing_never_refuse_the_upload(person, db, monkeypatch):
    from townsquare.social import renditions
    from townsquare.social.models import Media

    def broken(*_args, **_kwargs):
        raise RuntimeError("no encoder")

    monkeypatch.setattr(renditions, "make_renditions", broken)
    alice = person("alice")
    done = alice.post_form("/compose", {"text": "still posts"}, files={"media": ("g.jpg", _jpeg(), "image/jpeg")},
                           page="/compose")
    assert done.status_code == 303
    with db.session() as s:
        media = s.scalars(select(Media)).one()
        assert media.variants is None and media.blurhash is None
    assert "srcset" not in alice.get("/following").text.split('class="media-grid')[1].split("</div>")[0]


def test_backfill_makes_renditions_for_older_media(person, db, app, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from townsquare.cli import app as cli
    from townsquare.social.models import Media

    alice = person("alice")
    alice.post_form("/compose", {"text": "old photo"}, files={"media": ("g.jpg", _jpeg(), "image/jpeg")},
                    page="/compose")
    with db.session() as s:  # as uploads from before renditions existed
        media = s.scalars(select(Media)).one()
        media.variants, media.blurhash = None, None
    monkeypatch.setenv("TOWNSQUARE_DATABASE_URL", db.url)
    monkeypatch.setenv("TOWNSQUARE_DATA_DIR", str(app.state.settings.data_dir))
    result = CliRunner().invoke(cli, ["media", "renditions"])
    assert result.exit_code == 0 and "renditions made for 1 file(s)" in result.output
    with db.session() as s:
        media = s.scalars(select(Media)).one()
        assert [v["width"] for v in media.variants] == [320, 640] and media.blurhash
    assert "renditions made for 0 file(s)" in CliRunner().invoke(cli, ["media", "renditions"]).output
