"""Reports and the admin moderation queue."""

from __future__ import annotations

from sqlalchemy import select

from townsquare.social.models import Account, Comment, Event, Post, Report

from .helpers import assert_error


def _report(client, user, target_type, target_id, reason="spam", details=""):
    return client.post("/api/reports", json={"target_type": target_type, "target_id": str(target_id),
                                             "reason": reason, "details": details}, headers=user.headers)


def _comment(world, author, post_id, text="rude words") -> int:
    with world.db.session() as s:
        comment = Comment(post_id=post_id, author_id=author.id, text=text)
        s.add(comment)
        s.get(Post, post_id).comment_count += 1
        s.flush()
        return comment.id


def test_report_post_comment_account_and_event(client, world):
    alice, troll = world.user("alice"), world.user("troll")
    post_id = world.post(troll, "buy cheap stuff")
    comment_id = _comment(world, troll, world.post(alice, "my post"))
    r = _report(client, alice, "post", post_id, "spam", "posted ten times today")
    assert r.status_code == 201 and r.json()["status"] == "open"
    assert _report(client, alice, "comment", comment_id, "harassment").status_code == 201
    assert _report(client, alice, "account", troll.id, "other").status_code == 201
    with world.db.session() as s:
        reports = list(s.scalars(select(Report).order_by(Report.id)))
        events = list(s.scalars(select(Event).where(Event.action == "report").order_by(Event.id)))
    assert [(r.target_account_id, r.post_id, r.comment_id) for r in reports] == [
        (troll.id, post_id, None), (troll.id, None, comment_id), (troll.id, None, None)]
    assert [(e.entity_type, e.entity_id) for e in events] == [("post", post_id), ("comment", comment_id),
                                                              ("account", troll.id)]
    assert events[0].context == {"reason": "spam"}


def test_bad_reports_are_refused_without_writing(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    own_post = world.post(alice, "mine")
    secret = world.post(bob, "followers only", visibility="followers")
    post_id = world.post(bob, "public")
    assert_error(_report(client, alice, "post", own_post), 422)  # yourself
    assert_error(_report(client, alice, "account", alice.id), 422)
    assert_error(_report(client, alice, "post", post_id, reason="ugly"), 422)
    assert_error(_report(client, alice, "post", post_id, details="x" * 1001), 422)
    assert_error(_report(client, alice, "video", post_id), 422)
    assert_error(_report(client, alice, "post", 987654), 404)
    assert_error(_report(client, alice, "comment", 987654), 404)
    assert_error(_report(client, alice, "post", secret), 404)  # cannot see it, cannot report it
    assert_error(client.post("/api/reports", content=b"[1,2", headers=alice.headers
                             | {"content-type": "application/json"}), 422)
    assert_error(client.post("/api/reports", json={"target_type": "post", "target_id": str(post_id),
                                                   "reason": "spam"}), 401)
    assert world.count(Report) == 0
    assert _report(client, alice, "post", post_id).status_code == 201
    assert_error(_report(client, alice, "post", post_id, reason="hate"), 409)  # already open
    assert _report(client, bob, "account", alice.id).status_code == 201  # others still can
    assert world.count(Report) == 2


def test_queue_is_admin_only(client, world):
    alice, bob = world.user("alice"), world.user("bob")
    _report(client, alice, "account", bob.id)
    report_id = client.get("/api/admin/reports", headers=world.user("root", admin=True).headers).json()["items"][0]["id"]
    assert_error(client.get("/api/admin/reports", headers=alice.headers), 403)
    assert_error(client.get("/api/admin/reports"), 401)
    assert_error(client.get(f"/api/admin/reports/{report_id}", headers=alice.headers), 403)
    assert_error(client.post(f"/api/admin/reports/{report_id}/resolve", json={"action": "dismiss"},
                             headers=bob.headers), 403)
    with world.db.session() as s:
        assert s.get(Report, int(report_id)).status == "open"


def test_remove_post_hides_it_everywhere_and_settles_other_reports(client, world):
    admin, alice, bob, troll = (world.user("root", admin=True), world.user("alice"), world.user("bob"),
                                world.user("troll"))
    post_id = world.post(troll, "terrible spam #deals")
    _report(client, alice, "post", post_id)
    _report(client, bob, "post", post_id, "hate")
    queue = client.get("/api/admin/reports", headers=admin.headers).json()
    assert [(i["reporter"]["handle"], i["target_type"], i["post"]["text"]) for i in queue["items"]] == [
        ("alice", "post", "terrible spam #deals"), ("bob", "post", "terrible spam #deals")]
    first = queue["items"][0]["id"]
    r = client.post(f"/api/admin/reports/{first}/resolve", json={"action": "remove_post"}, headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "resolved" and r.json()["post"]["removed_at"]
    assert client.get("/api/admin/reports", headers=admin.headers).json()["items"] == []
    resolved = client.get("/api/admin/reports", params={"status": "resolved"}, headers=admin.headers).json()
    assert {i["action"] for i in resolved["items"]} == {"remove_post"} and len(resolved["items"]) == 2
    assert client.get("/api/search", params={"q": "spam"}).json()["items"] == []
    assert client.get("/api/hashtags/deals/posts").json()["items"] == []
    assert_error(client.post(f"/api/admin/reports/{first}/resolve", json={"action": "dismiss"},
                             headers=admin.headers), 409)


def test_suspend_account_blocks_sign_in_and_hides_posts(client, world):
    admin, alice, troll = world.user("root", admin=True), world.user("alice"), world.user("troll")
    world.post(troll, "hateful words about hamsters")
    _report(client, alice, "account", troll.id, "hate")
    assert client.get("/api/notifications", headers=troll.headers).status_code == 200
    report_id = client.get("/api/admin/reports", headers=admin.headers).json()["items"][0]["id"]
    assert_error(client.post(f"/api/admin/reports/{report_id}/resolve", json={"action": "remove_post"},
                             headers=admin.headers), 422)  # an account report has no post
    r = client.post(f"/api/admin/reports/{report_id}/resolve", json={"action": "suspend_account"},
                    headers=admin.headers)
    assert r.status_code == 200 and r.json()["target_account"]["status"] == "suspended"
    assert_error(client.get("/api/notifications", headers=troll.headers), 401)  # the token no longer works
    assert client.get("/api/search", params={"q": "hamsters"}).json()["items"] == []
    assert client.get("/api/search", params={"q": "troll", "type": "people"}).json()["items"] == []
    r = client.post(f"/api/admin/accounts/{troll.sid}/unsuspend", headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    assert client.get("/api/notifications", headers=troll.headers).status_code == 200
    assert_error(client.post(f"/api/admin/accounts/{troll.sid}/unsuspend", headers=admin.headers), 409)


def test_dismiss_remove_comment_and_bad_actions(client, world):
    admin, alice, troll = world.user("root", admin=True), world.user("alice"), world.user("troll")
    post_id = world.post(alice, "my post")
    comment_id = _comment(world, troll, post_id)
    _report(client, alice, "comment", comment_id, "harassment")
    _report(client, alice, "account", troll.id)
    comment_report, account_report = (i["id"] for i in
                                      client.get("/api/admin/reports", headers=admin.headers).json()["items"])
    assert_error(client.post(f"/api/admin/reports/{comment_report}/resolve", json={"action": "ban_forever"},
                             headers=admin.headers), 422)
    assert_error(client.post("/api/admin/reports/31337/resolve", json={"action": "dismiss"},
                             headers=admin.headers), 404)
    assert_error(client.post(f"/api/admin/reports/{comment_report}/resolve", json={},
                             headers=admin.headers), 422)
    r = client.post(f"/api/admin/reports/{comment_report}/resolve", json={"action": "remove_comment"},
                    headers=admin.headers)
    assert r.status_code == 200 and r.json()["comment"]["deleted_at"]
    with world.db.session() as s:
        assert s.get(Post, post_id).comment_count == 0
    r = client.post(f"/api/admin/reports/{account_report}/resolve", json={"action": "dismiss"},
                    headers=admin.headers)
    assert r.json()["status"] == "dismissed" and r.json()["action"] == "none"
    with world.db.session() as s:
        assert s.get(Account, troll.id).status == "active"
    assert_error(client.get("/api/admin/reports", params={"status": "weird"}, headers=admin.headers), 422)


def test_suspend_directly(client, world):
    admin, alice, troll = world.user("root", admin=True), world.user("alice"), world.user("troll")
    _report(client, alice, "account", troll.id)
    assert_error(client.post(f"/api/admin/accounts/{troll.sid}/suspend", headers=alice.headers), 403)
    assert_error(client.post(f"/api/admin/accounts/{admin.sid}/suspend", headers=admin.headers), 422)
    assert_error(client.post("/api/admin/accounts/4242/suspend", headers=admin.headers), 404)
    r = client.post(f"/api/admin/accounts/{troll.sid}/suspend", headers=admin.headers)
    assert r.status_code == 200 and r.json()["status"] == "suspended"
    assert client.get("/api/admin/reports", headers=admin.headers).json()["items"] == []  # settled with it
    assert_error(client.post(f"/api/admin/accounts/{troll.sid}/suspend", headers=admin.headers), 409)
    assert_error(client.get("/api/notifications", headers=troll.headers), 401)
