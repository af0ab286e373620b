"""Template helpers: escaping, links, relative times; redirect targets stay on the site."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from townsquare.web.security import safe_next
from townsquare.web.templating import compact, linkify, reltime


def test_linkify_escapes_html_and_links_tags_mentions_urls():
    html = str(linkify('<script>alert(1)</script> hi @Bob see #News at https://ex.org/a?b=1&c=2.'))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<a href="/@bob">@Bob</a>' in html
    assert '<a href="/tags/news">#News</a>' in html
    assert 'href="https://ex.org/a?b=1&amp;c=2"' in html and html.endswith(".")
    assert str(linkify('"><img src=x onerror=alert(1)>')).count("<") == 0
    # Only http(s) URLs become links: no href may carry another scheme.
    for text in ("javascript:alert(1)", "see JavaScript:alert(1) now", "data:text/html,<b>x</b>",
                 "vbscript:msgbox(1)", "https://ok.example/javascript:x"):
        hrefs = re.findall(r'href="([^"]*)"', str(linkify(text)))
        assert all(h.startswith(("https://", "http://", "/tags/", "/@")) for h in hrefs), (text, hrefs)
    assert re.findall(r'href="([^"]*)"', str(linkify("https://ok.example/javascript:x"))) == [
        "https://ok.example/javascript:x"]


def test_reltime_and_compact():
    now = datetime(2026, 5, 10, 12, 0, tzinfo=UTC)
    assert reltime(now - timedelta(seconds=10), now) == "now"
    assert reltime(now - timedelta(minutes=5), now) == "5m"
    assert reltime(now - timedelta(hours=3), now) == "3h"
    assert reltime(now - timedelta(days=2), now) == "2d"
    assert reltime(datetime(2026, 1, 2, tzinfo=UTC), now) == "Jan 2"
    assert reltime(datetime(2024, 1, 2, tzinfo=UTC), now) == "Jan 2, 2024"
    assert [compact(n) for n in (0, 999, 1200, 15300, 2_500_000)] == ["0", "999", "1.2K", "15K", "2.5M"]


def test_safe_next_only_allows_local_paths():
    assert safe_next("/p/1") == "/p/1"
    for bad in ["//evil.example", "https://evil.example", "/\\evil.example", "", None, "javascript:alert(1)"]:
        assert safe_next(bad) == "/"
