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

Between readings the assistant can act on equally, the one that names more of what the app and the
community know wins over a likelier one (``known``): "Follow Grace Kim" over "Paula Grace Kim",
"find posts about jazz" over "... about Jess" where #jazz is a tag here, "post 308" over "post 3008"
where only 308 exists. A request to the app is made of the app's words and the community's names.

Readings the beam did not hold are proposed too, a misheard name or command put right
(``voice/soundalikes.py``), and kept when Whisper, made to read the same speech that way, finds
them at most ``SOUND_ALIKE_COST`` less likely than the reading they came from. Typed requests never
come here.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import func, select

from townsquare.assistant.people import people_named
from townsquare.assistant.understand import Understanding, understand
from townsquare.social.models import Hashtag
from townsquare.social.reactions import REACTION_KINDS
from townsquare.voice import soundalikes
from townsquare.voice.vocabulary import APP_WORDS

CLEARER_BY = 0.05  # intent-score margin a less likely reading needs to replace the likelier one
SOUND_ALIKE_COST = 8.0  # log-probability a correction may lose against the reading it corrects (each)
CORRECTED = 3  # the likeliest readings that sound-alike corrections are proposed for
# The app's own words: its commands (as the speech prompt has them) and its reactions.
APP_TERMS = frozenset([w.lower() for w in re.findall(r"[A-Za-z]+", APP_WORDS) if len(w) >= 4]
                      + list(REACTION_KINDS) + ["upvote", "repost", "react"])
_EXACTLY = ("mention", "handle", "name", "spoken handle")  # how people_named found someone, exactly


def assess(plan: Understanding) -> tuple[int, float]:
    """How much of a request the assistant can act on (2, 1 or 0, see above) and how surely, from its
    understanding of the request."""
    level = 2 if plan.calls and not plan.clarify else 1 if plan.clarify or plan.calls else 0
    sureness = sum(c.score for c in plan.clauses) / len(plan.clauses) if plan.clauses else 0.0
    return level, sureness


def _dictated(plan: Understanding) -> list[str]:
    """The words a request dictates or describes (a post's text, a topic, a question), not commands."""
    said = [c.content for c in plan.clauses if c.content]
    said += [v for call in plan.calls for v in call.arguments.values() if isinstance(v, str) and " " in v.strip()]
    return said


def known(ctx, text: str, plan: Understanding | None = None) -> int:
    """How many things ``text`` names that the app or this community has: the app's words where they
    command (not in what is dictated: "Publish, back timeline ..." names no command more than "Publish,
    back online ..."), people the person may see (exactly), the community's hashtags, and whether the
    numbers it says are all posts the person may see."""
    commanding = text
    for words in _dictated(plan or understand(ctx, text)):
        commanding = commanding.replace(words, " ")
    count = sum(w.lower() in APP_TERMS for w in re.findall(r"[^\W\d_]+", commanding))
    count += sum(n.how in _EXACTLY for n in people_named(ctx, text))
    tags = {w.lower() for w in re.findall(r"[^\W\d_]{3,}", text)}
    if tags:
        count += ctx.session.scalar(select(func.count()).select_from(Hashtag).where(Hashtag.name.in_(tags))) or 0
    # All or nothing: "post 630 8" (two posts that exist) names no more than "post 638".
    numbers = {int(n) for n in re.findall(r"\b\d{1,9}\b", text)}
    if numbers:
        count += soundalikes.visible_post_ids(ctx, numbers) == numbers
    return count


def with_corrections(ctx, readings: list[str], rescore: Callable[[list[str]], list[float]]) -> list[str]:
    """``readings`` with, after each of the likeliest, its sound-alike corrections and its words
    without punctuation that Whisper finds nearly as likely a reading of the speech (and the
    corrections made together, when several are)."""
    out: list[str] = []
    for n, reading in enumerate(readings):
        out.append(reading)
        if n >= CORRECTED:
            continue
        fixes = [fix for fix in soundalikes.corrections(ctx, reading) if fix.applied(reading) not in readings]
        plain = soundalikes.unpunctuated(reading)
        texts = [fix.applied(reading) for fix in fixes] + ([plain] if plain not in readings else [])
        if not texts:
            continue
        source, *scores = rescore([reading, *texts])
        kept = sorted([(score, text) for score, text in zip(scores, texts, strict=True)
                       if score >= source - SOUND_ALIKE_COST], key=lambda kept: -kept[0])
        out += [text for _, text in kept]
        kept_texts = {text for _, text in kept}
        both = soundalikes.together(reading, [fix for fix in fixes if fix.applied(reading) in kept_texts])
        if both is not None and rescore([both[0]])[0] >= source - SOUND_ALIKE_COST * both[1]:
            out.append(both[0])
    return list(dict.fromkeys(out))


def choose(ctx, readings: list[str], rescore: Callable[[list[str]], list[float]] | None = None) -> str:
    """The reading to answer: the likeliest, unless a later one is more actionable and surer, or as
    actionable and names more of what the app and the community know. ``rescore`` (Whisper's score of
    any reading of the speech, ``asr.Transcript.rescore``) lets sound-alike corrections compete."""
    if rescore is not None and readings:
        readings = with_corrections(ctx, readings, rescore)
    if len(readings) < 2:
        return readings[0] if readings else ""
    plans: dict[str, Understanding] = {}

    def plan_of(reading: str) -> Understanding:
        if reading not in plans:
            plans[reading] = understand(ctx, reading)
        return plans[reading]

    def level_of(reading: str) -> tuple[int, float]:
        return assess(plan_of(reading))

    best = readings[0]
    best_level, top_sureness = level_of(best)
    best_known = None
    for reading in readings[1:]:
        if best_level < 2:
            level, sureness = level_of(reading)
            if level > best_level and sureness > top_sureness + CLEARER_BY:
                best, best_level, best_known = reading, level, None
                continue
        if best_level == 0:
            continue  # chat: the model answers it, and a named thing changes no tool's argument
        best_known = known(ctx, best, plan_of(best)) if best_known is None else best_known
        names = known(ctx, reading, plan_of(reading))
        if names > best_known and level_of(reading)[0] == best_level:
            best, best_known = reading, names
    return best
