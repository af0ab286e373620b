"""Choosing what a creator AI may quote: verbatim sentences of the creator's visible public posts that
carry real content and answer the question.

Candidates are the sentences of the retrieved posts (``grounding.find_sources``), trailing hashtags
cut off. A sentence is *quotable* when it has at least ``MIN_CONTENT_WORDS`` content words (so a
line of hashtags, "Lol" or "Cute!!" never is). It is *relevant* when

    relevance = W_SENTENCE * sim(question, sentence) + W_POST * sim(question, post)
                + W_OVERLAP * share of the question's content words found in the post

is at least ``MIN_RELEVANCE`` (MiniLM cosine similarities; the word overlap carries questions in
languages MiniLM does not read, such as Bengali, when they use the post's own words). The
weights and the threshold were tuned on the dev half of ``bench studio`` only.

The quote is the whole post (trailing hashtags cut) when it is short (``SHORT_POST_CHARS``), as
posts are written to be read whole; otherwise the most relevant sentence. Either way it is one
contiguous, verbatim piece of the post.

A second quote from another post is added for questions that ask for more than one thing: only
when it is relevant too and covers question words that the first quote's post does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from townsquare.studio import words
from townsquare.studio.grounding import Source

MIN_CONTENT_WORDS = 2
W_SENTENCE = 0.4
W_POST = 0.3
W_OVERLAP = 0.3
MIN_RELEVANCE = 0.30
MAX_QUOTES = 2
SHORT_POST_CHARS = 280


@dataclass(frozen=True)
class Quote:
    text: str  # verbatim from the post
    source: Source
    relevance: float


def quotable(sentence: str) -> bool:
    return len(set(words.content_words(sentence))) >= MIN_CONTENT_WORDS


def candidates(source: Source) -> list[str]:
    out = []
    for sentence in words.sentences(source.text):
        sentence = words.strip_trailing_tags(sentence)
        if sentence and quotable(sentence):
            out.append(sentence)
    return out


def overlap(question_words: set[str], text: str) -> float:
    if not question_words:
        return 0.0
    return len(question_words & set(words.content_words(text))) / len(question_words)


def _embed(texts: list[str], settings) -> np.ndarray:
    from townsquare.llm.embeddings import embed_texts

    return embed_texts(texts, settings=settings)


def rank(question: str, sources: list[Source], *, settings=None,
         ignore: frozenset[str] = frozenset()) -> list[Quote]:
    """Every quotable sentence of ``sources`` with its relevance, best first (the best per post)."""
    pool = [(source, sentence) for source in sources for sentence in candidates(source)]
    if not pool:
        return []
    asked = set(words.content_words(question, ignore))
    vectors = _embed([question] + [sentence for _, sentence in pool], settings)
    sims = vectors[1:] @ vectors[0]
    best: dict[int, Quote] = {}
    for (source, sentence), sim in zip(pool, sims, strict=True):
        score = (W_SENTENCE * float(sim) + W_POST * source.score + W_OVERLAP * overlap(asked, source.text))
        if source.post_id not in best or score > best[source.post_id].relevance:
            best[source.post_id] = Quote(sentence, source, score)
    for post_id, quote in best.items():
        whole = words.strip_trailing_tags(quote.source.text.strip())
        if len(whole) <= SHORT_POST_CHARS:
            best[post_id] = Quote(whole, quote.source, quote.relevance)
    return sorted(best.values(), key=lambda q: -q.relevance)


def pick(question: str, sources: list[Source], *, settings=None, ignore: frozenset[str] = frozenset(),
         min_relevance: float | None = None) -> list[Quote]:
    """The quotes that answer ``question`` (none when nothing relevant was posted)."""
    threshold = MIN_RELEVANCE if min_relevance is None else min_relevance
    ranked = [q for q in rank(question, sources, settings=settings, ignore=ignore) if q.relevance >= threshold]
    if not ranked:
        return []
    chosen = [ranked[0]]
    asked = set(words.content_words(question, ignore))
    covered = asked & set(words.content_words(ranked[0].source.text))
    for quote in ranked[1:]:
        if len(chosen) >= MAX_QUOTES:
            break
        new = (asked - covered) & set(words.content_words(quote.source.text))
        if new:
            chosen.append(quote)
            covered |= new
    return chosen
