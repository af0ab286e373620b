"""Voice test fixtures: people signed up through the real API."""

from __future__ import annotations

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
    def _signup(handle: str, **extra) -> User:
        response = client.post("/api/auth/signup", json={"handle": handle, "password": "correct horse", **extra})
        assert response.status_code == 201, response.text
        body = response.json()
        return User(body["account"]["id"], body["account"]["handle"], body["token"])

    return _signup
