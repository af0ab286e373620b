"""Bad input on any page gets a 4xx page, never a 500."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from .conftest import csrf_of

BAD_GETS = [
    "/p/9223372036854775808", "/p/99999999999999999999", "/p/-1", "/p/１２", "/p/1e3",
    "/?cursor=bad", "/?cursor=eyJ0cyI6MX0", "/?start=-5&cursor=", "/@alice?cursor=%00", "/@alice/followers?cursor=x",
    "/@ÄÖ", "/@" + "a" * 300, "/tags/" + "x" * 200, "/tags/ok?cursor=bad", "/search?q=" + "w" * 1000,
    "/search?q=%00%01", "/search?q=hello&cursor=zzz", "/search?q=hello&tab=nonsense", "/messages?cursor=bad",
    "/messages/nobody", "/messages/new?to=%25%25", "/notifications?cursor=bad", "/report?post=abc",
    "/report?account=99999999999999999999", "/admin/reports?status=bogus&cursor=bad", "/static/../../etc/passwd",
    "/settings/profile?x=%ff",
]


def test_bad_gets_never_500(app, person):
    alice = person("alice")
    alice.post_form("/compose", {"text": "hello world #ok"}, page="/compose")
    client = TestClient(app, raise_server_exceptions=False, cookies=alice.client.cookies)
    for path in BAD_GETS:
        response = client.get(path, headers={"accept": "text/html"})
        assert response.status_code < 500, (path, response.status_code)


def test_bad_posts_never_500(app, person, db):
    from townsquare.social.models import Account

    alice = person("alice")
    with db.session() as session:
        session.query(Account).filter(Account.handle == "alice").update({"is_admin": True})
    alice.post_form("/compose", {"text": "hello world"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', alice.get("/following").text).group(1)
    client = TestClient(app, raise_server_exceptions=False, cookies=alice.client.cookies)
    token = csrf_of(client.get("/").text)
    cases = [
        ("/compose", {"text": "x", "link_url": "http://" + "a" * 3000}),
        ("/compose", {"text": "x", "followers_only": "maybe", "kind": "nonsense"}),
        (f"/p/{post_id}/comments", {"text": "hi", "parent_id": "99999999999999999999"}),
        (f"/p/{post_id}/comments", {"text": "hi", "parent_id": "123456"}),
        (f"/p/{post_id}/comments", {"text": "y" * 20000}),
        ("/p/abc/like", {}), (f"/p/{post_id}/react", {"kind": ""}), ("/p/1/comments/xyz/delete", {}),
        ("/p/424242/delete", {}), ("/p/424242/hide", {}), ("/p/424242/repost", {}),
        ("/@nobody/follow", {}), ("/@alice/follow", {}), ("/@alice/block", {}), ("/@alice/unmute", {}),
        ("/follow_requests/abc/accept", {}), ("/follow_requests/5/maybe", {}), ("/follow_requests/424242/accept", {}),
        ("/messages/alice", {"text": "me to me"}), ("/messages/nobody", {"text": "hi"}),
        ("/report", {}), ("/report", {"post_id": post_id, "reason": "spam", "details": "d" * 5000}),
        ("/report", {"account_id": "abc", "reason": "spam"}),
        ("/admin/reports/abc/resolve", {"action": "dismiss"}), ("/admin/reports/424242/resolve", {"action": "x"}),
        ("/tags/bad tag!/follow", {}), ("/tags/ok/sideways", {}),
        ("/settings/profile", {"display_name": "n" * 500}),
        ("/signin", {"login": "x" * 5000, "password": "p" * 5000}),
    ]
    for path, data in cases:
        response = client.post(path, data={"csrf": token, **data}, headers={"accept": "text/html"},
                               follow_redirects=False)
        assert response.status_code < 500, (path, data, response.status_code, response.text[:200])
        assert "text/html" in response.headers.get("content-type", "") or response.status_code in (303, 307), path
    app.state.settings.max_upload_bytes = 4096  # the limit is read per request
    big = client.post("/compose", data={"csrf": token, "text": "big"}, headers={"accept": "text/html"},
                      files={"media": ("big.png", b"\x89PNG" + b"0" * (app.state.settings.max_upload_bytes + 10),
                                       "image/png")})
    assert big.status_code == 413
