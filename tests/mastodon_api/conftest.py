from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def browser(app):
    """A second client with its own cookie jar: the person's browser."""
    with TestClient(app, base_url="http://testserver") as client:
        yield client
