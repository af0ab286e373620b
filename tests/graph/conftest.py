"""Fixtures for the graph, messages, notifications, search and moderation tests (see helpers.py)."""

from __future__ import annotations

import pytest

from .helpers import World


@pytest.fixture
def world(db) -> World:
    return World(db)
