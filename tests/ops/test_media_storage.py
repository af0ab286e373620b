"""Media storage that can be shared: an S3-compatible store (moto's S3 server, a real HTTP server on
loopback, through boto3), and a local disk that fills up (a real 1 MiB tmpfs). Uploads that cannot
be stored get a clear error and leave no row behind; readiness follows; recovery needs no restart."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import uuid

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from townsquare.config import load_settings
from townsquare.social.media_store import LocalMediaStore, S3MediaStore, StorageFull
from townsquare.social.models import Media


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _png(size: int = 64, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (size, size, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue()


def _signup(client, handle):
    body = client.post("/api/auth/signup", json={"handle": handle, "password": "correct horse"}).json()
    return {"Authorization": f"Bearer {body['token']}"}


def _media_rows(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Media))


@pytest.fixture
def s3_server():
    moto_server = pytest.importorskip("moto.server")
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    yield server, f"http://127.0.0.1:{port}"
    server.stop()


def test_the_s3_store_round_trips_files(s3_server):
    _, endpoint = s3_server
    store = S3MediaStore(f"unit-{uuid.uuid4().hex[:8]}", prefix="media", endpoint_url=endpoint, region="us-east-1",
                         access_key="testing", secret_key="testing", create_bucket=True)
    store.put("ab/cd/x.png", b"hello", "image/png")
    assert store.exists("ab/cd/x.png") and not store.exists("ab/cd/y.png")
    assert store.get("ab/cd/x.png") == b"hello"
    assert b"".join(store.iter_chunks("ab/cd/x.png", 2)) == b"hello"
    assert list(store.keys()) == ["ab/cd/x.png"]
    head = store.client.head_object(Bucket=store.bucket, Key="media/ab/cd/x.png")
    assert head["ContentType"] == "image/png"
    store.delete("ab/cd/x.png")
    assert list(store.keys()) == []


def test_uploads_and_downloads_through_s3_and_an_outage(tmp_path, db, s3_server):
    from townsquare.server.app import create_app

    server, endpoint = s3_server
    bucket = f"townsquare-{uuid.uuid4().hex[:8]}"
    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             media_backend="s3", media_s3_bucket=bucket, media_s3_endpoint_url=endpoint,
                             media_s3_region="us-east-1", media_s3_access_key="testing",
                             media_s3_secret_key="testing", media_s3_create_bucket=True,
                             auth_rate_limit_per_minute=1000)
    with TestClient(create_app(settings, db)) as client:
        auth = _signup(client, "s3_user")
        data = _png(seed=1)
        up = client.post("/api/media", headers=auth, files={"file": ("a.png", data, "image/png")})
        assert up.status_code == 201, up.text
        url = up.json()["url"]
        got = client.get(url, headers=auth)
        assert got.status_code == 200 and got.content == data and got.headers["content-type"] == "image/png"
        assert not any((tmp_path / "data" / "media").rglob("*.png"))  # nothing on local disk
        keys = list(settings.media_store.keys())
        assert len(keys) == 1 and url.endswith(keys[0].rsplit("/", 1)[1])
        assert client.get("/readyz").json()["checks"]["media"]["ok"] is True

        server.stop()  # the object store goes away
        try:
            rows = _media_rows(db)
            down = client.post("/api/media", headers=auth, files={"file": ("b.png", _png(seed=2), "image/png")})
            assert down.status_code == 503, down.text
            assert "media storage" in down.json()["error"]["message"]
            assert _media_rows(db) == rows  # no row points at a file that is not there
            assert client.get("/readyz").status_code == 503
        finally:
            server.start()  # moto keeps its objects in memory: the same store comes back
        again = client.post("/api/media", headers=auth, files={"file": ("b.png", _png(seed=2), "image/png")})
        assert again.status_code == 201, again.text
        assert client.get(url, headers=auth).content == data
        assert client.get("/readyz").status_code == 200


@pytest.fixture
def small_disk(tmp_path):
    """A real 1 MiB file system for the media folder (root may mount tmpfs; skipped otherwise)."""
    media = tmp_path / "data" / "media"
    media.mkdir(parents=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(media)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.decode().strip() or done.returncode}")
    try:
        yield media
    finally:
        subprocess.run(["umount", "-l", str(media)], capture_output=True)


def test_a_full_media_disk(tmp_path, db, small_disk):
    from townsquare.server.app import create_app

    settings = load_settings(env={}, data_dir=tmp_path / "data", database_url=db.url, secret_key="s",
                             max_upload_bytes=400_000, auth_rate_limit_per_minute=1000)
    ballast = small_disk / ".ballast"
    ballast.write_bytes(b"\0" * 800_000)  # most of the disk is taken
    with TestClient(create_app(settings, db)) as client:
        auth = _signup(client, "disk_user")
        ready = client.get("/readyz")
        assert ready.status_code == 503 and "full" in ready.json()["checks"]["media"]["error"]
        big = _png(300, seed=3)  # ~270 KB of noise: does not fit
        assert len(big) > 250_000
        full = client.post("/api/media", headers=auth, files={"file": ("big.png", big, "image/png")})
        assert full.status_code == 507, full.text
        assert full.json()["error"]["code"] == "storage_full"
        assert _media_rows(db) == 0
        assert not [p for p in small_disk.rglob("*") if p.is_file() and p.name != ".ballast"]  # no partial file

        ballast.unlink()  # an admin frees space: no restart
        assert client.get("/readyz").status_code == 200
        ok = client.post("/api/media", headers=auth, files={"file": ("big.png", big, "image/png")})
        assert ok.status_code == 201, ok.text
        assert client.get(ok.json()["url"], headers=auth).content == big


def test_local_store_maps_enospc_to_storage_full(tmp_path, monkeypatch):
    import errno

    store = LocalMediaStore(tmp_path)

    def no_space(*_a, **_k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageFull):
        store.put("ab/cd/z.png", b"data")
    assert list(store.keys()) == []
