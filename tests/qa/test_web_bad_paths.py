"""QA: odd paths, ids and query strings on the web pages answer a page (a 4xx one when wrong), never a 500."""

from __future__ import annotations

import pytest

HTML = {"accept": "text/html"}


@pytest.mark.parametrize("path", [
    "/posts/abc", "/p/abc", "/p/-1", "/p/99999999999999999999999", "/@nobody", "/@%00", "/@nobody/followers",
    "/tags/%00", "/tags/%ff", "/tags/" + "a" * 5000, "/search?q=%00", "/search?q=" + "x" * 10000,
    "/@demo?cursor=zz", "/tags/pets?cursor=!!", "/media/..%2f..%2fetc%2fpasswd", "/media/abc%00.png",
    "/static/..%2f..%2fconfig.py", "/static/nope.css",
])
def test_odd_public_paths_never_answer_500(client, path):
    response = client.get(path, headers=HTML)
    assert response.status_code < 500, (path, response.status_code)
    assert response.headers["content-type"].startswith("text/html"), path


def test_static_path_with_a_nul_byte_answers_404(client):
    response = client.get("/static/%00", headers=HTML)
    assert response.status_code == 404
