"""A small community for the assistant tests."""

from __future__ import annotations

import pytest

from townsquare.social import accounts, graph, posts


@pytest.fixture
def community(db):
    """mia (public climber), ola (private), mee (follows mia), zed; ids by handle."""
    with db.session() as s:
        made = {h: accounts.create_account(s, h, None, display_name=h.title()) for h in ("mee", "mia", "ola", "zed")}
        made["ola"].is_private = True
        made["mia"].bio = "Climber and photographer"
        s.flush()
        graph.follow(s, made["mee"], made["mia"].id)
        posts.create_post(s, made["mia"], text="Bouldering at Fontainebleau this weekend #climbing")
        posts.create_post(s, made["mia"], text="Secret crag for followers only #climbing", visibility="followers")
        posts.create_post(s, made["ola"], text="Private account climbing notes #climbing", visibility="followers")
        posts.create_post(s, made["zed"], text="Climbing shoes review: soft vs stiff #climbing")
        return {h: a.id for h, a in made.items()}
