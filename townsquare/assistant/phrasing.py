"""Normalising how people write before the assistant decides what they asked for.

Each rule serves a class of requests, not a phrasing:

- **other digit systems**: Bengali (and other Unicode) digits read as 0-9 ("পোস্ট ১২" is post 12);
- **texting shorthand**: common chat abbreviations ("pls", "ppl", "abt", "notifs", "rn", "u");
- **typos in the app's own words**: a word that is no English word and is one or two edits from
  one of the app's trigger words (search, follow, comment, notifications, ...) is read as that word
  ("serch", "follw", "commnet", "notifcations"); real words are never changed ("most" stays);
- **the app's vocabulary in Spanish and Bengali**: the few words that name the app's actions
  ("sigue a", "me gusta", "পোস্ট", "ফলো") are glossed in English for intent selection only
  (arguments are always taken from the person's own words).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from pathlib import Path

# The app's own words: verbs and nouns that say which tool is meant.
TRIGGER_WORDS = (
    "search", "find", "look", "show", "posts", "post", "people", "person", "follow", "following", "unfollow",
    "followers", "comment", "comments", "reply", "replies", "like", "love", "react", "reaction", "heart",
    "publish", "share", "draft", "write", "caption", "notifications", "notification", "suggest", "recommend",
    "accounts", "account", "timeline", "feed", "explain", "summary", "summarise", "about", "saying", "says",
    "messages", "mentions", "wrote", "written", "upvote", "please", "thanks", "what", "why", "who", "whose",
    "someone", "something", "anything", "everyone", "anybody", "recent", "latest", "new",
)

SHORTHAND = {
    "pls": "please", "plz": "please", "plox": "please", "ppl": "people", "abt": "about", "bout": "about",
    "notifs": "notifications", "notif": "notification", "rn": "right now", "u": "you", "ur": "your",
    "y": "why", "wat": "what", "wut": "what", "whats": "what's", "wats": "what's", "thx": "thanks", "ty": "thank you",
    "msgs": "messages", "msg": "message", "tl;dr": "summary", "tldr": "summary", "fb": "feedback",
    "b4": "before", "pic": "photo", "pics": "photos", "acct": "account", "accts": "accounts", "r": "are",
    "n": "and", "sth": "something", "smth": "something", "bc": "because", "cuz": "because", "idk": "I don't know",
    "imo": "in my opinion", "lmk": "let me know", "tmrw": "tomorrow", "2day": "today", "2nite": "tonight",
    # contractions written without their apostrophe (typed in a hurry, or as speech recognition writes)
    "howd": "how'd", "whys": "why's", "wheres": "where's", "whos": "who's", "hows": "how's", "dont": "don't",
    "didnt": "didn't", "doesnt": "doesn't", "isnt": "isn't", "im": "I'm", "ive": "I've", "youre": "you're",
}

# Spanish and Bengali words for the app's actions, glossed for intent selection.
GLOSSES = [
    # Spanish (longer phrases first)
    ("deja de seguir a", "unfollow"), ("dejar de seguir a", "unfollow"), ("deja de seguir", "unfollow"),
    ("gente que sigo", "people I follow"), ("gente q sigo", "people I follow"),
    ("personas que sigo", "people I follow"), ("a quién debería seguir", "who should I follow"),
    ("a quien deberia seguir", "who should I follow"), ("a quién sigo", "who should I follow"),
    ("por qué veo", "why do I see"), ("por que veo", "why do I see"), ("qué hay de nuevo", "what's new"),
    ("de qué trata", "what is it about"), ("de que trata", "what is it about"),
    ("quién escribió", "who wrote"), ("quien escribio", "who wrote"), ("me ha respondido", "replied to me"),
    ("me han respondido", "replied to me"), ("dale me gusta", "like"), ("dale like", "like"),
    ("me gusta", "like"), ("hazme un borrador", "draft a post"), ("borrador", "draft post"),
    ("novedades", "what's new"), ("notificaciones", "notifications"), ("publicaciones", "posts"),
    ("publicación", "post"), ("publicacion", "post"), ("comentarios", "comments"), ("comenta", "comment"),
    ("publica", "publish"), ("postea", "publish"), ("busca", "search"), ("buscar", "search"),
    ("sigue a", "follow"), ("seguir a", "follow"), ("muéstrame", "show me"), ("mostrar", "show"),
    ("mostrarme", "show me"), ("sobre", "about"), ("gracias", "thanks"), ("hay algo de", "anything about"),
    ("algo de", "something about"), ("alguien", "anyone"), ("por aquí", "here"), ("por aqui", "here"),
    ("oye", "hey"), ("qué", "what"), ("quién", "who"), ("por favor", "please"), ("porfa", "please"),
    # Bengali
    ("আনফলো", "unfollow"), ("ফলো", "follow"), ("পোস্টের খসড়া", "draft a post"), ("খসড়া", "draft"),
    ("নোটিফিকেশন", "notifications"), ("মন্তব্য", "comment"), ("প্রকাশ করো", "please publish"),
    ("প্রকাশ", "publish"), ("পোস্ট", "post"), ("খুঁজে দাও", "please search"), ("খুঁজে", "search"),
    ("খুঁজ", "search"), ("সম্পর্কে", "about"), ("নিয়ে", "about"), ("দেখাবেন", "show"), ("দেখাও", "show"),
    ("দেখো", "please check"), ("নতুন কী", "what's new"), ("খবর", "news"), ("ফিডের", "feed"), ("ফিড", "feed"),
    ("কে লিখেছে", "who wrote"), ("লিখেছে", "wrote"), ("কী বলছে", "what does it say"),
    ("লাইক", "like"), ("লাভ", "love"), ("রিঅ্যাক্ট", "react"), ("ধন্যবাদ", "thanks"), ("আর", "and"),
    ("অনুগ্রহ করে", "please"), ("কেউ কিছু", "anyone anything"), ("কেউ", "anyone"), ("কিছু", "some"),
    ("কী হলো", "what happened"), ("হলো", "happened"), ("কী", "what"), ("কে", "who"), ("আমার", "my"),
    ("বলো", "please tell me"), ("দাও", "please give me"), ("দিন", "please give"), ("করো", "please do"),
    ("লিখে দাও", "please write"), ("প্লিজ", "please"), ("করতে চাই", "I want to"), ("চাই", "I want"),
]


def ascii_digits(text: str) -> str:
    """Digits of any script as 0-9."""
    return "".join(str(unicodedata.digit(c)) if c.isdigit() and not c.isascii() else c for c in text)


@lru_cache(maxsize=1)
def english_words() -> frozenset[str]:
    """Whole words of the bundled MiniLM vocabulary: a list of real (mostly English) words, so that a
    typo fix never changes a word that exists. Empty when the model is not installed."""
    try:
        from townsquare.llm.embeddings import bundled_model_dir

        vocab = Path(bundled_model_dir()) / "vocab.txt"
        words = vocab.read_text(encoding="utf-8").split()
    except Exception:  # no bundled model: typo fixes then rely on the edit distance alone
        return frozenset()
    return frozenset(w for w in words if w.isalpha() and not w.startswith("##") and len(w) > 1)


def edit_distance(a: str, b: str, cap: int = 3) -> int:
    """Damerau-Levenshtein distance (adjacent swaps count once), stopping early past ``cap``."""
    if abs(len(a) - len(b)) > cap:
        return cap + 1
    previous2, previous = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb))
            if previous2 is not None and i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], previous2[j - 2] + 1)
        if min(current) > cap:
            return cap + 1
        previous2, previous = previous, current
    return previous[-1]


def _allowed_edits(word: str) -> int:
    return 1 if len(word) <= 6 else 2


def fix_typo(word: str) -> str:
    """The trigger word a misspelt word stands for, or the word itself."""
    low = word.lower()
    if len(low) < 3 or not low.isalpha() or low in TRIGGER_WORDS or low in english_words():
        return word
    best, best_distance = word, _allowed_edits(low) + 1
    for trigger in TRIGGER_WORDS:
        distance = edit_distance(low, trigger, cap=best_distance)
        if distance < best_distance and distance <= _allowed_edits(trigger):
            best, best_distance = trigger, distance
    return best


_TOKEN = re.compile(r"tl;dr|[\w']+|[^\w\s]", re.UNICODE)


def normalise(text: str) -> str:
    """The request with digits, shorthand and typos of the app's words fixed (English words kept)."""
    text = ascii_digits(text)

    def word(m: re.Match) -> str:
        token = m.group(0)
        low = token.lower()
        if low in SHORTHAND:
            return SHORTHAND[low]
        return fix_typo(token)

    return re.sub(r"tl;dr|[A-Za-z][\w']*", word, text)


def gloss(text: str) -> str:
    """The request with the app's Spanish and Bengali words glossed in English (for intent selection)."""
    out = text
    for phrase, english in _GLOSS_PATTERNS:
        out = phrase.sub(f" {english} ", out)
    return " ".join(out.split())


def latin_only(text: str) -> str:
    """The text without words in other scripts (what an English embedding model can read)."""
    kept = [w for w in text.split() if not re.search(r"[\u0900-\u0DFF]", w)]
    return " ".join(kept)


def _gloss_pattern(phrase: str) -> re.Pattern:
    # Bengali words take suffixes ("পোস্টটা", "পোস্টের"): match their start; Latin words match whole.
    end = r"(?!\w)" if phrase[-1].isascii() or phrase[-1] in "áéíóúñ" else ""
    return re.compile(r"(?<!\w)" + re.escape(phrase) + end, re.IGNORECASE)


_GLOSS_PATTERNS = [(_gloss_pattern(p), e) for p, e in sorted(GLOSSES, key=lambda g: -len(g[0]))]
