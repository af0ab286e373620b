"""Charts where people would rather look: the creator dashboard (what your posts received, per day)
and the "Why am I seeing this?" view (how likely the ranking thinks each action is)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta


def test_day_series_and_bar_chart():
    from townsquare.web.charts import bar_chart, day_series

    today = datetime(2026, 12, 7, 12, tzinfo=UTC)
    points = day_series([today, today - timedelta(hours=2), today - timedelta(days=2), today - timedelta(days=40)],
                        7, today.date())
    assert [v for _, v in points] == [0, 0, 0, 0, 1, 0, 2] and points[-1][0] == "Dec 7"
    svg = str(bar_chart(points, title="Likes", unit="likes"))
    assert svg.count('<rect class="bar"') == 7
    assert 'aria-label="Likes: 3 likes in all, at most 2 likes on one bar"' in svg
    heights = [float(h) for h in re.findall(r'<rect class="bar"[^>]* height="([\d.]+)"', svg)]
    assert heights[-1] == max(heights) and heights[-1] == 2 * heights[-3] and heights[0] == 0
    assert "<td>2</td>" in svg  # the numbers, for screen readers
    empty = str(bar_chart(day_series([], 3), title="Nothing"))
    assert "0  in all" not in empty and empty.count('height="0.0"') == 3


def test_creator_dashboard_charts_what_posts_received(person):
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    alice.post_form("/compose", {"text": "a post worth liking"}, page="/compose")
    post_id = re.search(r'data-post-id="(\d+)"', alice.get("/@alice").text).group(1)
    for fan in (bob, carol):
        fan.post_form(f"/p/{post_id}/like", {}, page=f"/p/{post_id}")
        fan.post_form("/@alice/follow", page="/@alice")
    bob.post_form(f"/p/{post_id}/comments", {"text": "lovely"}, page=f"/p/{post_id}")
    page = alice.get("/studio").text
    assert "Your last 30 days" in page
    assert 'aria-label="Likes on your posts, last 30 days: 2 likes in all' in page
    assert 'aria-label="Comments from others: 1 comments in all' in page
    assert 'aria-label="New followers: 2 followers in all' in page


def test_why_view_shows_the_predictions(person):
    alice, bob = person("alice"), person("bob")
    alice.post_form("/@bob/follow", page="/@bob")
    bob.post_form("/compose", {"text": "ranked for alice"}, page="/compose")
    page = alice.get("/").text
    assert "Why am I seeing this?" in page
    why = page.split('class="why-list"', 1)[1].split("</details>", 1)[0]
    assert 'class="chart meter"' in why and "How likely you are to" in why
    shares = re.findall(r'meter-fill" style="width: ([\d.]+)%', why)
    assert shares and all(0 <= float(s) <= 100 for s in shares)
