"""Which of Whisper's readings of a spoken request the person said.

Whisper's beam holds several readings of the same audio, likeliest first (``asr.Transcript.readings``).
Its mistakes on requests to the app are sound-alikes in the very words that carry the request: "post
476, why?" heard as "Host 476, why?", "posts about it" as "pulse about it", a name as a common word.
The likeliest reading then asks for nothing the app can do, while a reading almost as likely does.
Someone talking to the app is more likely asking it for something than saying a sentence that
merely sounds like a request, so a less likely reading is taken when the assistant can act on more of
it and it reads as a request more surely (by ``CLEARER_BY``) than the likelier reading reads as what
it is: a weak sound-alike request never replaces a clear remark ("I spent too much time online" is
not a catch-up). How much the assistant can act on is read by its own understanding
(``assistant/understand.py``), the same that plans the turn:

    2  it plans calls for the whole request (every tool it asks for has what it needs)
    1  it asks for a tool but lacks something, such as which post ("like it" with nothing found)
    0  it asks for no tool (a question or chat for the model to answer)

How surely is the intent model's mean score over the request's clauses.

Between readings the assistant can act on equally, a topic decides: a reading that names more of the
community's hashtags wins over a likelier one ("find posts about jazz" over "... about Jess" where
#jazz is a tag here), as what people ask about is mostly what their community talks about. Typed
requests never come here.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select

from townsquare.assistant.understand import understand
from townsquare.social.models import Hashtag

CLEARER_BY = 0.05  # intent-score margin a less likely reading needs to replace the likelier one


def assess(ctx, text: str) -> tuple[int, float]:
    """How much of ``text`` the assistant can act on (2, 1 or 0, see above) and how surely."""
    plan = understand(ctx, text)
    level = 2 if plan.calls and not plan.clarify else 1 if plan.clarify or plan.calls else 0
    sureness = sum(c.score for c in plan.clauses) / len(plan.clauses) if plan.clauses else 0.0
    return level, sureness


def community_tags(ctx, text: str) -> int:
    """How many of the words of ``text`` are hashtags of this community."""
    words = {w.lower() for w in re.findall(r"[^\W\d_]{3,}", text)}
    if not words:
        return 0
    return ctx.session.scalar(select(func.count()).select_from(Hashtag).where(Hashtag.name.in_(words))) or 0


def choose(ctx, readings: list[str]) -> str:
    """The reading to answer: the likeliest, unless a later one is more actionable and surer, or as
    actionable and names more of the community's hashtags."""
    if len(readings) < 2:
        return readings[0] if readings else ""
    assessed: dict[str, tuple[int, float]] = {}

    def level_of(reading: str) -> tuple[int, float]:
        if reading not in assessed:
            assessed[reading] = assess(ctx, reading)
        return assessed[reading]

    best = readings[0]
    best_level, top_sureness = level_of(best)
    best_tags = None
    for reading in readings[1:]:
        if best_level < 2:
            level, sureness = level_of(reading)
            if level > best_level and sureness > top_sureness + CLEARER_BY:
                best, best_level, best_tags = reading, level, None
                continue
        if best_level == 0:
            continue  # chat: the model answers it, and a topic word changes no tool's argument
        best_tags = community_tags(ctx, best) if best_tags is None else best_tags
        tags = community_tags(ctx, reading)
        if tags > best_tags and level_of(reading)[0] == best_level:
            best, best_tags = reading, tags
    return best
