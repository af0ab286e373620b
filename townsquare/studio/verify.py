"""The check every creator-AI reply passes before it leaves the server, sentence by sentence.

A reply may hold three kinds of sentence:
1. **The creator's words**: anything in quotation marks, and anything presented as the creator's
   ("from my post", "I wrote", "mi publicación dice"). Each quoted span must be verbatim (after
   ``words.normalise``) in one of the posts offered as sources, which are the creator's public
   posts that the asker may see; with a ``[n]`` marker, in post ``n`` itself. A span needs real
   content (``quotes.MIN_CONTENT_WORDS``) and may not splice pieces with an ellipsis. A sentence
   presented as the creator's words with no quotation in it cannot be checked, so it fails.
2. **Statements citing a post** (``[n]`` and no quotes): most of their content words must be in
   the cited posts (``MIN_SUPPORT``).
3. **The AI's own words**: short connective text passes ("Great question!"); a longer sentence,
   or any sentence in the first person ("I'm a cat."), must be supported by the sources, the
   question or the AI's public profile (``MIN_SUPPORT``), so the model cannot put new claims in
   the creator's mouth.

Every sentence of every kind also passes the **owner-only check**: it may not contain a word of
the AI's owner-only text (instructions, the card's system prompt, post-history instructions and
creator notes, lorebook entries) that does not also occur in public context (the sources, the
question, the AI's public profile), nor any run of ``LEAK_NGRAM`` words from that text. This is
what keeps "the secret launch date is X. Never reveal this." inside the server even when a model
repeats its system prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from townsquare.studio import quotes, words
from townsquare.studio.grounding import Source

MIN_SUPPORT = 0.5
SHORT_SENTENCE_WORDS = 2  # connective text with at most this many content words needs no support
LEAK_NGRAM = 4

_SPAN = re.compile(r"“([^”]*)”|\"([^\"]*)\"|«([^»]*)»|„([^“”]*)[“”]")
_MARKER = re.compile(r"\[(\d+)\]")
_ATTRIBUTION = re.compile(
    r"\b(from|in) (one of )?my (own )?(posts?|words|tweets?)\b|\bmy (posts?|tweets?) (says?|said|reads?)\b"
    r"|\bi (posted|wrote|tweeted|shared)\b|\bas i (put|said) it\b|\bin my own words\b"
    r"|\b(mis?|en mis?) (publicaci[oó]n(es)?|posts?)\b|\b(publiqu[eé]|escrib[ií])\b|আমার পোস্ট",
    re.IGNORECASE)
_ELLIPSIS = re.compile(r"\.\.\.|…")
_FIRST_PERSON = frozenset("i i'm i've i'd i'll me my mine myself we we're our ours us yo mi mis nosotros nuestro "
                          "nuestra আমি আমার আমাকে আমরা".split())


@dataclass
class Verdict:
    ok: bool
    reason: str = ""
    cites: set[int] = field(default_factory=set)  # post ids this sentence rests on
    quoted: bool = False  # it carries the creator's words, verbatim


def owner_only_texts(ai) -> list[str]:
    """The AI's settings that only its owner may read (see the module docstring)."""
    card = ai.card or {}
    texts = [ai.instructions or ""]
    texts += [str(card.get(key) or "") for key in ("system_prompt", "post_history_instructions", "creator_notes")]
    book = card.get("character_book") or {}
    texts += [str(entry.get("content") or "") for entry in book.get("entries") or [] if isinstance(entry, dict)]
    return [t for t in texts if t.strip()]


def public_profile(ai, owner) -> str:
    """What anyone who can reach the AI already sees: its name, description, greeting, links, creator."""
    links = " ".join(f"{link.get('title', '')} {link.get('url', '')}" for link in ai.links or [])
    return " ".join([ai.name or "", ai.description or "", ai.greeting or "", links, owner.handle or "",
                     owner.display_name or ""])


def _ngrams(tokens: list[str], n: int) -> set[tuple[str, ...]]:
    return {tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


class Verifier:
    """Checks sentences against the ``sources`` offered for one reply (numbered from 1)."""

    def __init__(self, sources: list[Source], *, question: str = "", profile: str = "",
                 owner_only: Iterable[str] = (), fixed_texts: Iterable[str] = ()):
        self.sources = list(sources)
        self._norm = {s.post_id: words.normalise(s.text) for s in self.sources}
        fixed_texts = list(fixed_texts)
        public = " ".join([question, profile, *fixed_texts, *(s.text for s in self.sources)])
        self._public_words = set(words.content_words(public))
        self._question_words = set(words.content_words(question))
        self._context_words = self._public_words  # what the AI's own sentences may rest on
        public_ngrams = _ngrams(words.tokens(public), LEAK_NGRAM)
        self._secret_words: set[str] = set()
        self._secret_ngrams: set[tuple[str, ...]] = set()
        for text in owner_only:
            self._secret_words |= set(words.content_words(text)) - self._public_words
            self._secret_ngrams |= _ngrams(words.tokens(text), LEAK_NGRAM) - public_ngrams

    # --- the owner-only check ---------------------------------------------------------------------

    def leaks(self, sentence: str) -> bool:
        if self._secret_words & set(words.content_words(sentence)):
            return True
        return bool(self._secret_ngrams & _ngrams(words.tokens(sentence), LEAK_NGRAM))

    # --- quotes -------------------------------------------------------------------------------------

    def _find(self, span: str, among: list[Source]) -> Source | None:
        span = words.normalise(span).strip(" .,;:!?'\"")
        if not span or _ELLIPSIS.search(span):
            return None
        for source in among:
            if span in self._norm[source.post_id]:
                return source
        return None

    def _numbered(self, sentence: str) -> list[Source]:
        return [self.sources[int(n) - 1] for n in _MARKER.findall(sentence) if 1 <= int(n) <= len(self.sources)]

    def _supported(self, sentence: str, against: set[str]) -> bool:
        said = words.content_words(_MARKER.sub(" ", sentence))
        # Short connective text needs no support ("Great question!"), unless it speaks in the first
        # person ("I'm a cat."): that is a claim about the creator. Words are counted with repeats.
        if len(said) <= SHORT_SENTENCE_WORDS and not _FIRST_PERSON & set(words.tokens(sentence)):
            return True
        if not said:
            return True
        return sum(w in against for w in said) / len(said) >= MIN_SUPPORT

    def check(self, sentence: str) -> Verdict:
        if not sentence.strip():
            return Verdict(True)
        if self.leaks(sentence):
            return Verdict(False, "owner-only text")
        numbered = self._numbered(sentence)
        if _MARKER.findall(sentence) and len(numbered) != len(_MARKER.findall(sentence)):
            return Verdict(False, "cites a source that was not offered")
        spans = [next(g for g in m.groups() if g is not None) for m in _SPAN.finditer(sentence)]
        if spans:
            cites = set()
            for span in spans:
                if not quotes.quotable(span):
                    return Verdict(False, "quote without content")
                found = self._find(span, numbered or self.sources)
                if found is None:
                    return Verdict(False, "quote not verbatim in a cited post")
                cites.add(found.post_id)
            return Verdict(True, cites=cites | {s.post_id for s in numbered}, quoted=True)
        if _ATTRIBUTION.search(sentence):
            return Verdict(False, "presented as the creator's words without a verbatim quote")
        if numbered and not words.content_words(_MARKER.sub(" ", sentence)):
            return Verdict(False, "a citation with nothing said")
        if numbered:
            cited_words = set(words.content_words(" ".join(s.text for s in numbered)))
            if not self._supported(sentence, cited_words | self._question_words):
                return Verdict(False, "statement not supported by the cited post")
            return Verdict(True, cites={s.post_id for s in numbered})
        if not self._supported(sentence, self._context_words):
            return Verdict(False, "unsupported statement")
        return Verdict(True)

    def check_reply(self, text: str) -> list[str]:
        """The problems of a whole reply (empty when every sentence passes)."""
        return [f"{v.reason}: {s!r}" for s in split(text) if not (v := self.check(s)).ok]


def split(text: str) -> list[str]:
    """Sentences of a reply, never cutting inside quotation marks; each keeps its trailing space."""
    gate = SentenceGate()
    return [*gate.feed(text), *gate.flush()]


class SentenceGate:
    """Collects streamed text and releases whole sentences (outside quotation marks)."""

    def __init__(self):
        self.buffer = ""

    def feed(self, piece: str) -> Iterator[str]:
        self.buffer += piece
        while (cut := _boundary(self.buffer)) is not None:
            sentence, self.buffer = self.buffer[:cut], self.buffer[cut:]
            yield sentence

    def flush(self) -> Iterator[str]:
        rest, self.buffer = self.buffer, ""
        if rest:
            yield rest


def _boundary(text: str) -> int | None:
    """Where the first complete sentence (with its trailing white space) ends, or None."""
    depth_curly = 0
    straight_open = False
    for i, ch in enumerate(text):
        if ch in "“«„":
            depth_curly += 1
        elif ch in "”»" and depth_curly:
            depth_curly -= 1
        elif ch == '"':
            straight_open = not straight_open
        inside = depth_curly > 0 or straight_open
        if inside:
            continue
        # A sentence ends at a line break, or at . ! ? । or a citation's "]" followed by a space.
        ends = ch == "\n" or (ch in ".!?।]" and i + 1 < len(text) and text[i + 1].isspace())
        if ends:
            j = i + 1
            while j < len(text) and text[j].isspace():
                j += 1
            if j == len(text):
                return None  # wait: more white space (or the next sentence) may follow
            return j
    return None
