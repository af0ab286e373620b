"""The words of a creator AI's replies: verbatim quotes, the "not posted" answer, greetings, and the
gate that lets a model's streamed text out one checked sentence at a time.

Fixed phrases come in the asker's language (English, Spanish, Bengali; English otherwise). They
speak as the AI ("I'm …, an AI") and never as the creator's words.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from townsquare.studio import verify, words
from townsquare.studio.quotes import Quote

_ES_HINTS = frozenset("qué cuál cómo dónde cuándo tu tus te el la los las de del es en un una y por para "
                      "con mi me has hay".split())

PHRASES = {
    "en": {"from_one": "From my post:", "from_many": "From my posts:", "and": "and",
           "not_posted": "I haven't posted about that, so I won't guess. (I'm {name}, an AI: I only answer "
                         "with @{handle}'s own public posts.)",
           "hello": "Hi! I'm {name}, an AI made by @{handle}. Ask me about something they've posted."},
    "es": {"from_one": "De mi publicación:", "from_many": "De mis publicaciones:", "and": "y",
           "not_posted": "No he publicado nada sobre eso, así que no voy a adivinar. (Soy {name}, una IA: "
                         "solo respondo con las publicaciones públicas de @{handle}.)",
           "hello": "¡Hola! Soy {name}, una IA creada por @{handle}. Pregúntame por algo que haya publicado."},
    "bn": {"from_one": "আমার পোস্ট থেকে:", "from_many": "আমার পোস্টগুলো থেকে:", "and": "এবং",
           "not_posted": "আমি এ বিষয়ে কিছু পোস্ট করিনি, তাই অনুমান করব না। (আমি {name}, একটি AI: শুধু "
                         "@{handle}-এর নিজের পাবলিক পোস্ট দিয়ে উত্তর দিই।)",
           "hello": "হ্যালো! আমি {name}, @{handle}-এর তৈরি একটি AI। তাঁর কোনো পোস্ট নিয়ে জিজ্ঞেস করুন।"},
}


def language(text: str) -> str:
    """``bn`` for Bengali script, ``es`` when Spanish function words or marks dominate, else ``en``."""
    if re.search(r"[\u0980-\u09FF]", text):
        return "bn"
    tokens = words.tokens(text)
    spanish = sum(t in _ES_HINTS for t in tokens) + 2 * bool(re.search(r"[¿¡ñ]", text))
    english = sum(t in {"the", "you", "your", "what", "do", "is", "and", "of", "a", "to", "in"} for t in tokens)
    return "es" if spanish > english else "en"


def fixed_texts(ai, owner) -> list[str]:
    """Every fixed phrase the AI may say, filled in (public by construction)."""
    return [p.format(name=ai.name, handle=owner.handle) if "{" in p else p
            for phrases in PHRASES.values() for p in phrases.values()]


def not_posted_phrases(ai, owner) -> list[str]:
    return [PHRASES[lang]["not_posted"].format(name=ai.name, handle=owner.handle) for lang in PHRASES]


def model_history(history: list[dict], fixed: list[str]) -> list[dict]:
    """The conversation as the model sees it: exchanges that ended in a fixed phrase (not posted,
    greeting, decline) are left out, as a small model copies them into answers that have sources."""
    fixed_norm = {words.normalise(f) for f in fixed}
    kept: list[dict] = []
    for message in history:
        if message.get("role") == "assistant" and words.normalise(message.get("content", "")) in fixed_norm:
            if kept and kept[-1].get("role") == "user":
                kept.pop()
            continue
        kept.append(message)
    return kept


def not_posted(ai, owner, lang: str) -> str:
    return PHRASES[lang]["not_posted"].format(name=ai.name, handle=owner.handle)


def hello(ai, owner, lang: str) -> str:
    return (ai.greeting or "").strip() or PHRASES[lang]["hello"].format(name=ai.name, handle=owner.handle)


def _quoted(text: str) -> str:
    for left, right in (("“", "”"), ("«", "»"), ("„", "“")):
        if left not in text and right not in text:
            return f"{left}{text}{right}"
    return f"“{text.replace('“', '').replace('”', '')}”"  # cannot happen with real posts; still verifiable


def quoted_answer(picked: list[Quote], lang: str, numbers: list[int] | None = None) -> str:
    """``From my post: “…” [1]`` (or two quotes), numbered 1, 2 or by ``numbers``."""
    phrases = PHRASES[lang]
    numbers = numbers or list(range(1, len(picked) + 1))
    parts = [f"{_quoted(q.text)} [{n}]" for n, q in zip(numbers, picked, strict=True)]
    lead = phrases["from_one"] if len(parts) == 1 else phrases["from_many"]
    return f"{lead} " + f" {phrases['and']} ".join(parts)


def gated(pieces: Iterator[str], verifier: verify.Verifier, rejected: list[str],
          contradicting: list[str] = ()) -> Iterator[tuple[str, verify.Verdict]]:
    """The sentences of a streamed model answer that pass ``verifier``, each as soon as it is whole,
    with its verdict (the posts it rests on, whether it quotes); the rejected ones are appended to ``rejected`` (never shown). A
    sentence that opens like one of ``contradicting`` (the "not posted" phrases, when there are
    sources) is rejected too."""
    gate = verify.SentenceGate()

    said: set[str] = set()

    def judged(sentences):
        for sentence in sentences:
            if words.normalise(sentence) in said:  # small models loop: say a sentence once
                rejected.append(f"repeated: {sentence.strip()!r}")
                continue
            if any(words.normalise(p)[:40] in words.normalise(sentence) for p in contradicting):
                rejected.append(f"says it has not posted, with sources: {sentence.strip()!r}")
                continue
            verdict = verifier.check(sentence)
            if verdict.ok:
                said.add(words.normalise(sentence))
                yield sentence, verdict
            else:
                rejected.append(f"{verdict.reason}: {sentence.strip()!r}")

    for piece in pieces:
        yield from judged(gate.feed(piece))
    yield from judged(gate.flush())
