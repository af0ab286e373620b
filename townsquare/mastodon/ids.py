"""Status ids. Mastodon has one kind of status; Townsquare has posts, comments, reposts and direct
messages, each numbered in its own table. Each gets its own range of status ids, so they never
collide and every id says what it is:

| range | what | example |
|---|---|---|
| 1 .. 10^17 - 1 | a post: its own id (the same as in the native API and on its page) | ``42`` |
| 10^17 + n | comment n | ``100000000000000007`` |
| 2 x 10^17 + n | repost n (a reblog) | ``200000000000000003`` |
| 3 x 10^17 + n | direct message n | ``300000000000000012`` |

Mastodon's own ids are 18-digit numbers too, so clients that treat ids as numeric strings are at home.
"""

from __future__ import annotations

from typing import Literal

from townsquare.errors import NotFound

SPAN = 10**17
Kind = Literal["post", "comment", "repost", "message"]
KINDS: tuple[Kind, ...] = ("post", "comment", "repost", "message")


def status_id(kind: Kind, n: int) -> str:
    return str(KINDS.index(kind) * SPAN + int(n))


def parse_status_id(raw: object) -> tuple[Kind, int]:
    """``(kind, row id)`` of a status id; NotFound for anything else (as for an unknown status)."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 19:
        raise NotFound("Record not found")
    number = int(text)
    kind, n = divmod(number, SPAN)
    if n == 0 or kind >= len(KINDS):
        raise NotFound("Record not found")
    return KINDS[kind], n


def parse_plain_id(raw: object, what: str = "Record") -> int:
    """An account, media, notification or conversation id (a positive 64-bit integer); else 404."""
    text = str(raw if raw is not None else "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18 or int(text) <= 0:
        raise NotFound("Record not found")
    return int(text)
