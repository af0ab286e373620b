"""What a hashtag may be made of: word characters and the combining marks that many scripts write
inside words (Bengali and Hindi vowel signs, for instance, are marks, not letters, so Python's
``\\w`` alone would cut ``#বাংলা`` short). One class, shared by the parser that stores tags, the
search that looks them up and the templates that link them."""

from __future__ import annotations

import unicodedata

# Unicode assigns combining marks only in planes 0 and 1 and in the variation-selector block of plane 14.
_PLANES = (range(0x20000), range(0xE0000, 0xE0200))


def _mark_ranges() -> str:
    """A regex character-class body for every combining mark (categories Mn, Mc, Me)."""
    ranges: list[tuple[int, int]] = []
    for code in (c for plane in _PLANES for c in plane):
        if unicodedata.category(chr(code))[0] == "M":
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\U{a:08x}-\\U{b:08x}" if a != b else f"\\U{a:08x}" for a, b in ranges)


# A character class: [\w plus every combining mark].
TAG_CHAR = "[\\w" + _mark_ranges() + "]"
