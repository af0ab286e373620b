"""What the synthetic community writes: posts of every kind, comments, replies and direct messages.

Text comes from templates filled with each topic's vocabulary and hashtags, so that posts on one topic
share words (search and text embeddings find them) while rarely repeating exactly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from townsquare.sim.people import Population
from townsquare.sim.vocab import KINDS, TOPICS, Topic

WHEN = ("this morning", "last night", "today", "over the weekend", "after work", "yesterday",
        "on my day off", "before sunrise", "this week", "on Sunday")
FEELINGS = ("Still buzzing.", "Worth every minute.", "Not bad at all!", "Pretty proud of this one.",
            "Already planning the next one.", "Honestly harder than it looks.", "Best part of my week.",
            "Could not stop smiling.", "Lessons were learned.", "Ten out of ten, would do again.", "")
OPINIONS = ("more underrated", "way more fun", "harder", "more rewarding", "easier to get into",
            "more overrated")
QUESTIONS = ("Am I wrong?", "Change my mind.", "Thoughts?", "What do you think?", "Who's with me?", "")
TEXT_TEMPLATES = (
    "Just {did} {when}. {feeling} {tags}",
    "{When} I {did}. {feeling} {tags}",
    "Hot take: {thing} is {opinion} than {thing2}. {question} {tags}",
    "Question for the {crowd}: how do you {howto}? {tags}",
    "Three things I learned about {thing} this month: patience, {thing2}, and asking for help. {tags}",
    "Finally tried {thing} {place}. {feeling} {tags}",
    "Unpopular opinion among {crowd}: {thing} matters less than {thing2}. {question}",
    "Thinking a lot about {thing} lately. Anyone else? {tags}",
    "Small win: {did}. {feeling} {tags}",
    "Tips wanted! I want to {howto} before the summer. {tags}",
    "If you are new to {label_lower}, start with {thing}. Trust me. {tags}",
    "Spent {when} on {thing} and {thing2}. {feeling}",
)
PHOTO_TEMPLATES = (
    "{thing_cap} {place}. {feeling} {tags}",
    "Snapshot from {when}: {thing} {place}. {tags}",
    "Look at this: {thing}. {tags}",
    "{When} {place}, {thing}. {tags}",
)
VIDEO_TEMPLATES = (
    "Short clip: {thing} {place}. {tags}",
    "Filmed this {when} while I {did_short}. {tags}",
    "Ten seconds of {thing}. {feeling} {tags}",
    "Video diary: {thing} {place}. {tags}",
)
LINK_TEMPLATES = (
    "Great read on {thing}: {title}. {tags}",
    "This is the best explanation of {thing} I've found. {tags}",
    "Bookmarking this for every {crowd_single} I know. {tags}",
    "Worth your time if you care about {label_lower}. {tags}",
)
COMMENTS_GOOD = ("Love this!", "So good.", "This is great, thanks for sharing.", "Wow, {thing}!",
                 "Same here, {thing} is the best.", "How long did that take?", "Saving this for later.",
                 "Congrats!", "Totally agree.", "Where was this?", "Need to try {thing} soon.",
                 "This made my day.", "Great tip about {thing}.", "Inspiring, keep going!")
COMMENTS_MEH = ("Interesting.", "Not sure I agree about {thing}.", "Hmm, I'd say the opposite.",
                "Fair point.", "Never tried {thing}, is it worth it?", "Okay but why?")
REPLIES = ("Thanks so much!", "Thank you!", "Haha, glad you like it.", "Appreciate it!",
           "Yes! {thing} is underrated.", "Agreed.", "Means a lot, thanks.")
ANSWERS = ("About a month, honestly.", "You should try it!", "Good question, let me check.",
           "Next time, come along!", "Not far from here, I'll send you the details.",
           "Start small with {thing}, that's what worked for me.")
MESSAGES = ("Hey! Loved your post about {thing}.", "Are you going to the {label_lower} meetup?",
            "Do you have tips on how to {howto}?", "That photo was amazing, where was it?",
            "Thanks for the follow!", "We should do {thing} together sometime.", "Ha, same!",
            "Sounds great, let's do it.", "Sure, happy to help.", "Let me know when you're free.",
            "I finally {did}!", "No way, congrats!")


@dataclass
class PostPlan:
    """One post to write, with its hidden attributes (topic, quality) kept for the simulator."""

    author: int  # person index
    topic: int
    kind: str
    text: str
    visibility: str
    created_at: datetime
    quality: float
    hashtags: list[str] = field(default_factory=list)
    link_url: str | None = None
    link_title: str | None = None
    media_variant: int = 0  # which pooled image/video of the topic


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _fill(rng: np.random.Generator, template: str, topic: Topic, tags: str, title: str = "") -> str:
    thing = _pick(rng, topic.things)
    thing2 = _pick(rng, [t for t in topic.things if t != thing])
    did = _pick(rng, topic.did)
    when = _pick(rng, WHEN)
    text = template.format(
        did=did, did_short=did.split(" ", 1)[0] + " " + did.split(" ", 2)[1] if " " in did else did,
        when=when, When=when[0].upper() + when[1:], feeling=_pick(rng, FEELINGS), tags=tags, thing=thing,
        thing_cap=thing[0].upper() + thing[1:], thing2=thing2, opinion=_pick(rng, OPINIONS),
        question=_pick(rng, QUESTIONS), crowd=topic.crowd, crowd_single=topic.crowd.rstrip("s"),
        howto=_pick(rng, topic.howto), place=_pick(rng, topic.places), label_lower=topic.label.lower(),
        title=title)
    return re.sub(r"\s+", " ", text).strip()


def _hashtags(rng: np.random.Generator, topic: Topic) -> list[str]:
    count = int(rng.choice([0, 1, 1, 2, 2, 3]))
    return [str(t) for t in rng.choice(topic.hashtags, size=count, replace=False)] if count else []


def post_text(rng: np.random.Generator, topic_index: int, kind: str) -> tuple[str, list[str], str | None, str | None]:
    """Text, hashtags, link url and link title of a new post on a topic."""
    topic = TOPICS[topic_index]
    tags_list = _hashtags(rng, topic)
    tags = " ".join("#" + t for t in tags_list)
    link_url = link_title = None
    if kind == "photo":
        text = _fill(rng, _pick(rng, PHOTO_TEMPLATES), topic, tags)
    elif kind == "video":
        text = _fill(rng, _pick(rng, VIDEO_TEMPLATES), topic, tags)
    elif kind == "link":
        link_title = _pick(rng, topic.links)
        slug = re.sub(r"[^a-z0-9]+", "-", link_title.lower()).strip("-")
        link_url = f"https://{topic.domain}/{slug}-{int(rng.integers(100, 999))}"
        text = _fill(rng, _pick(rng, LINK_TEMPLATES), topic, tags, title=link_title)
    else:
        text = _fill(rng, _pick(rng, TEXT_TEMPLATES), topic, tags)
    return text, tags_list, link_url, link_title


def comment_text(rng: np.random.Generator, topic_index: int, enjoyed: bool) -> str:
    topic = TOPICS[topic_index]
    return _pick(rng, COMMENTS_GOOD if enjoyed else COMMENTS_MEH).format(thing=_pick(rng, topic.things))


def reply_text(rng: np.random.Generator, topic_index: int, to_text: str = "") -> str:
    """The post author's answer to a comment: an answer to a question, thanks otherwise."""
    options = ANSWERS if to_text.rstrip().endswith("?") else REPLIES
    return _pick(rng, options).format(thing=_pick(rng, TOPICS[topic_index].things))


def message_text(rng: np.random.Generator, topic_index: int) -> str:
    topic = TOPICS[topic_index]
    return _pick(rng, MESSAGES).format(thing=_pick(rng, topic.things), label_lower=topic.label.lower(),
                                       howto=_pick(rng, topic.howto), did=_pick(rng, topic.did))


def _hour_weights() -> np.ndarray:
    """People post more in the evening than at night."""
    hours = np.arange(24)
    w = 0.2 + np.exp(-((hours - 19) ** 2) / 18) + 0.6 * np.exp(-((hours - 12) ** 2) / 8) \
        + 0.4 * np.exp(-((hours - 8) ** 2) / 4)
    return w / w.sum()


HOUR_WEIGHTS = _hour_weights()


def random_times(rng: np.random.Generator, count: int, start: datetime, days: int) -> list[datetime]:
    day = rng.integers(0, days, count)
    hour = rng.choice(24, size=count, p=HOUR_WEIGHTS)
    second = rng.integers(0, 3600, count)
    return [start + timedelta(days=int(d), hours=int(h), seconds=int(s)) for d, h, s in zip(day, hour, second, strict=True)]


def _sample_rows(rng: np.random.Generator, weights: np.ndarray) -> np.ndarray:
    """One categorical draw per row of (unnormalised) weights."""
    cum = np.cumsum(weights, axis=1)
    u = rng.random(len(weights)) * cum[:, -1]
    return np.minimum((u[:, None] > cum).sum(axis=1), weights.shape[1] - 1) if len(weights) else \
        np.zeros(0, dtype=int)


def plan_posts(pop: Population, seed: int, count: int, start: datetime, days: int,
               media_variants: int, *, stream: int = 0, demo_posts: int = 3) -> list[PostPlan]:
    """``count`` posts spread over ``days`` from ``start``, sorted by time. ``stream`` picks an
    independent random stream (e.g. one per simulated day)."""
    rng = np.random.default_rng([seed, 3, stream])
    n = len(pop)
    weights = pop.creator.copy()
    weights[0] = 0.0  # the demo account only gets a few posts
    demo_posts = min(demo_posts, count)
    per_author = rng.multinomial(count - demo_posts, weights / weights.sum())
    per_author[0] = demo_posts
    authors = np.repeat(np.arange(n), per_author)
    times = random_times(rng, len(authors), start, days)
    natural = np.array([t.kinds for t in TOPICS])
    # Topics and kinds for all posts at once: authors post mostly about their favourite topics, in
    # the forms they like and the topic suits.
    p_topic = pop.topics[authors] ** 1.5
    topics = _sample_rows(rng, p_topic)
    kinds = _sample_rows(rng, pop.kinds[authors] * natural[topics])
    plans: list[PostPlan] = []
    for k, (author, created_at) in enumerate(zip(authors, times, strict=True)):
        author, topic, kind = int(author), int(topics[k]), KINDS[int(kinds[k])]
        text, tags, link_url, link_title = post_text(rng, topic, kind)
        private = bool(pop.is_private[author])
        visibility = "followers" if rng.random() < (0.5 if private else 0.1) else "public"
        quality = float(np.clip(pop.quality[author] + rng.normal(0, 0.12), 0.05, 1.0))
        plans.append(PostPlan(author=author, topic=topic, kind=kind, text=text, visibility=visibility,
                              created_at=created_at, quality=quality, hashtags=tags, link_url=link_url,
                              link_title=link_title, media_variant=int(rng.integers(media_variants))))
    plans.sort(key=lambda p: (p.created_at, p.author))
    return plans


_TOPIC_WORDS: list[set[str]] | None = None
STOPWORDS = {"with", "that", "this", "your", "from", "first", "into", "without", "before", "after", "over",
             "what", "when", "whole", "finally", "every", "make", "made", "pick", "find", "start", "keep",
             "right", "best", "time", "good", "days", "than", "more", "week", "last", "tried", "went", "built"}


def infer_topic(text: str) -> int | None:
    """Best-guess topic of a text the simulator did not write (vocabulary overlap), or None."""
    global _TOPIC_WORDS
    if _TOPIC_WORDS is None:
        _TOPIC_WORDS = []
        for t in TOPICS:
            words = " ".join(t.things + t.did + t.howto + t.hashtags + (t.label, t.crowd)).lower()
            _TOPIC_WORDS.append({w for w in re.findall(r"[a-z0-9]+", words) if len(w) > 3} - STOPWORDS)
    words = set(re.findall(r"[a-z0-9]+", text.lower()))
    scores = [len(words & vocab) for vocab in _TOPIC_WORDS]
    best = int(np.argmax(scores))
    return best if scores[best] > 0 else None
