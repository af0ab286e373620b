"""Understanding a request before any tool is chosen: what is asked, about whom, about which post.

For models too small to pick tools and fill arguments reliably (the bundled 135M model), the
assistant reads the request itself, in steps that each serve a class of requests:

1. **Quoted and dictated text is set aside** (``"..."``, or what follows "post:" / "saying"), so
   that words to publish are copied exactly and never read as instructions or split apart.
2. **Normalising** (``phrasing.py``): other digit systems, texting shorthand, typos in the app's
   own words; the app's Spanish and Bengali words glossed for intent selection.
3. **Clauses**: multi-part requests ("catch me up and check my notifications", "Who should I
   follow for jazz? Oh, and find posts about it too") are split at conjunctions and sentence ends;
   a piece that only names more targets ("... @ana and @ben", "posts 12 and 13") stays with its
   clause, whose action then applies to each target.
4. **Intent** of each clause by similarity to examples of each tool (``intents.py``), with people
   and quoted text replaced by placeholders; ``chat`` (thanks, small talk, general knowledge)
   needs no tool.
5. **Arguments from the app's own data and the person's words**, never from a small model's free
   text: post numbers, people by @handle, handle or display name (``people.py``), topics, the
   text to publish, a reaction. A clause that refers back ("it", "them", "that post") takes the
   topic, person or post of the clause before; "follow whoever wrote post 12" is the post's author.
6. **Safety**: a side effect is only planned from a clause phrased as a request (not from a
   statement such as "there's a person I follow, Ana"), and "publish" without the words to
   publish becomes a draft. The agent loop still turns every side effect into a confirmation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from townsquare.assistant import phrasing
from townsquare.assistant.intents import CHAT, intent_model
from townsquare.assistant.people import Named, people_named
from townsquare.errors import TownsquareError

SIDE_EFFECTS = {"publish_post", "comment_on_post", "follow", "unfollow", "react_to_post"}
POST_TOOLS = {"explain_post", "ask_about_post", "comment_on_post", "react_to_post"}
MIN_INTENT_SCORE = 0.30  # below it a clause asks for nothing the tools do

_QUOTE = re.compile(r"[\"“”«»]([^\"“”«»]{1,500})[\"“”«»]|(?<![\w])['‘]([^'‘’]{1,300}?)['’](?=[\s.,!?;:)]|$)")
_COLON_CONTENT = re.compile(r"^(?P<lead>[^:]{1,80}?):\s+(?P<content>.+)$", re.DOTALL)
# A spoken command starts a sentence or follows a comma ("..., so please post it, ..."), after words
# that only make it polite.
_COMMAND_START = r"(?:^|,\s*(?:so\s+|and\s+|then\s+)?)"
_COURTESY = r"(?:(?:please|pls|kindly|ok|okay|so|now|just|go ahead and|can you|could you|would you)[,\s]+)*"
# Speech recognition writes a dictating colon as a comma ("Post, running late, sorry all"): a bare
# publishing command before the comma (its only other words say where and to whom it goes) dictates
# what follows. "Post something about my trip, make it funny" names a subject: it dictates nothing.
_COMMA_CONTENT = re.compile(
    rf"{_COMMAND_START}{_COURTESY}"
    r"(?:post|publish|share|tweet|announce)"
    r"(?:\s+(?:a post|a status|an update|this|that|it|for me|now|please|publicly|to everyone|"
    r"(?:to|with|for) (?:all )?my followers(?: only)?|(?:to|with|for) followers(?: only)?|followers[- ]only|"
    r"on my (?:feed|profile|timeline)))*"
    r"\s*,\s+(?P<content>(?!#?\d|about\b).+)$", re.IGNORECASE | re.DOTALL)  # "post, 12" and "post, about" name
_COMMENT_COMMA = re.compile(
    rf"{_COMMAND_START}{_COURTESY}"
    r"(?:comment|reply|respond|(?:leave|add|write|drop|post)\s+(?:a|this|the|my)\s+(?:comment|reply))"
    r"(?:\s+(?:on|to|in|under))?(?:\s+(?:their|the|that|this|his|her))?\s+(?:(?:posts?\s*)?#?\d+|it|that one|this one)"
    r"(?:\s+(?:with|saying))?\s*,\s+(?P<content>.+)$", re.IGNORECASE | re.DOTALL)
# Where unquoted dictated words stop: ", on post 12", ", on it", ", on the top result". A post named
# by number or rank is never words of a comment, even without the comma; "on it" needs the comma.
_ON = r"on\s+(?:their\s+|the\s+|his\s+|her\s+|that\s+|this\s+|my\s+)?"
_NAMED_TARGET = _ON + r"(?:posts?\s*#?\d+(?:\s+and\s+#?\d+)*|the top result|the first one|the first result)"
_POST_TARGET = _ON + r"(?:(?:posts?\s*)?#?\d+(?:\s+and\s+#?\d+)*|it|that|this|that one|this one|the top result|" \
                     r"the first one|the first result)"
_TRAILING_TARGET = re.compile(rf"(?:,\s+{_POST_TARGET}|\s+{_NAMED_TARGET})[\s.!?]*$", re.IGNORECASE)
# "comment congrats, on post 12", "drop a see you there, on 12": the words, then where they go; a post
# named by number or rank ends them without the comma ("comment see you there on post 12"). Words that
# describe a comment rather than say it ("something funny", "to Maya") are no dictation.
_CONTENT_BEFORE_TARGET = re.compile(
    rf"^{_COURTESY}(?:comment|drop|leave|write|reply|say)"
    rf"(?:\s+(?:a|an))?\s+(?P<content>(?!(?:a |an )?(?:comment|reply|note|message)\b|(?:something|anything|to|on)\b)"
    rf"[^,]+?)(?=(?:,\s+{_POST_TARGET}|\s+{_NAMED_TARGET})[\s.!?]*$)",
    re.IGNORECASE)
_CONTENT_VERBS = re.compile(r"\b(post|publish|share|comment|reply|respond|tweet|announce|write|say|caption|"
                            r"publica|postea|comenta|প্রকাশ|মন্তব্য)\w*", re.IGNORECASE)
_POST_NUMBER = re.compile(r"(?:\bposts?\b|\bpublicaci[oó]n\b|পোস্ট|#)\s*(?:#|no\.?|number)?\s*(\d{1,12})\b"
                          r"|\b(\d{1,12})\b", re.IGNORECASE)
# "the last 3 hours", and "three hours" as people say it (and speech recognition writes it).
_NUMBER_WORDS = {w: i for i, w in enumerate("zero one two three four five six seven eight nine ten eleven twelve "
                                            "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
                                            .split())} | {"a couple of": 2, "a few": 3, "an": 1, "a": 1}
# A span of time a catch-up covers: "the last 3 hours", "the past two days", "the last week".
_SPAN = re.compile(r"\b(?:(\d{1,3}|" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) +
                   r")\s*|(?<=\bpast |\blast ))(hours?|hrs?|h|days?|weeks?)\b", re.IGNORECASE)
_SPAN_HOURS = {"h": 1, "d": 24, "w": 24 * 7}
# ... read by the intent model as "lately": "catch me up on the past 2 days" asks for no topic "past".
_SPAN_PHRASE = re.compile(r"(?:\b(?:on|for|over|in|from|during)\s+)?(?:the\s+)?\b(?:past|last)\s+(?:\w+\s+)?"
                          r"(?:hours?|hrs|days?|weeks?)\b", re.IGNORECASE)
_FOLLOWED_ONLY = re.compile(r"\b(?:people|accounts|folks|friends|persons?|those|ones|anyone|ppl)\s+(?:that\s+|who\s+)?"
                            r"i(?:'m| am)?\s+(?:actually\s+)?follow(?:ing)?\b|\bpeople i follow\b|\bmy follows\b|"
                            r"\bi follow\b.*\bonly\b|\bonly\b.*\bi follow\b|\bfrom (?:my )?(?:friends|follows)\b|"
                            r"gente que sigo|gente q sigo|personas que sigo", re.IGNORECASE)
_FOLLOWERS_ONLY = re.compile(r"\bfollowers[- ]only\b|\bonly (?:to |for |with )?my followers\b|"
                             r"\bmy followers only\b|\bjust (?:to |for |with )?my followers\b|\bsolo (?:para )?mis seguidores\b",
                             re.IGNORECASE)
_SPLIT = re.compile(r"(?<=[.?!])\s+(?=\S)|;\s*|\s*,?\s+(?:and then|then|and also|also|plus|and|y|e|আর|এবং)\s+",
                    re.IGNORECASE)
# Speech recognition puts a comma after a spoken command's first word ("Find, posts about ...",
# "Like, post 12") and after "post" when the speaker pauses ("Explain, post, 12"): it means nothing.
_COMMA_AFTER_VERB = re.compile(r"(?:^|(?<=[.?!]\s))((?:please\s+)?(?:find|search|look up|draft|like|heart|love|"
                               r"follow|unfollow|comment|reply|publish|post|share|show|tell|read|catch|explain|"
                               r"react|upvote|write))\s*,\s+|\b(posts?)\s*,\s+(?=#?\d|about\b)", re.IGNORECASE)
_LEAD_FILLER = re.compile(r"^(?:(?:oh|ok|okay|so|and|also|then|plus|but|y|aparte)[,!]?\s+)+", re.IGNORECASE)
_INTERJECTION = re.compile(r"^(?:oh|ok|okay|so|also|well|and|plus|hey|yeah|um|uh|hmm)[\s,!.?]*$", re.IGNORECASE)
_PRONOUN_TOPIC = re.compile(r"^(?:it|that|this|them|those|these|the same|that topic|eso|ello)$", re.IGNORECASE)
_THEM = re.compile(r"\b(them|him|her|they|their|that person|this person|whoever)\b", re.IGNORECASE)
_THAT_POST = re.compile(r"\b(it|that post|this post|that one|this one|the post|the top result|the first)\b",
                        re.IGNORECASE)
_REQUEST = re.compile(r"(?:^|[,;:.!?]\s*|\bso\s+)(?:please\s+|pls\s+|kindly\s+|just\s+|go ahead and\s+|now\s+)*(?:follow|unfollow|"
                      r"like|love|heart|react|comment|reply|respond|post(?!\s*#?\d)|publish|share|tweet|announce|drop|add|"
                      r"remove|stop|start|give|leave|put|tell|upvote|make|send|write|subscribe|unsubscribe|"
                      r"thumbs|find|search|look|show|explain|draft|check|read|catch|sigue|dale|publica|postea|"
                      r"comenta|deja)\b|\b(?:can|could|would|will|wo)(?:n't)? you\b|\bplease\b|\bpls\b|"
                      r"\bi(?:'d| would)? (?:like|love) (?:you )?to\b|\bi want(?: you)? to\b|\bi wanna\b|"
                      r"\bi'd like\b|\bfor me\b|\blet's\b|\bi need (?:you )?to\b|\bporfa\b|\bpor favor\b|"
                      r"চাই|করো|করুন|দিন|দাও|দেখো|\?\s*$", re.IGNORECASE)

# English function words and conversational filler: never a topic.
_STOPWORDS = frozenset("""
a an the i me my mine myself you your yours we us our they them their he him his she her it its this that
these those and or but so then also too if of in on at by with from about into onto over under for to as
up down out off again just only very really actually even still ever is are was were be been being am do
does did doing have has had having can could would will shall should may might must not no nor yes yeah
ok okay hey hi hello yo oh pls please thanks thank what who whom whose which why how when where there
here any anything anyone anybody some something someone somebody all every everyone everybody each other
good great nice cool new latest recent lately today tonight yesterday tomorrow now right rn week weekend
month day days time stuff things thing lot lots bit much many more most few little kind sort like
let lets let's get got give show tell find search look see check read want wanna need know think say
saying says said talk talking chatter buzz written wrote write posted posting post posts people person
folks guys accounts account feed timeline app here anywhere else thing please kindly maybe perhaps
regarding re related topic topics subject interested into worth following follow followed follows
only quick short brief whoever whomever whichever add need needs want wants wish getting keep seem seems interesting boring fun cool awesome
only i'm i've i'd i'll it's that's what's there's let's don't doesn't isn't aren't haven't can't
could've would've me? up? for? plz thx ty u ur r y sobre de del la el los las en un una unos unas algo
hay por aquí aqui me mí mi mis que q qué muestra muéstrame mostrar podrías puedes favor oye
""".split())


# What to ask when a request wants a tool but lacks what it needs. They name no example post or
# handle: an example could be someone's real post or account.
CLARIFY = {
    "comment_on_post": "What should the comment say, and on which post? Give me the post's number and the words "
                       "in quotes.",
    "follow": "Whom should I follow? Give me their handle or their name.",
    "unfollow": "Whom should I unfollow? Give me their handle or their name.",
    "react_to_post": "Which post should I react to? Give me its number.",
}


@dataclass
class PlannedCall:
    tool: str
    arguments: dict
    clause: str = ""


@dataclass
class Clause:
    text: str  # normalised, quoted and dictated texts as markers; context statements included
    skeleton: str = ""  # what the intent model reads
    intent: str = CHAT
    score: float = 0.0
    people: list[Named] = field(default_factory=list)
    posts: list[str] = field(default_factory=list)
    content: str | None = None  # the words to publish or comment, when dictated
    topic: str = ""
    request: str = ""  # the part that asks (``text`` without the statements before it)
    scores: dict[str, float] = field(default_factory=dict)


@dataclass
class Understanding:
    calls: list[PlannedCall] = field(default_factory=list)
    chat: bool = False  # the request needs no tool: answer in words
    clarify: str = ""  # a tool is wanted but the request lacks what it needs: ask for it
    clauses: list[Clause] = field(default_factory=list)


# --- 1. text set aside ---------------------------------------------------------------------------


def _writes(lead: str) -> bool:
    """The words before a colon or "saying" ask to write something ("reply to post 4 with", "publish"),
    not merely name a post ("post 4: why?", "explain post 4")."""
    lead = re.sub(r"\b(?:posts?|#)\s*#?\d+", " ", phrasing.normalise(lead), flags=re.IGNORECASE)
    return bool(_CONTENT_VERBS.search(lead))


def _dictated_span(sentence: str) -> tuple[int, int] | None:
    """Where the words a sentence dictates begin and end: after "post:" / "reply to post 12 with:" or
    after "saying" (typos allowed), when a verb of writing comes first; after "post it," or "comment
    on 12," when the command before the comma names nothing else; None when it dictates nothing.
    Speech loses quotation marks, so unquoted words end before a target that follows them
    ("... saying great post, on the top result", "comment congrats, on post 12")."""
    colon = _COLON_CONTENT.match(sentence)
    if colon and _writes(colon.group("lead")) and colon.group("content").strip():
        return colon.start("content"), _content_end(sentence, colon.start("content"))
    comma = _COMMA_CONTENT.search(sentence) or _COMMENT_COMMA.search(sentence)
    if comma and comma.group("content").strip(" .!?"):
        return comma.start("content"), _content_end(sentence, comma.start("content"))
    for m in re.finditer(r"[A-Za-z]+", sentence):
        word = phrasing.fix_typo(m.group(0)).lower()
        if word in ("saying", "says") and _writes(sentence[:m.start()]):
            rest = sentence[m.end():]
            start = m.end() + len(rest) - len(rest.lstrip(" :"))
            return (start, _content_end(sentence, start)) if sentence[start:].strip() else None
    before = _CONTENT_BEFORE_TARGET.match(sentence)
    if before:
        return before.start("content"), before.end("content")
    return None


def _content_end(sentence: str, start: int) -> int:
    target = _TRAILING_TARGET.search(sentence, start)
    return target.start() if target and target.start() > start else len(sentence.rstrip())


def _set_aside(text: str) -> tuple[str, list[str]]:
    """The request with quoted and dictated texts replaced by markers ``⟦0⟧``, and those texts, as
    written (never normalised, never split)."""
    quoted: list[str] = []

    def keep(value: str) -> str:
        quoted.append(value.strip())
        return f" ⟦{len(quoted) - 1}⟧ "

    text = _QUOTE.sub(lambda m: keep(m.group(1) or m.group(2) or ""), text)
    sentences = []
    for sentence in re.split(r"(?<=[.?!])\s+(?=\S)", text):
        span = None if "⟦" in sentence else _dictated_span(sentence)
        if span is not None:
            start, end = span
            rest = sentence[end:].lstrip(" ,")  # ", on post 12" after the words: where they go
            sentence = sentence[:start] + keep(sentence[start:end].rstrip()).replace("⟦", "⟦=") + rest
        sentences.append(sentence)
    return " ".join(" ".join(sentences).split()), quoted


def _restore(text: str, quoted: list[str]) -> str:
    return re.sub(r"⟦=?(\d+)⟧", lambda m: f'"{quoted[int(m.group(1))]}"', text)


def _dictated(clause: str, quoted: list[str]) -> str | None:
    """The words the clause dictates (a quoted or dictated text), if any."""
    marker = re.search(r"⟦=?(\d+)⟧", clause)
    return quoted[int(marker.group(1))] if marker else None


# --- 3. clauses ----------------------------------------------------------------------------------


def split_clauses(text: str) -> list[str]:
    """The request's parts, at sentence ends and conjunctions (dictated text is a marker by now)."""
    pieces = [_LEAD_FILLER.sub("", p.strip(" ,")).strip() for p in _SPLIT.split(text) if p]
    return [p for p in pieces if p.strip(" ,.!?") and not _INTERJECTION.match(p)]


_WORDS = re.compile(r"[^\W_][\w\u0900-\u0DFF'’-]*")  # Indic vowel signs are part of words


def _content_words(text: str) -> list[str]:
    words = _WORDS.findall(re.sub(r"⟦=?\d+⟧", " ", text))
    return [w for w in words if w.lower() not in _STOPWORDS and not w.isdigit()
            and phrasing.fix_typo(w).lower() not in phrasing.TRIGGER_WORDS]


def _only_targets(clause: str, people: list[Named]) -> bool:
    """A piece that names targets and nothing else ("@ben", "post 13", "Ana Ruiz for me")."""
    rest = clause
    for named in sorted(people, key=lambda n: -n.start):
        rest = rest[:named.start] + " " + rest[named.end:]
    rest = re.sub(r"\b(?:posts?|#)?\s*#?\d+\b", " ", rest, flags=re.IGNORECASE)
    had_target = rest != clause
    words = re.findall(r"[^\W\d_][\w'’]*", rest.lower())
    return had_target and all(w in _JOINING_WORDS for w in words)


# Words that may sit beside extra targets ("and @ben too", "and post 13 as well").
_JOINING_WORDS = frozenset("and or also too for me please pls post posts the a as well both then plus with to on "
                           "one y a আর এবং".split())


# --- 5. arguments --------------------------------------------------------------------------------

_TOPIC_AFTER = re.compile(r"\b(?:about|on|regarding|re|for|into|around|sobre|de)\s+(.+)$", re.IGNORECASE)
_TOPIC_END = re.compile(r"\s*(?:\b(?:from|by|only|lately|recently|today|tonight|these days|right now|rn|"
                        r"please|pls|for me|too|as well|in my feed|here|on here|around here|anymore|"
                        r"to follow|i should follow|worth following|of late)\b.*)$", re.IGNORECASE)
_TOPIC_BEFORE_NOUN = re.compile(r"\b([\w-]+(?:\s+[\w-]+)?)\s+(?:accounts?|people|folks|creators|"
                                r"posts?|stuff|content|news|chatter)\b", re.IGNORECASE)
_BENGALI_TOPIC = re.compile(r"([^\s?.!,।]+)\s+(?:নিয়ে|সম্পর্কে)")


def _subject_words(clause: str) -> str:
    """The clause without what is never its subject: set-aside texts and spans of time."""
    return _SPAN_PHRASE.sub(" ", re.sub(r"⟦=?\d+⟧", " ", clause))


def topic_of(clause: str) -> str:
    """The subject a clause is about: the words after "about"/"on"/"for", or else its content words."""
    text = _subject_words(clause).strip(" ?.!,")
    bengali = _BENGALI_TOPIC.search(text)
    if bengali:
        return bengali.group(1)
    for match in _TOPIC_AFTER.finditer(text):
        span = _TOPIC_END.sub("", match.group(1)).strip(" ?.!,:")
        words = _content_words(span)
        if words:
            return " ".join(words)
    return " ".join(_content_words(text))


def follow_topic(clause: str) -> str:
    """A topic for follow suggestions, only when the clause names one ("for jazz", "jazz accounts")."""
    text = re.sub(r"⟦=?\d+⟧", " ", clause).strip(" ?.!,")
    for match in _TOPIC_AFTER.finditer(text):
        words = _content_words(_TOPIC_END.sub("", match.group(1)))
        if words:
            return " ".join(words)
    before = _TOPIC_BEFORE_NOUN.search(text)
    if before:
        words = _content_words(before.group(1))
        if words:
            return " ".join(words)
    return " ".join(_content_words(text))


# "whoever posted 12": the author of a post named by its number ("#" is silent when spoken).
_AUTHOR_OF_NUMBER = re.compile(r"\b(?:who|whoever|someone who|the person who)\s+(?:posted|wrote|shared)\s+#?\d",
                               re.IGNORECASE)


# "how'd 600 end up in my feed?", "why am I seeing 600": a number that arrived in the feed is a post.
_NUMBER_IN_FEED = re.compile(r"\b\d+\s+(?:end(?:ed|s)? up|g[eo]t|show(?:ed|s)? up|appear(?:ed|s)?|land(?:ed|s)?|"
                             r"c[oa]me)\b[^.?!]*\b(?:feed|timeline)\b|\b(?:seeing|shown|see)\s+#?\d+\b",
                             re.IGNORECASE)


def post_numbers(clause: str) -> list[str]:
    """Post ids a clause names ("post 12", "#12", "posts 12 and 13"; a lone number only beside a
    word for posts or an action on one: "upvote 12", "comment on 12: ...")."""
    found = []
    lone_ok = bool(re.search(r"\b(?:posts?|publicaci[oó]n\w*)\b|পোস্ট|#", clause, re.IGNORECASE)) or \
        _verb_cue(clause) in POST_TOOLS or bool(_AUTHOR_OF_NUMBER.search(clause) or _NUMBER_IN_FEED.search(clause))
    for m in _POST_NUMBER.finditer(re.sub(r"⟦=?\d+⟧", " ", clause)):
        number = m.group(1) or m.group(2)
        if m.group(2) and not lone_ok:
            continue
        after = clause[m.end():m.end() + 8].lower()
        if m.group(2) and re.match(r"\s*(?:hours?|hrs?|h|days?|min|minutes?|people|followers|am|pm|%)", after):
            continue  # a quantity, not a post
        found.append(number)
    return list(dict.fromkeys(found))


_REACTIONS = [("love", r"\b(?:love|heart|❤|<3|লাভ)"), ("haha", r"\b(?:haha|laugh|lol|funny)"),
              ("wow", r"\bwow\b"), ("sad", r"\bsad\b"), ("angry", r"\b(?:angry|mad)\b"),
              ("like", r"\b(?:like|upvote|thumbs|me gusta|লাইক)")]


def reaction_of(clause: str) -> str:
    """The reaction a clause asks for (the first named; "like" when none is)."""
    hits = [(m.start(), kind) for kind, pattern in _REACTIONS
            for m in [re.search(pattern, clause, re.IGNORECASE)] if m]
    return min(hits)[1] if hits else "like"


_POLITE_LEAD_DRAFT = (r"^\W*(?:(?:please|pls|kindly|just|can you|could you|would you|would you mind|help me|"
                      r"i want you to|i'd like you to|hey|ok|okay|so|now|and|then|also|oh)\s+)*")
_DRAFT_LEAD = re.compile(_POLITE_LEAD_DRAFT + r"\b(?:draft|write|compose|word|caption|post|publish|share|tweet|announce|borrador|খসড়া)\w*\b\s*(?:me\s+|us\s+)?"
                         r"(?:up\s+)?(?:a|an|one|something|some|the)?\s*(?:short|quick|little|nice|brief|fun)?\s*"
                         r"(?:post|tweet|caption|status|update|message|one|something)?\s*(?:for me\s*)?"
                         r"(?:about|on|for|saying|that says|announcing)?\s*", re.IGNORECASE)


def draft_subject(clause: str) -> str:
    """What a post should be about: the clause without "(could you) draft a post about"."""
    subject = _DRAFT_LEAD.sub("", clause, count=1).strip(" ?.!,")
    return subject if len(subject) >= 3 else clause.strip(" ?.!,")


VERB_CUE_BOOST = 0.12
_POLITE_LEAD = r"^\W*(?:(?:please|pls|kindly|just|now|ok|okay|so|and|also|then|can you|could you|would you|will you|" \
               r"would you mind|could you please|can you please|i want you to|i'd like you to|help me|go ahead and|" \
               r"i want to|i'd like to|i wanna|let's)\s+)*"
_VERB_CUES = [(tool, re.compile(_POLITE_LEAD + pattern, re.IGNORECASE)) for tool, pattern in [
    ("draft_post", r"(?:draft|compose|write)\w*\b"), ("unfollow", r"(?:unfollow|stop following|unsubscribe)\b"),
    ("follow", r"(?:follow|start following|subscribe to)\b"), ("comment_on_post", r"(?:comment|reply|respond)\w*\b"),
    ("react_to_post", r"(?:like|heart|upvote|react)\b"), ("publish_post", r"(?:publish|tweet|announce)\b"),
    ("explain_post", r"explain\b"),
    ("search_people", r"(?:find|search(?: for)?|look for|look up|show me)\s+(?:some\s+|the\s+)?(?:people|accounts|"
                      r"profiles|users|folks|persons)\b"),
    ("search_posts", r"(?:search|look for|dig up|find\s+(?:me\s+)?(?:some\s+|the\s+)?posts?)\b"), ("read_notifications", r"(?:check|read|show)\s+(?:me\s+)?my\s+notifications\b"),
    ("catch_me_up", r"catch\s+me\s+up\b"), ("suggest_follows", r"(?:suggest|recommend)\w*\b"),
]]


_WHOEVER = re.compile(r"\b(?:whoever|whomever|the (?:person|one|account|author|people|user)s? (?:who|that|behind)|"
                      r"the author|who(?:'s| is| has)? post(?:ed|s|ing)|the top poster|the most active)\b", re.IGNORECASE)
_PEOPLE_SEARCH = re.compile(r"\b(?:accounts?|people|profiles?|users?|folks|persons?)\s+(?:about|into|who|that|for|"
                            r"interested|named|called|posting|writing|on)\b", re.IGNORECASE)
_WROTE = re.compile(r"\b(?:posted|posts|wrote|written|writes|said|says|shared|tweeted)\b", re.IGNORECASE)
_ABOUT_PEOPLE = re.compile(r"\b(?:people|persons?|someone|somebody|anyone who|anybody who|accounts?|profiles?|"
                           r"users?|folks|who is|who's|whois|handle|named|called|experts?|creators?|members?)\b|@",
                           re.IGNORECASE)


def _verb_cue(clause: str) -> str | None:
    """The tool an imperative at the start of the clause names, if any."""
    text = phrasing.gloss(clause)
    return next((tool for tool, pattern in _VERB_CUES if pattern.search(text)), None)


def _explicit_post(clause: str) -> bool:
    """The clause names a post by number ("post 12", "#12"), not just any number."""
    return bool(re.search(r"(?:\bposts?\b|\bpublicaci[oó]n\b|পোস্ট|#)\s*#?\d", clause, re.IGNORECASE))


def _explicit_topic(clause: str) -> bool:
    """The clause names a subject after "about", "on", "regarding" (not "on my feed")."""
    if _BENGALI_TOPIC.search(clause):
        return True
    glossed = phrasing.gloss(_subject_words(clause))
    for match in re.finditer(r"\b(?:about|on|regarding)\s+(.+)$", glossed, re.IGNORECASE):
        if _content_words(_TOPIC_END.sub("", match.group(1))):
            return True
    return False


def is_request(clause: str) -> bool:
    """Phrased as a request (imperative, "can you", "I want to", a question): side effects need it."""
    return bool(_REQUEST.search(clause))


# --- the plan ------------------------------------------------------------------------------------


def _skeleton(clause: str, people: list[Named]) -> str:
    """What the intent model reads: people as "@someone", quoted text as "something", "(only) from
    people I follow" as "from my friends" (a filter on posts, not a request to follow anyone), "the
    past 2 days" as "lately"."""
    text = clause
    for named in sorted(people, key=lambda n: -n.start):
        text = text[:named.start] + "@someone" + text[named.end:]
    text = _FOLLOWED_ONLY.sub("my friends", text)
    text = _SPAN_PHRASE.sub("lately", text)
    text = re.sub(r"⟦=?\d+⟧", '"something"', text)
    return phrasing.latin_only(phrasing.gloss(text)) or text


TOPIC_MASK = "this topic"


def _masked(clause: Clause) -> str:
    """The clause's skeleton with the subject of "about/on/for X" as "this topic"."""
    if not _explicit_topic(clause.text):
        return clause.skeleton
    out = clause.skeleton
    for word in topic_of(clause.text).split():
        out = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", TOPIC_MASK, out, count=1)
    return re.sub(rf"{TOPIC_MASK}(?:\s+{TOPIC_MASK})+", TOPIC_MASK, out)


def _author_of(ctx, post_id: str) -> str | None:
    from townsquare.social import posts

    try:
        return posts.get_post(ctx.session, ctx.account, int(post_id)).author.handle
    except (TownsquareError, ValueError):
        return None


def _clauses(ctx, normal: str) -> list[Clause]:
    """The request's clauses: a piece that only names more targets joins the clause before ("... and
    @ben"); a statement that is followed by a request is its context and joins it ("Post 12 made my
    day. Leave a comment ...", "I want more jazz in my feed. Who would you add?")."""
    clauses: list[Clause] = []
    context = ""
    for piece in split_clauses(normal):
        people = people_named(ctx, piece)
        if clauses and not context and _only_targets(piece, people):
            joined = clauses[-1].text + " and " + piece
            clauses[-1] = Clause(joined, people=people_named(ctx, joined),
                                 request=clauses[-1].request + " and " + piece)
            continue
        if not is_request(phrasing.gloss(piece)) and not piece.rstrip().endswith("?"):
            context = (context + " " + piece).strip()  # a statement: context for what follows
            continue
        request = piece
        if context:
            piece = context + " " + piece
            people = people_named(ctx, piece)
            context = ""
        clauses.append(Clause(piece, people=people, request=request))
    if context:  # statements only: they are the request
        clauses.append(Clause(context, people=people_named(ctx, context), request=context))
    return clauses


def _decide(clause: Clause, scores: dict[str, float], model) -> str:
    """The clause's intent: the most similar tool's, adjusted by what the clause plainly shows."""
    intent = _intent(clause, scores)
    if intent in SIDE_EFFECTS and clause.request != clause.text:
        # An action must be asked for in the request itself, not read into the statements before it
        # ("There's someone I follow, Ana. What has she posted?" follows nobody); its target may come
        # from them ("Post 12 made my day. Leave a comment saying ...").
        own = model.scores([_skeleton(clause.request, people_named_in(clause, clause.request))])[0]
        asked = _verb_cue(clause.request) or max(own, key=lambda tool: own[tool])
        writing = {"publish_post", "comment_on_post"}
        if asked in writing and intent in writing and clause.content:
            intent = _where_written(clause, asked)
        elif asked != intent and "⟦=" not in clause.request:
            intent = max((t for t in scores if t not in SIDE_EFFECTS), key=lambda tool: scores[tool])
    return intent


def _where_written(clause: Clause, intent: str) -> str:
    """Words to write on a post the clause names (by number, or as "the top result", "that post") are
    a comment; a new post names none."""
    if intent == "publish_post" and ((clause.posts and _explicit_post(clause.text)) or _ON_A_POST.search(clause.text)):
        return "comment_on_post"
    return intent


_ON_A_POST = re.compile(r"\b(?:on|under|to|below)\s+(?:the\s+)?(?:top|first|best|latest|last|newest)\s+"
                        r"(?:result|one|post|hit)s?\b|\b(?:on|under|to|below)\s+(?:that|this|the|their|his|her)\s+"
                        r"(?:post|one)\b", re.IGNORECASE)
_WHY_SHOWN = re.compile(r"\b(?:why|how come|how did|how'd|explain|feed|timeline|seeing|see it|shown|show(?:s|ed)? up|"
                        r"algorithm|recommend\w*|random|picked|end(?:ed)? up)\b|por qué|কেন", re.IGNORECASE)


def people_named_in(clause: Clause, part: str) -> list[Named]:
    """The clause's people that the part (its end) names, with positions in the part."""
    offset = len(clause.text) - len(part)
    return [Named(n.handle, n.name, n.start - offset, n.end - offset, n.how) for n in clause.people
            if n.start >= offset]


def _intent(clause: Clause, scores: dict[str, float]) -> str:
    scores = dict(scores)
    cue = _verb_cue(clause.text)
    if cue:  # an imperative naming the app's action ("draft ...", "follow them")
        scores[cue] += VERB_CUE_BOOST
    if "⟦=" in clause.text:
        # Dictated words ("reply to post 4 with: ...", "publish: ...") are written somewhere: on a
        # post when the clause names one, else a new post (or a draft).
        if (clause.posts and _explicit_post(clause.text)) or cue == "comment_on_post" \
                or re.search(rf"⟦=\d+⟧\s*{_POST_TARGET}", clause.text, re.IGNORECASE):
            return "comment_on_post"
        return max(("publish_post", "draft_post"), key=lambda tool: scores[tool])
    intent = max(scores, key=lambda tool: scores[tool])
    if scores[intent] < MIN_INTENT_SCORE and not (intent == "search_posts" and _explicit_topic(clause.text)):
        return CHAT  # (a weak match that is still closest to a search, with a subject named, searches)
    intent = _where_written(clause, intent)
    if intent not in POST_TOOLS and (_explicit_post(clause.text) or _NUMBER_IN_FEED.search(clause.text)) \
            and intent not in ("follow", "unfollow"):
        # A request that names a post ("how'd #12 get here?") is about that post.
        intent = max(POST_TOOLS, key=lambda tool: scores[tool])
    if intent == "explain_post" and not _WHY_SHOWN.search(phrasing.gloss(clause.text)):
        intent = "ask_about_post"  # a question about a post that is not why it is shown: its content
    if intent in ("suggest_follows", "catch_me_up") and _FOLLOWED_ONLY.search(clause.text) \
            and _content_words(_FOLLOWED_ONLY.sub(" ", clause.request or clause.text)) \
            and not re.search(r"\b(?:should|to|worth|would you|could)\s+(?:i\s+)?(?:follow|add)", clause.text, re.I):
        return "search_posts"  # "X, only from people I follow": a filtered search, not suggestions
    if intent == "catch_me_up" and _explicit_topic(clause.text):
        return "search_posts"  # catching up has no subject; "anything on X today?" searches for X
    if intent == "search_people" and not clause.people and not _ABOUT_PEOPLE.search(clause.text):
        return "search_posts"  # a subject with no person asked for: posts about it
    if intent == "search_people" and _explicit_topic(clause.text) and _WROTE.search(clause.text):
        return "search_posts"  # "what has Ana posted about jazz?": posts about jazz
    if intent == "search_posts" and clause.people and not _explicit_topic(clause.text):
        return "search_people"  # "search Ana Ruiz": a person, not a subject
    if intent == "search_posts" and _PEOPLE_SEARCH.search(clause.text) and not re.search(r"\bposts?\b", clause.text, re.I):
        return "search_people"  # "accounts about photography", "people into chess": people
    return intent


def understand(ctx, text: str) -> Understanding:
    """What the request asks for, as planned calls (arguments taken from the request and the app's
    data), or ``chat=True`` when it needs no tool."""
    raw = phrasing.ascii_digits(text.strip())
    aside, quoted = _set_aside(raw)
    aside = _COMMA_AFTER_VERB.sub(lambda m: (m.group(1) or m.group(2)) + " ", aside)
    clauses = _clauses(ctx, phrasing.normalise(aside))
    if not clauses:
        return Understanding(chat=True)
    for clause in clauses:
        clause.skeleton = _skeleton(clause.text, clause.people)
        clause.posts = post_numbers(clause.text)
        clause.content = _dictated(clause.text, quoted)
    model = intent_model(getattr(ctx, "settings", None))
    # Each clause is read twice: as written, and with its subject words masked ("search posts about
    # something"), so that an unfamiliar subject does not hide what is asked; the better score counts.
    # A clause with statements before it is also read without them: what is asked weighs as much as
    # the context ("I ran my first marathon. I want to share it but don't know what to say").
    n = len(clauses)
    asked = [_skeleton(c.request, people_named_in(c, c.request)) if c.request != c.text else c.skeleton
             for c in clauses]
    texts = [c.skeleton for c in clauses] + [_masked(c) for c in clauses] + asked
    every = model.scores(texts)
    per_clause = []
    for i in range(n):
        whole, masked, own = every[i], every[n + i], every[2 * n + i]
        per_clause.append({k: (max(whole[k], masked[k]) + own[k]) / 2 for k in whole})
    for clause, scores in zip(clauses, per_clause, strict=True):
        clause.scores = scores
        clause.intent = _decide(clause, scores, model)
        clause.score = scores.get(clause.intent, 0.0)
    plan = Understanding(clauses=clauses)
    previous: Clause | None = None
    wanted: list[str] = []  # intents that found no target
    for clause in clauses:
        if clause.intent == CHAT:
            continue
        calls = _calls_for(ctx, clause, previous, raw, quoted)
        if not calls and clause.intent in ("explain_post", "ask_about_post"):
            # About a post, but none is named: the best tool that needs no post, if any fits.
            others = {t: v for t, v in clause.scores.items() if t not in POST_TOOLS and t not in SIDE_EFFECTS}
            best = max(others, key=lambda tool: others[tool])
            wanted.append(clause.intent)
            clause.intent = best if others[best] >= MIN_INTENT_SCORE else CHAT
            calls = [] if clause.intent == CHAT else _calls_for(ctx, clause, previous, raw, quoted)
        elif not calls:
            wanted.append(clause.intent)
        plan.calls += calls
        previous = clause
    plan.calls = _without_duplicates(plan.calls)
    if not plan.calls:
        plan.clarify = next((CLARIFY[w] for w in wanted if w in CLARIFY), "")
        plan.chat = not plan.clarify
    for call in plan.calls:
        for key, value in list(call.arguments.items()):
            if isinstance(value, str):
                call.arguments[key] = _restore(value, quoted)
    return plan


def _topic(clause: Clause, previous: Clause | None, finder=topic_of) -> str:
    topic = finder(clause.text)
    if (not topic or _PRONOUN_TOPIC.match(topic)) and previous is not None:
        topic = previous.topic or topic
    clause.topic = topic
    return topic


def _post_targets(clause: Clause, previous: Clause | None) -> list[str]:
    if clause.posts:
        return clause.posts
    if previous is not None and previous.posts and (_THAT_POST.search(clause.text) or len(previous.posts) == 1):
        clause.posts = previous.posts[-1:]
        return clause.posts
    return []


def _person_targets(ctx, clause: Clause, previous: Clause | None) -> list[str]:
    handles = [n.handle for n in clause.people]
    if handles:
        return handles
    if previous is not None and previous.people and _THEM.search(clause.text):
        return [previous.people[-1].handle]
    posts = _post_targets(clause, previous)
    if posts:  # "follow whoever wrote post 12"
        author = _author_of(ctx, posts[0])
        return [author] if author else []
    return []


def _found_earlier(previous: Clause | None) -> list[str]:
    """No post named: the target is what an earlier clause of this turn finds (""), else none (ask)."""
    return [""] if previous is not None else []


def _calls_for(ctx, clause: Clause, previous: Clause | None, request: str, quoted: list[str]) -> list[PlannedCall]:
    tool, text = clause.intent, clause.text
    one = lambda args: [PlannedCall(tool, args, text)]  # noqa: E731
    if tool in SIDE_EFFECTS and not is_request(phrasing.gloss(clause.request or text)):
        return []  # a statement ("there's a person I follow, Ana") asks for no action
    if tool == "search_posts":
        args = {"query": _topic(clause, previous) or text}
        if _FOLLOWED_ONLY.search(request):
            args["from_people_i_follow"] = True
        return one(args)
    if tool == "search_people":
        if clause.people:
            return [PlannedCall(tool, {"query": n.name or n.handle}, text) for n in clause.people]
        targets = _person_targets(ctx, clause, previous)
        if targets:
            return one({"query": targets[0]})
        return one({"query": _topic(clause, previous) or text})
    if tool == "catch_me_up":
        span = _SPAN.search(text)
        if not span:
            return one({})
        count = (span.group(1) or "1").lower()
        count = int(count) if count.isdigit() else _NUMBER_WORDS[count]
        return one({"hours": count * _SPAN_HOURS[span.group(2)[0].lower()]})
    if tool in ("explain_post", "ask_about_post"):
        posts = _post_targets(clause, previous)
        extra = {"question": text} if tool == "ask_about_post" else {}
        return [PlannedCall(tool, {"post_id": p, **extra}, text) for p in posts]
    if tool == "suggest_follows":
        topic = _topic(clause, previous, follow_topic)
        return one({"topic": topic} if topic else {})
    if tool == "draft_post":
        subject = draft_subject(text)
        if previous is not None and previous.topic:
            subject = re.sub(r"\b(it|that|this)\b(?=[\s.!?]*$)", previous.topic, subject)
        clause.topic = topic_of(text)
        return one({"about": _restore(subject, quoted)})
    if tool == "read_notifications":
        return one({})
    if tool == "publish_post":
        if not clause.content:  # no words to publish: offer a draft instead
            return [PlannedCall("draft_post", {"about": draft_subject(text)}, text)]
        args = {"text": clause.content}
        if _FOLLOWERS_ONLY.search(request):
            args["visibility"] = "followers"
        return one(args)
    if tool == "comment_on_post":
        if not clause.content:
            return []
        posts = _post_targets(clause, previous) or _found_earlier(previous)
        return [PlannedCall(tool, {"post_id": p, "text": clause.content}, text) for p in posts]
    if tool == "react_to_post":
        posts = _post_targets(clause, previous) or _found_earlier(previous)
        reaction = reaction_of(text)
        return [PlannedCall(tool, {"post_id": p, "reaction": reaction}, text) for p in posts]
    if tool in ("follow", "unfollow"):
        handles = _person_targets(ctx, clause, previous)
        if handles:
            return [PlannedCall(tool, {"handle": h}, text) for h in handles]
        if tool != "follow" or not _WHOEVER.search(text):
            return []
        if previous is not None and previous.intent == "search_posts":
            return [PlannedCall(tool, {"handle": ""}, text)]  # "find X posts and follow whoever ...": found
        topic = topic_of(text)
        if topic:  # "follow whoever posts most about cooking": read first
            return [PlannedCall("search_posts", {"query": topic}, text), PlannedCall(tool, {"handle": ""}, text)]
        return []
    return []


def _without_duplicates(calls: list[PlannedCall]) -> list[PlannedCall]:
    """The same call once; a draft made from a clause that another clause publishes is dropped."""
    out: list[PlannedCall] = []
    seen: set[str] = set()
    publishing = any(c.tool == "publish_post" for c in calls)
    for call in calls:
        key = call.tool + repr(sorted(call.arguments.items()))
        if key in seen:
            continue
        if call.tool == "draft_post" and publishing and not re.search(r"\b(draft|write|compose)", call.clause,
                                                                      re.IGNORECASE):
            continue  # "I'm going to announce it. Publish: ..." is one publish
        seen.add(key)
        out.append(call)
    return out
