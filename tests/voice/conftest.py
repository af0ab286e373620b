"""Voice test fixtures: people signed up through the real API (the API tests' own fixture)."""

from __future__ import annotations

from api.conftest import User, signup  # noqa: F401  (pytest finds the fixture by its name here)
