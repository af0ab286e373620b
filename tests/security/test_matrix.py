"""The authorization matrix: every surface (``surfaces.SURFACES``) x every viewer relation
(``scene.VIEWERS``) x every kind of content (``scene`` markers), on SQLite and PostgreSQL.

Each piece of content carries a unique marker word; a viewer who may not see it must never receive
the marker, on any surface, in any form (page, JSON, error message, tool summary, prompt). A few
positive controls per surface prove that the surface was really exercised.
"""

from __future__ import annotations

import pytest
from scripted_llm import ScriptedLLM

from townsquare.feed import pymk

from . import scene as cast
from .surfaces import SURFACES


@pytest.fixture
def matrix_scene(town, app):
    pymk.GRAPHS.clear()
    app.state.llms["creator"] = ScriptedLLM(answer="zzmodelanswer")
    app.state.llms["assistant"] = ScriptedLLM(answer="ok")
    yield cast.build(town)
    pymk.GRAPHS.clear()


def test_no_marker_reaches_anyone_who_may_not_see_it(matrix_scene):
    scene = matrix_scene
    leaks, missing = [], []
    for surface in SURFACES:
        for name in cast.VIEWERS:
            text = surface.read(scene, scene.who[name]).lower()
            for marker, audience in scene.audience.items():
                allowed = surface.strict.get(marker, audience)
                if surface.filtered:
                    allowed = allowed - cast.MUTERS
                if name not in allowed and marker.lower() in text:
                    leaks.append(f"{surface.name}: {name} sees {marker}")
            for marker in surface.shows.get(name, ()):
                if marker.lower() not in text:
                    missing.append(f"{surface.name}: {name} should see {marker}")
    assert not leaks, "leaks:\n" + "\n".join(leaks)
    assert not missing, "surfaces that showed nothing to someone allowed (broken checks):\n" + "\n".join(missing)


def test_every_marker_has_an_audience_and_every_viewer_is_exercised(matrix_scene):
    """The table itself: markers are distinct, audiences are made of known viewers, every surface has
    at least one positive control, so that a surface that answers nothing cannot pass silently."""
    markers = list(matrix_scene.audience)
    assert len(set(markers)) == len(markers)
    for audience in matrix_scene.audience.values():
        assert audience <= cast.EVERYONE
    for surface in SURFACES:
        assert surface.name and (surface.shows or surface.name in NO_POSITIVE_CONTROL), surface.name


# Surfaces whose output carries no marker for anyone in this scene (they are checked for leaks only):
# people-you-may-know names accounts, never content (its own test: test_pymk_reasons.py); the media
# lookup by file name is not an id and answers 422/404 to all.
NO_POSITIVE_CONTROL = {"api: people you may know", "page: people you may know", "api: media by id",
                       "mastodon: favourites and reblogs of"}
