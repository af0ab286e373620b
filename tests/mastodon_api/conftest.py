from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.fixture
def browser(app, client):
    """A second client with its own cookie jar: the person's browser. Not used as a context manager,
    so the app's lifespan (started by ``client``) runs once."""
    browser = TestClient(app, base_url="http://testserver")
    yield browser
    browser.close()
