"""What a request's text offers as argument values: words, phrases (spans) and numbers.

``Request.of(text)`` reads a user's message once; the grounders (``grounders.py``) ask it for spans of
words, numbers with their readings, and the words around each. Nothing here knows about any tool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

# --- numbers --------------------------------------------------------------------------------------------

NUMBER_WORDS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
    "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100,
    "thousand": 1000, "dozen": 12,
}
_NUMBER_RE = re.compile(r"(?<![\w.])(-\s?)?[$€£]?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+(?:[eE][-+]?\d+)?|[eE][-+]?\d+)?(%)?"
                        r"(?:(K|M|B|bn)\b|\s?(thousand|million|billion)\b)?")
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "bn": 1e9, "thousand": 1e3, "million": 1e6, "billion": 1e9}
# What may stand between two numbers of one list: "12, 24 and 36", "[1, 2, 3]", "2nd, 3rd and 4th".
_LIST_GAP = re.compile(r"(?:st|nd|rd|th)?[\s,;\[\]()&/:%$]*(?:(?:and|or)[\s,;\[\]()$]*)?", re.I)


@dataclass
class Number:
    """One number written in the request: where, its readings (``5%`` -> 5 and 0.05), and how."""

    start: int
    end: int
    readings: list[float]
    percent: bool = False
    group: int = 0  # numbers written together as a list share a group
    in_date: bool = False  # part of a written date ("March 3, 2021")
    in_formula: bool = False  # a coefficient or a power inside a formula ("3x^2 + 2")

    @property
    def value(self) -> float:
        return self.readings[0]


def _number_matches(text: str):
    """Digit numbers; "[200,300,400]" is a list, not two hundred million: digit groups right after a
    bracket are split."""
    for match in _NUMBER_RE.finditer(text):
        digits = match.group(2)
        if "," in digits and match.start() > 0 and text[match.start() - 1] in "[(":
            offset = match.start(2)
            for part in digits.split(","):
                yield from _NUMBER_RE.finditer(text, offset, offset + len(part))
                offset += len(part) + 1
        else:
            yield match


def read_numbers(text: str) -> list[Number]:
    """Numbers written with digits (``1,200``, ``-3``, ``1e-9``, ``5%``, ``1.2M``, ``3 million``) and with
    number words ("five", "a dozen"), in order of appearance."""
    from townsquare.llm.values import date_spans

    dates = date_spans(text)
    formulas = [(m.start(), m.end()) for m in formula_matches(text)]
    found: list[Number] = []
    previous_end = None
    for match in _number_matches(text):
        sign, digits, decimals, percent, suffix, word = match.groups()
        value = float(digits.replace(",", "") + (decimals or "")) * (-1 if sign else 1)
        # "1.2M" is scaled; "298K" may also be kelvin
        readings = [value * _SCALE[word or suffix]] if word or suffix else [value]
        if suffix == "K":
            readings.append(value)
        if percent:
            readings.append(value / 100)
        together = previous_end is not None and _LIST_GAP.fullmatch(text[previous_end:match.start()])
        group = found[-1].group if together and found else (found[-1].group + 1 if found else 0)
        in_date = any(a <= match.start() and match.end() <= b for a, b in dates)
        in_formula = any(a <= match.start() and match.end() <= b for a, b in formulas)
        found.append(Number(match.start(), match.end(), readings, bool(percent), group, in_date, in_formula))
        previous_end = match.end()
    for match in re.finditer(r"[A-Za-z]+", text):
        word = match.group(0).lower()
        if word in NUMBER_WORDS:
            found.append(Number(match.start(), match.end(), [float(NUMBER_WORDS[word])], group=-1 - len(found)))
    found.sort(key=lambda n: n.start)
    return found


# A formula written in a request: "3x^2 + 2x - 1", "y = 2x + 1", "f(x) = x**3".
_TERM = r"[A-Za-z0-9.^*/()]+"
_FORMULA_RE = re.compile(rf"{_TERM}(?:\s*[-+*/=^]\s*{_TERM})*")
_LEFT_SIDE = re.compile(r"^\s*(?:[a-z]\s*\(\s*[a-z]\s*\)|[a-z])\s*=\s*")  # "y =", "f(x) ="


def formula_matches(text: str) -> list[re.Match]:
    """Formulas: a run of terms with a single-letter variable next to a digit or an operator ("3x^2",
    "x + 1", "2*x**3"); plain words and plain numbers are not formulas."""
    out = []
    for match in _FORMULA_RE.finditer(text):
        body = match.group(0)
        # a variable next to a digit counts only for x, y, z ("3x"); "1.75m" and "10s" are units
        if re.search(r"(?<![A-Za-z])[a-z](?![A-Za-z])", body) and re.search(r"\d[x-z]\b|[a-z]\s*(?:\^|\*\*)|[-+*/^=]", body) \
                and not re.fullmatch(r"[\d\s.,+\-*/=%]+", body) and len(re.findall(r"[A-Za-z]{2,}", body)) == 0:
            right = _LEFT_SIDE.sub("", body)
            if right == body or re.search(r"[a-z]", right):  # "x = 2" assigns a number: no formula
                out.append(match)
    return out


def formulas_in(text: str) -> list[str]:
    """The formulas of ``text`` without their left-hand side ("f(x) = 3x^2" -> "3x^2"); an assignment of a
    number ("x = 2") is no formula."""
    found = []
    for match in formula_matches(text):
        found.append(_LEFT_SIDE.sub("", match.group(0).strip(" .")))
    return list(dict.fromkeys(found))


def format_number(value: float) -> int | float:
    """An integer when the value is whole (JSON ``5``, not ``5.0``)."""
    return int(value) if float(value).is_integer() and abs(value) < 1e16 else float(value)


# --- words and spans ------------------------------------------------------------------------------------

_QUOTE_MARK = re.compile(r"`|(?<![A-Za-z])['‘’]|['‘’](?![A-Za-z])")  # not an apostrophe inside a word
_WORD_CHARS = re.compile(r"[^\s\"“”()\[\]{}<>?!;]+")
_EDGE = ".,:'’"
_QUOTED_TEXT = [re.compile(r'["“]([^"”]{1,200})["”]'),
                re.compile(r"(?<![A-Za-z])['‘`](.{1,200}?)['’`](?![A-Za-z])")]
_GAP = re.compile(r"[ \t,:.\-/&]*")  # what may stand between two words of one span

# A value never starts with a preposition or conjunction ("in New York") nor ends with a word that
# needs a continuation ("... with parcel number 1234 in").
NO_START_WORDS = {"in", "at", "for", "with", "from", "to", "of", "by", "on", "into", "onto", "about", "than", "as",
                  "under", "over", "between", "within", "via", "per", "and", "or", "but", "if", "that", "which"}
# Nor with a verb of being or doing, or a quantity word ("is the fastest", "much revenue").
_NO_START_ALSO = {"is", "are", "was", "were", "be", "been", "am", "do", "does", "did", "much", "many", "some", "any"}
NO_END_WORDS = NO_START_WORDS | {"the", "a", "an", "is", "are", "was", "were", "be", "my", "your", "his", "her",
                                 "its", "our", "their", "this", "these", "those", "some", "any", "each", "every",
                                 "not", "no"}
PRONOUNS = {"me", "us", "him", "them", "it", "you", "i"}  # never a value, nor the start of one
# Words that open a request or a question: at the start of a sentence they never begin a value.
REQUEST_WORDS = {
    "find", "get", "give", "show", "tell", "list", "search", "look", "fetch", "retrieve", "provide", "calculate",
    "compute", "determine", "identify", "predict", "estimate", "generate", "create", "make", "check", "convert",
    "analyze", "analyse", "locate", "plot", "draw", "book", "order", "buy", "send", "play", "set", "please",
    "can", "could", "would", "will", "may", "should", "is", "are", "was", "were", "do", "does", "did",
    "what", "what's", "who", "who's", "whom", "whose", "when", "where", "which", "why", "how", "i", "i'm", "i'd",
    "i'll", "include", "also", "and", "then", "now", "let", "let's", "help", "need", "want", "use", "return",
}


def plain(text: str) -> str:
    """Lowercase letters and digits, single-spaced: for comparing values."""
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


def words_of(text: str) -> list[str]:
    """Lowercase words, with snake_case and camelCase names split."""
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    return re.findall(r"[a-z0-9']+", text.lower())


def same_word(a: str, b: str) -> bool:
    """The same word up to an ending: "toll"/"tolls", "detail"/"detailed" (words with digits: exactly)."""
    if re.search(r"\d", a + b):
        return a == b
    shorter = min(len(a), len(b))
    common = 0
    while common < shorter and a[common] == b[common]:
        common += 1
    return common == len(a) == len(b) or (common >= 4 and common >= 0.75 * shorter)


_QUANTITY = re.compile(r"\s(?:by|for|of|at|in|to|from|with|per|over|under|about|after|within)\s+[-$€£]?\d[\d,.]*"
                       r"\s?%?(?:\s|$)", re.I)


def whole_phrase(span: str) -> bool:
    """Whether a span can be a value: not led by a preposition, a conjunction, a pronoun or a lowercase
    article, not ending on one, not running past a comma into a new phrase (", with ...")."""
    written = re.findall(r"[A-Za-z0-9']+", span)
    words = [w.lower() for w in written]
    if words and words[0] in NO_START_WORDS | PRONOUNS | _NO_START_ALSO:
        return False
    if words and words[-1] in NO_END_WORDS and not (len(words) > 1 and written[-1] in ("A", "An", "The")):
        return False  # "product A" is a name; "product a" and "the" at the end are not
    if re.match(r"(?:the|a|an|my|your|our|their|his|its) ", span):  # "the river" is "river"; "The Hague" a name
        return False
    if _QUANTITY.search(span):
        return False  # "A by 10%", "Blue Moon for 20 minutes": a quantity phrase ends the name before it
    after_commas = [re.findall(r"[A-Za-z']+", part.lower())[:1] for part in span.split(", ")[1:]]
    return not any(first and first[0] in NO_START_WORDS for first in after_commas)


@dataclass
class Request:
    """A user's message, read once: its words (with positions), spans and numbers."""

    text: str
    positions: list[tuple[int, int]] = field(default_factory=list)

    @classmethod
    def of(cls, text: str) -> Request:
        masked = _QUOTE_MARK.sub(" ", text)
        positions = []
        for match in _WORD_CHARS.finditer(masked):
            start, end = match.start(), match.end()
            while start < end and masked[start] in _EDGE:
                start += 1
            while end > start and masked[end - 1] in _EDGE:
                end -= 1
            if start < end:
                positions.append((start, end))
        return cls(text=text, positions=positions)

    @property
    def words(self) -> list[str]:
        return [self.text[a:b] for a, b in self.positions]

    @cached_property
    def lower_words(self) -> list[str]:
        return words_of(self.text)

    @cached_property
    def numbers(self) -> list[Number]:
        return read_numbers(self.text)

    def words_before(self, at: int, count: int, stop: int = 0) -> list[str]:
        """Up to ``count`` lowercase words before position ``at`` (not before ``stop``)."""
        return words_of(self.text[stop:at])[-count:]

    def words_after(self, at: int, count: int) -> list[str]:
        return words_of(self.text[at:])[:count]

    def spans(self, max_words: int = 8) -> list[str]:
        """Runs of up to ``max_words`` consecutive words, as written (inner punctuation kept: "St. Louis",
        "Rock & Roll"), that can be a value (``whole_phrase``), plus the parts of hyphenated words and
        quoted text of any length. A span never crosses a quote, a bracket, "?", "!" or a new sentence."""
        return list(self._spans(max_words))

    def _spans(self, max_words: int) -> dict[str, None]:
        text, positions = self.text, self.positions
        spans: dict[str, None] = {}
        for pattern in _QUOTED_TEXT:
            spans.update((q.strip(), None) for q in pattern.findall(text) if q.strip())
        for i, (start, end) in enumerate(positions):
            if text[start:end].lower() in REQUEST_WORDS and re.fullmatch(r"(?:.*[.?!:]\s*)?\W*", text[:start], re.S):
                continue  # "Show me ...", "Who ...": the request's own first word is no value
            for j in range(i, min(len(positions), i + max_words)):
                gap = text[positions[j - 1][1]:positions[j][0]] if j > i else ""
                if j > i and not _GAP.fullmatch(gap):
                    break
                if j > i and re.search(r"[.:]\s", gap) and text[positions[j][0]].isupper():
                    break  # a new sentence
                span = text[start:positions[j][1]]
                if whole_phrase(span):
                    spans[span] = None
                    if text[positions[j][1]:positions[j][1] + 1] in ("?", "!"):
                        spans[span + text[positions[j][1]]] = None  # a question or an exclamation, as written
                if re.search(r"['’]s$", span) and len(span) > 2 and whole_phrase(span[:-2]):
                    spans[span[:-2]] = None  # a possessive: "Ana's" -> "Ana"
        for a, b in positions:
            if "-" in text[a:b] and not re.fullmatch(r"[\d\-.]+", text[a:b]):
                spans.update((part, None) for part in text[a:b].split("-") if part)
        return spans

    def spans_after(self, cue_words: set[str], max_words: int = 8) -> list[str]:
        """The spans that start right after one of ``cue_words`` (or after it and "the")."""
        starts: set[int] = set()
        for k in range(1, len(self.positions)):
            a, b = self.positions[k - 1]
            if self.text[a:b].lower() in cue_words:
                starts.add(self.positions[k][0])
                if self.text[slice(*self.positions[k])].lower() == "the" and k + 1 < len(self.positions):
                    starts.add(self.positions[k + 1][0])
        return [span for span in self.spans(max_words) if any(self.text.startswith(span, s) for s in starts)]
