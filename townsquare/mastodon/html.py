"""Post text as Mastodon's HTML ``content``: escaped, paragraphs and line breaks, links, mentions of
local accounts and hashtags as links (with Mastodon's classes, which clients look for)."""

from __future__ import annotations

import re
from html import escape

from townsquare.social.posts import HASHTAG_RE, MENTION_RE

_URL_RE = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def _link(url: str, base: str) -> str:
    shown = re.sub(r"^https?://(www\.)?", "", url)
    short = shown if len(shown) <= 30 else shown[:30] + "…"
    return (f'<a href="{escape(url)}" rel="nofollow noopener noreferrer" target="_blank">'
            f'<span class="invisible"></span><span class="ellipsis">{escape(short)}</span></a>')


def render(text: str, base: str, known_handles: set[str]) -> str:
    """HTML for ``text``; ``@handle`` becomes a mention link only for accounts in ``known_handles``."""
    tokens: list[tuple[int, int, str]] = []
    for m in _URL_RE.finditer(text):
        tokens.append((m.start(), m.end(), _link(m.group(0), base)))

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in tokens)

    for m in MENTION_RE.finditer(text):
        handle = m.group(1).lower()
        if handle in known_handles and free(m.start(), m.end()):
            tokens.append((m.start(), m.end(), f'<span class="h-card"><a href="{escape(base)}/@{handle}" '
                                               f'class="u-url mention">@<span>{escape(handle)}</span></a></span>'))
    for m in HASHTAG_RE.finditer(text):
        tag = m.group(1)
        if not tag.isdigit() and free(m.start(), m.end()):
            tokens.append((m.start(), m.end(), f'<a href="{escape(base)}/tags/{escape(tag.lower())}" '
                                               f'class="mention hashtag" rel="tag">#<span>{escape(tag)}</span></a>'))
    tokens.sort()
    out, pos = [], 0
    for start, end, html in tokens:
        out.append(escape(text[pos:start]))
        out.append(html)
        pos = end
    out.append(escape(text[pos:]))
    joined = "".join(out)
    paragraphs = [p for p in re.split(r"\n{2,}", joined.strip()) if p]
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs)
