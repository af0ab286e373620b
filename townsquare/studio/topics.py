"""Topics a creator's AI must avoid: the creator's own words, widened with a built-in lexicon of
sensitive topic families, so "politics" also catches "who are you voting for?".

A creator's topic joins a family when they share a word, or when MiniLM finds the topic close to
the family's name. A message is about an avoided topic when it contains one of the topic's own
words or one of its families' terms (whole words or phrases, case-insensitive), or when it is very
close to the topic in embedding space.
"""

from __future__ import annotations

import re
from functools import lru_cache

FAMILY_SIMILARITY = 0.5
MESSAGE_SIMILARITY = 0.55
_STOPWORDS = {"about", "with", "that", "this", "your", "their", "what", "from", "have", "into", "anything",
              "things", "stuff", "topic", "topics", "talk", "other", "people", "my", "and", "the"}

FAMILIES: dict[str, tuple[str, ...]] = {
    "politics and elections": (
        "politics", "political", "politician", "election", "elections", "vote", "voting", "voted", "ballot",
        "political party", "parliament", "congress", "senate", "senator", "president", "prime minister", "government",
        "left wing", "right wing", "liberal", "conservative", "democrat", "republican", "campaign", "policy",
        "tax law", "referendum", "minister", "mayor"),
    "religion and faith": (
        "religion", "religious", "god", "gods", "church", "mosque", "temple", "synagogue", "pray", "prayer",
        "faith", "bible", "quran", "torah", "atheist", "spiritual", "worship", "jesus", "allah", "believe in"),
    "diet, weight and body": (
        "diet", "diets", "dieting", "keto", "paleo", "calorie", "calories", "weight", "lose weight", "weight loss",
        "fasting", "bmi", "carbs", "body fat", "slim", "fat"),
    "dating and relationships": (
        "relationship", "relationships", "dating", "date", "boyfriend", "girlfriend", "partner", "husband", "wife",
        "married", "marriage", "divorce", "single", "crush", "love life", "engaged", "spouse", "ex",
        "seeing anyone", "seeing someone", "in love"),
    "money and income": (
        "money", "salary", "income", "earn", "earnings", "paid", "wage", "wages", "rich", "net worth", "savings",
        "saved", "debt", "invest", "investments", "how much do you make", "pay"),
    "health and medical": (
        "health", "illness", "sick", "disease", "medication", "medicine", "diagnosis", "surgery", "therapy",
        "mental health", "doctor", "hospital", "symptoms"),
    "sex and intimacy": ("sex", "sexual", "sexy", "nude", "nudes", "intimate", "porn"),
    "drugs and alcohol": ("drugs", "drug", "alcohol", "drunk", "weed", "cannabis", "cocaine", "drinking", "beer",
                          "wine"),
    "family": ("family", "parents", "mother", "father", "mom", "dad", "kids", "children", "siblings", "brother",
               "sister"),
    "where I live": ("address", "where do you live", "where you live", "home address", "neighbourhood",
                     "neighborhood"),
    "age": ("age", "how old", "birthday", "born"),
}


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _keywords(topic: str) -> list[str]:
    """The topic's meaningful words; short ones ("my ex") only when it has no longer word."""
    words = [w for w in _words(topic) if w not in _STOPWORDS]
    return [w for w in words if len(w) >= 4] or [w for w in words if len(w) >= 2]


@lru_cache(maxsize=256)
def triggers(topic: str) -> tuple[str, ...]:
    """The topic's own words plus the terms of the families it belongs to."""
    own = _keywords(topic)
    terms = set(own)
    joined = set(own)
    names = list(FAMILIES)
    for name in names:
        family_words = set(_words(name)) | {t for t in FAMILIES[name] if " " not in t}
        if joined & family_words:
            terms.update(FAMILIES[name])
    if not joined & {w for name in names for w in _words(name) + [t for t in FAMILIES[name] if " " not in t]}:
        from townsquare.llm.embeddings import embed_texts

        vectors = embed_texts([topic, *names])
        for name, score in zip(names, vectors[1:] @ vectors[0], strict=True):
            if score >= FAMILY_SIMILARITY:
                terms.update(FAMILIES[name])
    return tuple(sorted(terms))


def _contains(text: str, term: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(term) + r"(?![a-z0-9])", text) is not None


def matching_topic(topics: list[str], message: str, settings=None) -> str | None:
    """The first avoided topic ``message`` is about, or None."""
    if not topics:
        return None
    text = " ".join(_words(message))
    for topic in topics:
        if topic.lower() in message.lower() or any(_contains(text, term) for term in triggers(topic)):
            return topic
    from townsquare.llm.embeddings import embed_texts

    vectors = embed_texts([message, *topics], settings=settings)
    scores = vectors[1:] @ vectors[0]
    best = int(scores.argmax())
    return topics[best] if scores[best] >= MESSAGE_SIMILARITY else None
