"""Item 3: people-you-may-know (and the assistant, which repeats it) never reveal a follow the viewer
may not list, nor a reaction (no API lists who liked a post)."""

from __future__ import annotations

import pytest

from townsquare.assistant.tools import ToolContext, run_tool
from townsquare.feed import pymk
from townsquare.social.models import Account


@pytest.fixture(autouse=True)
def _fresh_graph():
    pymk.GRAPHS.clear()  # the follow graph is cached per database URL; every test starts empty
    yield
    pymk.GRAPHS.clear()


def _suggestions(town, who) -> dict[str, dict]:
    r = town.client.get("/api/people/suggestions", params={"limit": 20}, headers=who.headers)
    assert r.status_code == 200, r.text
    return {item["account"]["handle"]: item for item in r.json()["items"]}


def _assistant(town, who) -> str:
    with town.app.state.db.session() as s:
        result = run_tool(ToolContext(s, s.get(Account, who.id)), "suggest_follows", {})
    return result.text + str(result.data)


def test_a_private_accounts_follows_are_never_named(town):
    vic, dave, pria, cara = town.signup("vic"), town.signup("dave", private=True), \
        town.signup("pria", private=True), town.signup("cara")
    town.follow(dave, vic)  # on vic's own followers list: vic may know it
    assert town.follow(dave, pria) == "requested"
    town.accept(pria, dave)  # dave -> pria: on two private lists vic may not read
    town.follow(dave, cara)  # dave -> cara: on cara's public followers list
    assert town.client.get(f"/api/accounts/{pria.sid}/followers", headers=vic.headers).status_code == 403
    assert town.client.get(f"/api/accounts/{dave.sid}/following", headers=vic.headers).status_code == 403
    found = _suggestions(town, vic)
    assert "pria" in found and "cara" in found
    assert found["pria"]["mutual_count"] == 0 and found["pria"]["mutual"] == []
    assert all("@dave" not in r["text"] for r in found["pria"]["reasons"])
    # The same friend in common may be named where the follow is on a list vic can read.
    assert found["cara"]["mutual"] == ["@dave"]
    assert any(r["text"] == "1 friend in common (@dave)" for r in found["cara"]["reasons"])
    said = _assistant(town, vic)
    assert "pria" in said and "@dave" in said  # named for cara ...
    pria_line = next(line for line in said.splitlines() if line.startswith("- @pria"))
    assert "dave" not in pria_line and "in common" not in pria_line  # ... never for pria


def test_shared_likes_are_never_said(town):
    vic, lara, olive = town.signup("vic"), town.signup("lara"), town.signup("olive")
    post_id = town.post(olive, "a post both like")
    for who in (vic, lara):
        town.ok(town.client.post(f"/api/posts/{post_id}/reaction", json={"kind": "like"}, headers=who.headers), 201)
    found = _suggestions(town, vic)
    assert "lara" in found
    for item in found.values():
        assert "same_posts" not in item["sources"]
        assert all(r["code"] != "same_posts" and "same posts" not in r["text"] for r in item["reasons"])
    assert "same posts" not in _assistant(town, vic)
