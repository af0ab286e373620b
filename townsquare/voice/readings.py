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

How surely is the intent model's mean score over the request's clauses. Typed requests never come
here.
"""

from __future__ import annotations

from townsquare.assistant.understand import understand

CLEARER_BY = 0.05  # intent-score margin a less likely reading needs to replace the likelier one


def assess(ctx, text: str) -> tuple[int, float]:
    """How much of ``text`` the assistant can act on (2, 1 or 0, see above) and how surely."""
    plan = understand(ctx, text)
    level = 2 if plan.calls and not plan.clarify else 1 if plan.clarify or plan.calls else 0
    sureness = sum(c.score for c in plan.clauses) / len(plan.clauses) if plan.clauses else 0.0
    return level, sureness


def choose(ctx, readings: list[str]) -> str:
    """The reading to answer: the likeliest, unless a later one is more actionable and surer."""
    if len(readings) < 2:
        return readings[0] if readings else ""
    best_level, top_sureness = assess(ctx, readings[0])
    best = readings[0]
    for reading in readings[1:]:
        if best_level == 2:
            break  # nothing can be more actionable
        level, sureness = assess(ctx, reading)
        if level > best_level and sureness > top_sureness + CLEARER_BY:
            best, best_level = reading, level
    return best
