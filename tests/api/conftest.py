"""Helpers for API tests: sign people up through the real endpoints and make tiny media files."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest


@dataclass
class User:
    id: str
    handle: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def signup(client):
    def _signup(handle: str, password: str = "correct horse", **extra) -> User:
        response = client.post("/api/auth/signup", json={"handle": handle, "password": password, **extra})
        assert response.status_code == 201, response.text
        body = response.json()
        return User(body["account"]["id"], body["account"]["handle"], body["token"])

    return _signup


@pytest.fixture
def follow(db):
    """Make ``a`` follow ``b`` directly in the database (the graph service belongs to another module)."""
    from townsquare.social.models import Account, Follow

    def _follow(a: User, b: User) -> None:
        with db.session() as session:
            session.add(Follow(follower_id=int(a.id), followee_id=int(b.id)))
            session.get(Account, int(b.id)).follower_count += 1
            session.get(Account, int(a.id)).following_count += 1

    return _follow


@pytest.fixture
def block(db):
    from townsquare.social.models import Block

    def _block(a: User, b: User) -> None:
        with db.session() as session:
            session.add(Block(blocker_id=int(a.id), blocked_id=int(b.id)))

    return _block


@pytest.fixture
def png():
    """``png(color=..., size=..., exif=False, fmt="PNG")`` -> bytes of a tiny image."""
    return png_bytes


@pytest.fixture
def rows(db):
    """``rows(Model)`` -> how many rows the table holds."""
    return lambda model: count_rows(db, model)


def png_bytes(color=(200, 30, 30), size=(8, 6), exif: bool = False, fmt: str = "PNG") -> bytes:
    from PIL import Image

    image = Image.new("RGB", size, color)
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCam"  # Make
        data[0x0112] = 6  # orientation: rotate
        image.save(out, fmt, exif=data.tobytes())
    else:
        image.save(out, fmt)
    return out.getvalue()


@pytest.fixture
def mp4():
    """A real (tiny, 2 s, 160x128) H.264 MP4: uploads are decoded, a bare header is refused."""
    from townsquare.sim.media import make_video

    return make_video(0, 0)


def count_rows(db, model) -> int:
    from sqlalchemy import func, select

    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))
