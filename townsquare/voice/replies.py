"""Spoken answers to a question the assistant asked: "yes, post it", "go ahead", "cancel", "no".

With no screen, the confirmation of a side effect is said, not tapped. Only a short utterance that
is clearly a yes or clearly a no counts as an answer; anything longer, or with both, is a new
request (and the pending action stays pending, still visible in the person's activity).
"""

from __future__ import annotations

import re

MAX_ANSWER_WORDS = 8

_NO = re.compile(r"\b(no|nope|nah|cancel|don'?t|do not|stop|never ?mind|forget (it|that)|abort|not now|"
                 r"scratch that|discard)\b")
_YES = re.compile(r"\b(yes|yeah|yep|yup|sure|ok|okay|confirm(ed)?|correct|right|go ahead|please do|"
                  r"that'?s (it|right|fine|good)|sounds good|absolutely|affirmative)\b")
# Saying what to do is a yes too, unless negated ("post it" vs "don't post it").
_DO_IT = re.compile(r"\b(do it|post it|send it|publish( it)?|follow (them|him|her))\b")


def answer(utterance: str) -> str | None:
    """``"yes"``, ``"no"`` or None (not an answer to a confirmation)."""
    words = re.findall(r"[\w']+", utterance.lower())
    if not words or len(words) > MAX_ANSWER_WORDS:
        return None
    text = " ".join(words)
    said_no, said_yes = bool(_NO.search(text)), bool(_YES.search(text))
    if said_no and not said_yes:
        return "no"
    if not said_no and (said_yes or _DO_IT.search(text)):
        return "yes"
    return None


_POST_THIS = re.compile(r"\b(post|share|publish|upload)\b.{0,20}\b(this|that|it|photo|picture|pic|image|shot)\b",
                        re.IGNORECASE)
_CAPTION = re.compile(r"\b(?:caption(?:ed)?|saying|that says|with the text|and say)\b[\s:,]*(?:it\s+)?(.+)$",
                      re.IGNORECASE)


def wants_photo_post(utterance: str) -> bool:
    """A request to post the photo just taken ("post this", "share this picture with a caption ...")."""
    return bool(_POST_THIS.search(utterance))


def spoken_caption(utterance: str) -> str:
    """The caption said with "post this": "post this with the caption sunset at the pier" -> the rest."""
    match = _CAPTION.search(utterance.strip())
    if not match:
        return ""
    caption = match.group(1).strip().strip("\"'“”").rstrip(".").strip()
    return caption[:1:].upper() + caption[1:] if caption else ""
