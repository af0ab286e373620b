"""Words for checking creator-AI replies: sentences, content words, and text normalised for matching.

A *content word* is a word that carries meaning on its own: not a stop word (English, Spanish,
Bengali), not a hashtag, mention or link, not a greeting or filler. Numbers and times count
("19:58", "3-2"). Matching is on a light stem (plural and -ing/-ed endings dropped, accents kept
apart), so "climbs" and "climbing" meet.
"""

from __future__ import annotations

import re
import unicodedata

# Small, hand-written stop lists: the function words of each language and the chat filler that
# carries no topic ("hi", "thanks", "please", "lol").
_EN = """a about above after again against all also am an and any are aren't as at be because been before
being below between both but by can can't could couldn't did didn't do does doesn't doing don't down during
each few for from further had hadn't has hasn't have haven't having he he'd he'll he's her here here's hers
herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself just let's me
more most mustn't my myself no nor not of off on once only or other ought our ours ourselves out over own
same shan't she she'd she'll she's should shouldn't so some such than that that's the their theirs them
themselves then there there's these they they'd they'll they're they've this those through to too under
until up very was wasn't we we'd we'll we're we've were weren't what what's when when's where where's which
while who who's whom why why's will with won't would wouldn't you you'd you'll you're you've your yours
yourself yourselves u ur r ya yo im ive dont doesnt didnt cant wont isnt whats thats youre tell know
say said says like really ever still get got go going gonna wanna want please thanks thank hi hey hello
hiya yeah yes ok okay cool great nice lol haha bye right mind kindly share would could let us much many
one thing things anything something stuff lot also maybe well oh ah um btw pls plz thx sure just""".split()
_ES = """a al algo algunas algunos ante antes como con contra cual cuales cuando de del desde donde dos el
ella ellas ellos en entre era eres es esa ese eso esta estas este esto estos fue ha hay la las le les lo los
mas me mi mis muy nada ni no nos o os otra otro para pero poco por porque que qué quien se sea ser si sin
sobre son su sus también te tengo ti tiene tu tus un una uno unos y ya yo cuál cómo dónde cuándo hola
gracias favor usas usa tienes haces""".split()
_BN = """আমি আমার আমরা তুমি তোমার আপনি আপনার সে তার এই ওই কি কী কোন কোথায় কেন কখন কিভাবে কীভাবে এবং ও আর
না হয় হয়ে ছিল আছে করো করেন করে করি সবসময় যে থেকে জন্য দিয়ে সাথে""".split()
STOP_WORDS = frozenset(_EN + _ES + _BN)

_INNER_BREAK = re.compile(r"[,;!?()\[\]{}\"/…।¿¡+=&|<>]+")
_URL = re.compile(r"https?://\S+|www\.\S+")
_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "–": "-",
                         "—": "-"})
_SENTENCE_END = re.compile(r"(?<=[.!?।])\s+|\n+")


def normalise(text: str) -> str:
    """Text as compared for "verbatim": Unicode-normalised, case-folded, one kind of quote and
    dash, spaces collapsed. Nothing else is forgiven."""
    text = unicodedata.normalize("NFKC", text or "").translate(_QUOTES).casefold()
    return " ".join(text.split())


def tokens(text: str) -> list[str]:
    """Words of ``text`` in lower case, outer punctuation dropped (hashtags and mentions kept; "19:58",
    "3-2" and "don't" stay whole; Bengali vowel signs stay inside their word)."""
    out = []
    for chunk in _URL.sub(" ", normalise(text)).split():
        for part in _INNER_BREAK.split(chunk):
            lead = part[:1] if part[:1] in "#@" else ""
            core = part.lstrip("#@").strip(".:-'_*~")
            if core and any(ch.isalnum() for ch in core):
                out.append(lead + core)
    return out


def stem(word: str) -> str:
    """A light stem: "climbing"/"climbed"/"climbs" -> "climb", "stories" -> "story"."""
    word = word.strip("'")
    if word.endswith("'s"):
        word = word[:-2]
    if len(word) > 5 and word.endswith("ing"):
        return word[:-3]
    if len(word) > 4 and word.endswith("ed"):
        return word[:-2]
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def content_words(text: str, extra_stop: frozenset[str] = frozenset()) -> list[str]:
    """Stemmed content words of ``text``, in order (duplicates kept)."""
    out = []
    for token in tokens(text):
        if token[0] in "#@" or token in STOP_WORDS or token in extra_stop or stem(token) in extra_stop:
            continue
        if len(token) < 2 and not token.isdigit():
            continue
        out.append(stem(token))
        if "-" in token and not any(ch.isdigit() for ch in token):  # "open-source" is "open" and "source" too
            out.extend(stem(part) for part in token.split("-") if len(part) > 1 and part not in STOP_WORDS)
    return out


def sentences(text: str) -> list[str]:
    """The sentences (and lines) of ``text``, stripped, verbatim otherwise."""
    return [s.strip() for s in _SENTENCE_END.split(text or "") if s and s.strip()]


def strip_trailing_tags(sentence: str) -> str:
    """``sentence`` without hashtags and mentions at its end (still a verbatim piece of it)."""
    return re.sub(r"(\s+[#@][\w]+)+\s*$", "", sentence).strip()
