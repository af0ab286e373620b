"""Uploads are checked by their bytes, size-limited, stored once by hash, served with their type."""

from __future__ import annotations

import hashlib

from townsquare.social.models import Media


def test_upload_image_and_serve_it(client, signup, png, settings):
    ana = signup("ana")
    data = png()
    response = client.post("/api/media", headers=ana.headers, data={"description": "a red square"},
                           files={"file": ("whatever.bin", data, "application/octet-stream")})
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["kind"] == "image" and body["mime_type"] == "image/png"
    assert (body["width"], body["height"]) == (8, 6) and body["description"] == "a red square"
    sha = hashlib.sha256(data).hexdigest()
    assert body["url"] == f"/media/{sha}.png"
    assert (settings.media_dir / sha[:2] / sha[2:4] / f"{sha}.png").read_bytes() == data
    served = client.get(body["url"], headers=ana.headers)
    assert served.status_code == 200 and served.content == data
    assert served.headers["content-type"] == "image/png"
    assert client.get(f"/api/media/{body['id']}", headers=ana.headers).json()["url"] == body["url"]
    # Not attached to anything yet: nobody else can look it up or fetch the file.
    assert client.get(f"/api/media/{body['id']}").status_code == 404
    assert client.get(body["url"]).status_code == 404
    # Same bytes again: the same row, one file.
    again = client.post("/api/media", headers=ana.headers, files={"file": ("x.png", data, "image/png")})
    assert again.json()["id"] == body["id"]


def test_video_sniffed_by_magic_bytes(client, signup, mp4):
    ben = signup("ben")
    response = client.post("/api/media", headers=ben.headers, files={"file": ("clip", mp4, "video/mp4")})
    assert response.status_code == 201
    assert response.json()["kind"] == "video" and response.json()["mime_type"] == "video/mp4"
    assert client.get(response.json()["url"], headers=ben.headers).headers["content-type"] == "video/mp4"


def test_exif_is_stripped_from_jpeg(client, signup, png):
    cat = signup("cat")
    data = png(fmt="JPEG", exif=True, size=(10, 4))
    assert b"SecretCam" in data
    response = client.post("/api/media", headers=cat.headers, files={"file": ("p.jpg", data, "image/jpeg")})
    assert response.status_code == 201
    stored = client.get(response.json()["url"], headers=cat.headers).content
    assert b"SecretCam" not in stored
    assert (response.json()["width"], response.json()["height"]) == (4, 10)  # orientation applied


def test_bad_uploads_are_refused_and_nothing_is_written(client, signup, app, rows, settings, png):
    dan = signup("dan")
    not_image = client.post("/api/media", headers=dan.headers,
                            files={"file": ("evil.png", b"<script>alert(1)</script>", "image/png")})
    assert not_image.status_code == 415 and not_image.json()["error"]["code"] == "unsupported_media_type"
    truncated = client.post("/api/media", headers=dan.headers, files={"file": ("t.png", png()[:30], "image/png")})
    assert truncated.status_code == 415
    empty = client.post("/api/media", headers=dan.headers, files={"file": ("e.png", b"", "image/png")})
    assert empty.status_code == 422
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    assert client.post("/api/media", headers=dan.headers, files={"file": ("h.mp4", heic, "video/mp4")}).status_code == 415
    bmp = client.post("/api/media", headers=dan.headers, files={"file": ("b.bmp", png(fmt="BMP"), "image/bmp")})
    assert bmp.status_code == 415
    app.state.settings.max_upload_bytes = 50
    big = client.post("/api/media", headers=dan.headers, files={"file": ("big.png", png(size=(64, 64)), "image/png")})
    assert big.status_code == 413 and big.json()["error"]["code"] == "too_large"
    missing = client.post("/api/media", headers=dan.headers)
    assert missing.status_code == 422
    anonymous = client.post("/api/media", files={"file": ("a.png", png(), "image/png")})
    assert anonymous.status_code == 401
    assert rows(Media) == 0
    assert not any(p.is_file() for p in settings.media_dir.rglob("*"))


def test_serving_unknown_or_odd_names_is_404(client):
    assert client.get("/media/" + "a" * 64 + ".png").status_code == 404
    assert client.get("/media/..%2F..%2Fsecret_key").status_code == 404
    assert client.get("/media/abc.exe").status_code == 404
    assert client.get("/api/media/12345").status_code == 404


def test_chunked_upload_over_the_limit_is_cut_off(client, signup, app, rows):
    eve = signup("eve")
    app.state.settings.max_upload_bytes = 1000  # + 1 MiB envelope allowance
    boundary = "xyz"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()

    def body():  # a generator: sent chunked, without Content-Length
        yield head
        for _ in range(40):
            yield b"\0" * 65536
        yield f"\r\n--{boundary}--\r\n".encode()

    response = client.post("/api/media", headers={**eve.headers, "content-type": f"multipart/form-data; boundary={boundary}"},
                           content=body())
    assert response.status_code == 413 and response.json()["error"]["code"] == "too_large"
    assert rows(Media) == 0
    declared = client.post("/api/posts", headers={**eve.headers, "content-type": "application/json",
                                                  "content-length": str(5 * 1024 * 1024)}, content=b"{}" )
    assert declared.status_code == 413
