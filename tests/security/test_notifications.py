"""Item 4: a notification about a post the recipient can no longer see names neither the post nor who
acted on it, in any surface (API list, mark-read, unread count, the page, the assistant's tool)."""

from __future__ import annotations

from townsquare.assistant.tools import ToolContext, run_tool
from townsquare.social.models import Account


def _scene(town):
    olive, fran, rex = town.signup("olive"), town.signup("fran"), town.signup("rexreplier")
    town.follow(fran, olive)
    town.follow(rex, olive)
    post_id = town.post(olive, "followers only: zzsecretplans for the weekend", visibility="followers")
    comment_id = town.comment(fran, post_id, "count me in")
    town.comment(rex, post_id, "@fran zzreplytext me too")  # a mention of fran on olive's post
    r = town.client.post(f"/api/posts/{post_id}/comments", json={"text": "zzreplytext sounds good",
                                                                 "parent_id": comment_id}, headers=rex.headers)
    assert r.status_code == 201, r.text
    return olive, fran, rex, post_id


def _everything_fran_sees(town, fran) -> str:
    api = town.client.get("/api/notifications", headers=fran.headers).text
    page = town.client.get("/notifications", headers=fran.headers | {"accept": "text/html"}).text
    with town.app.state.db.session() as s:
        tool = run_tool(ToolContext(s, s.get(Account, fran.id)), "read_notifications", {})
    return api + page + tool.text + str(tool.data)


def test_notifications_about_posts_no_longer_visible_are_gone(town):
    olive, fran, rex, post_id = _scene(town)
    before = _everything_fran_sees(town, fran)
    refs = (f"[post {post_id}]", f"/p/{post_id}", f"'post_id': '{post_id}'")
    assert "rexreplier" in before and all(ref in before for ref in refs)  # while she follows olive
    notes = town.client.get("/api/notifications", headers=fran.headers).json()["items"]
    town.unfollow(fran, olive)
    after = _everything_fran_sees(town, fran)
    for leak in ("rexreplier", "zzsecretplans", "zzreplytext", *refs):
        assert leak not in after, leak
    assert town.client.get("/api/notifications/unread_count", headers=fran.headers).json()["unread_count"] == 0
    for note in notes:
        r = town.client.post(f"/api/notifications/{note['id']}/read", headers=fran.headers)
        assert r.status_code == 404 and "rexreplier" not in r.text


def test_own_posts_keep_their_notifications(town):
    olive, fran, rex, post_id = _scene(town)
    town.unfollow(fran, olive)
    mine = town.client.get("/api/notifications", headers=olive.headers).json()["items"]
    assert {n["actor"]["handle"] for n in mine} >= {"fran", "rexreplier"}
