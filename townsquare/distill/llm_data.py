"""The training set that teaches the bundled language model the app's own tasks.

Every example is a chat (``messages``, the prompt exactly as the app sends it) and the answer
(``target``), built by construction so the right answer is known:

* ``tool_args``: the tool layer's argument step (``llm/tool_calling.py``: its system prompt,
  ``describe_tool`` of one of the assistant's real tools, the request; not its few-shot turns, to keep
  CPU steps short) -> the JSON arguments, every string a span of the request, as the grammar allows.
* ``tool_call``: plain prompting, no grammar: the assistant's system prompt with the tool list, the
  request -> ``<tool_call>{"name": ..., "arguments": ...}</tool_call>`` (a format
  ``llm/tool_parsers.py`` reads), or a short text answer when no tool fits.
* ``creator_reply``: a creator AI's system prompt (``studio/chat.py``'s shape) with numbered posts,
  a fan's question -> a reply that quotes the post that answers it, verbatim, with its number.
* ``catch_up``: new posts in the feed -> a short summary citing each post as [post ID].

Requests come from templates with many phrasings per tool (casual, terse, polite, indirect, with
typos, Spanish), and topics, people, post numbers and texts drawn at random. Nothing is read from the
assistant or studio benchmarks. A teacher model (``answer_with_teacher``) may rewrite the answers;
a tool answer is kept only when it equals the constructed one.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field

TOPICS = [
    "climbing", "sourdough", "gravel bikes", "jazz piano", "birdwatching", "film photography", "chess openings",
    "urban gardening", "trail running", "ramen", "board games", "watercolor", "home espresso", "kayaking",
    "vintage synths", "rust programming", "beekeeping", "knitting", "stargazing", "bouldering", "vinyl records",
    "street food", "marathon training", "pottery", "mushroom foraging", "bread baking", "fly fishing",
    "indie games", "cold brew", "solar panels", "electric cars", "surfing", "yoga", "sketching", "fermentation",
    "houseplants", "camping", "woodworking", "poetry", "podcasts", "retro consoles", "cycling", "tea",
    "skateboarding", "salsa dancing", "origami", "language learning", "3d printing", "hiking boots",
    "minimalism", "city parks", "thrift shopping", "open source", "local elections", "school lunches",
    "jazz festivals", "rock climbing gyms", "winter swimming", "dog training", "sci-fi novels",
]
TOPICS_ES = ["escalada", "pan de masa madre", "fotografía analógica", "ajedrez", "jardinería", "senderismo",
             "cocina vegana", "ciclismo", "guitarra", "cerámica", "surf", "astronomía", "café", "yoga", "teatro"]
NAME_PARTS = ["mia", "jonas", "priya", "leo", "ana", "tom", "zoe", "omar", "lena", "kai", "nora", "ravi",
              "ines", "yuki", "sam", "ada", "felix", "maya", "noah", "ivy", "ella", "theo", "lucia", "arjun",
              "rosa", "ben", "amir", "chloe", "dev", "hana"]
SUFFIXES = ["", "", "_k", "_runs", "123", "_art", "_dev", "_b", "88", "_photo", "_m", "_cooks", "_x"]
REACTIONS = ["like", "love", "haha", "wow", "sad", "angry"]
REACTION_WORDS = {"love": ["love", "heart"], "haha": ["haha", "laugh"], "wow": ["wow"], "sad": ["sad"],
                  "angry": ["angry"]}
PLACES = ["the lake", "the old mill", "the market", "the hills", "downtown", "the library", "the coast"]
DAYS = ["Saturday", "Sunday", "tomorrow", "this weekend", "Friday night", "next Tuesday"]


def _handle(rng: random.Random) -> str:
    return rng.choice(NAME_PARTS) + rng.choice(SUFFIXES)


def _post_id(rng: random.Random) -> str:
    return str(rng.choice([rng.randint(1, 99), rng.randint(100, 999), rng.randint(1000, 9999)]))


def _sentence(rng: random.Random, topic: str) -> str:
    return rng.choice([
        f"Just tried {topic} at {rng.choice(PLACES)} and loved it",
        f"Who wants to join me for {topic} {rng.choice(DAYS)}?",
        f"Three things I learned about {topic} this month",
        f"Great photos from {rng.choice(PLACES)} today",
        f"Looking for tips on {topic}, any ideas?",
        f"Finally finished my {topic} project",
        f"Meeting at {rng.choice(PLACES)} {rng.choice(DAYS)}, bring snacks",
        f"So proud of everyone at the {topic} meetup",
    ])


def _typos(text: str, rng: random.Random) -> str:
    """Drop or swap a letter in one or two long words (people type fast)."""
    words = text.split(" ")
    for _ in range(rng.randint(1, 2)):
        i = rng.randrange(len(words))
        w = words[i]
        if len(w) > 4 and w.isalpha():
            j = rng.randrange(1, len(w) - 2)
            words[i] = w[:j] + w[j + 1:] if rng.random() < 0.5 else w[:j] + w[j + 1] + w[j] + w[j + 2:]
    return " ".join(words)


def _dress(text: str, rng: random.Random, slots: list[str]) -> str:
    """Vary the casing, greeting and ending around a request; slot values are never touched."""
    r = rng.random()
    if r < 0.15:
        text = rng.choice(["hey, ", "hi! ", "ok so ", "quick one: ", "Hello, "]) + text
    elif r < 0.25:
        text = text + rng.choice([" thanks!", " please", " ty", " :)", " asap"])
    if rng.random() < 0.2 and all(s == s.lower() for s in slots):
        text = text.lower()
    if rng.random() < 0.15:
        # Typos only before the first slot value, so every value stays a span of the request.
        cut = min([text.find(s) for s in slots if s and s in text] or [len(text)])
        text = _typos(text[:cut], rng) + text[cut:] if cut > 0 else text
    return text


# Request templates per tool: (template, arguments). {t} topic, {h} handle, {p} post id, {x} text,
# {n} hours, {q} question, {r} reaction word. Argument values name the slots they copy.
TEMPLATES: dict[str, list[tuple[str, dict]]] = {
    "search_posts": [
        ("find posts about {t}", {"query": "{t}"}), ("any posts on {t}?", {"query": "{t}"}),
        ("show me what people say about {t}", {"query": "{t}"}), ("search {t}", {"query": "{t}"}),
        ("I'd love to read something about {t}", {"query": "{t}"}),
        ("what's new with {t} on here", {"query": "{t}"}),
        ("can you look up posts mentioning {t}", {"query": "{t}"}),
        ("posts about {t} from people I follow", {"query": "{t}", "from_people_i_follow": True}),
        ("did anyone I follow post about {t}?", {"query": "{t}", "from_people_i_follow": True}),
        ("only from people I follow: {t}", {"query": "{t}", "from_people_i_follow": True}),
        ("busca publicaciones sobre {t}", {"query": "{t}"}), ("¿qué se dice de {t}?", {"query": "{t}"}),
    ],
    "search_people": [
        ("find @{h}", {"query": "{h}"}), ("who is {h}?", {"query": "{h}"}),
        ("look for people into {t}", {"query": "{t}"}), ("search for accounts about {t}", {"query": "{t}"}),
        ("is there someone called {h} here", {"query": "{h}"}), ("busca a {h}", {"query": "{h}"}),
    ],
    "catch_me_up": [
        ("catch me up", {}), ("what did I miss?", {}), ("anything new in my feed", {}),
        ("what happened in the last {n} hours", {"hours": "{n}"}), ("summarise the past {n} hours", {"hours": "{n}"}),
        ("give me the highlights since I was away", {}), ("¿qué me perdí?", {}),
        ("ponme al día de las últimas {n} horas", {"hours": "{n}"}),
    ],
    "explain_post": [
        ("why am I seeing post {p}?", {"post_id": "{p}"}), ("explain post {p}", {"post_id": "{p}"}),
        ("why is post #{p} in my feed", {"post_id": "{p}"}), ("how did post {p} end up here?", {"post_id": "{p}"}),
        ("¿por qué veo el post {p}?", {"post_id": "{p}"}),
    ],
    "suggest_follows": [
        ("who should I follow?", {}), ("suggest people to follow for {t}", {"topic": "{t}"}),
        ("any accounts worth following about {t}", {"topic": "{t}"}), ("recommend someone to follow", {}),
        ("I want to follow more people into {t}", {"topic": "{t}"}), ("¿a quién sigo para {t}?", {"topic": "{t}"}),
    ],
    "draft_post": [
        ("draft a post about {t}", {"about": "{t}"}), ("help me write something about {t}", {"about": "{t}"}),
        ("write a post for me about {t}, don't publish it", {"about": "{t}"}),
        ("can you draft something on {t}", {"about": "{t}"}), ("escribe un borrador sobre {t}", {"about": "{t}"}),
    ],
    "read_notifications": [
        ("read my notifications", {}), ("any notifications?", {}), ("what are my latest alerts", {}),
        ("did anyone mention me", {}), ("check my notifications please", {}), ("¿tengo notificaciones?", {}),
    ],
    "ask_about_post": [
        ("what do people say in the comments of post {p}?",
         {"post_id": "{p}", "question": "what do people say in the comments"}),
        ("post {p}: {q}", {"post_id": "{p}", "question": "{q}"}),
        ("about post {p}, {q}", {"post_id": "{p}", "question": "{q}"}),
    ],
    "publish_post": [
        ("post this: {x}", {"text": "{x}"}), ('publish "{x}"', {"text": "{x}"}),
        ("share with my followers only: {x}", {"text": "{x}", "visibility": "followers"}),
        ('can you post "{x}" for me', {"text": "{x}"}), ("publica esto: {x}", {"text": "{x}"}),
    ],
    "comment_on_post": [
        ('comment "{x}" on post {p}', {"post_id": "{p}", "text": "{x}"}),
        ("reply to post {p}: {x}", {"post_id": "{p}", "text": "{x}"}),
        ('leave a comment on post {p} saying "{x}"', {"post_id": "{p}", "text": "{x}"}),
        ("comenta en el post {p}: {x}", {"post_id": "{p}", "text": "{x}"}),
    ],
    "follow": [
        ("follow @{h}", {"handle": "{h}"}), ("please follow @{h} for me", {"handle": "{h}"}),
        ("I want to follow @{h}", {"handle": "{h}"}), ("add @{h} to the people I follow", {"handle": "{h}"}),
        ("sigue a @{h}", {"handle": "{h}"}),
    ],
    "unfollow": [
        ("unfollow @{h}", {"handle": "{h}"}), ("stop following @{h}", {"handle": "{h}"}),
        ("I don't want to see @{h} anymore, unfollow them", {"handle": "{h}"}),
        ("deja de seguir a @{h}", {"handle": "{h}"}),
    ],
    "react_to_post": [
        ("like post {p}", {"post_id": "{p}"}), ("give post {p} a like", {"post_id": "{p}"}),
        ("react {r} to post {p}", {"post_id": "{p}", "reaction": "{r}"}),
        ("put a {r} on post {p}", {"post_id": "{p}", "reaction": "{r}"}),
        ("dale like al post {p}", {"post_id": "{p}"}),
    ],
}
QUESTIONS = ["is it still open?", "where was this?", "who went?", "what time does it start?",
             "does anyone disagree?", "what is the recipe?", "how much did it cost?"]
NO_TOOL = [("hi!", "Hi! How can I help you on Townsquare today?"),
           ("thanks, that's all", "You're welcome! Have a good day."),
           ("what can you do?", "I can find posts and people, catch you up on your feed, explain why a post is "
                                "there, suggest people to follow, draft posts, and post, comment, follow or react "
                                "for you once you confirm."),
           ("good morning", "Good morning! What would you like to do?"),
           ("are you a bot?", "Yes, I'm the Townsquare assistant, an AI."),
           ("gracias", "¡De nada! ¿Algo más?")]


@dataclass
class Example:
    kind: str
    messages: list[dict]
    target: str
    meta: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "messages": self.messages, "target": self.target, "meta": self.meta}


def _fill(rng: random.Random, tool: str) -> tuple[str, dict]:
    template, args = rng.choice(TEMPLATES[tool])
    spanish = any(w in template for w in ("busca", "qué", "ponme", "por qué", "sigo", "escribe", "publica",
                                          "comenta", "sigue", "deja", "dale", "tengo"))
    t = rng.choice(TOPICS_ES if spanish else TOPICS)
    values = {"t": t, "h": _handle(rng), "p": _post_id(rng), "x": _sentence(rng, t), "n": str(rng.randint(2, 48)),
              "q": rng.choice(QUESTIONS), "r": ""}
    reaction = rng.choice([r for r in REACTIONS if r != "like"])
    values["r"] = rng.choice(REACTION_WORDS.get(reaction, [reaction]))
    text = template.format(**values)
    filled = {}
    for k, v in args.items():
        if isinstance(v, str) and v.startswith("{"):
            v = values[v[1]]
            if k == "reaction":
                v = reaction
            elif k == "hours":
                v = int(v)
        filled[k] = v
    slots = [str(v) for v in filled.values() if isinstance(v, str)]
    return _dress(text, rng, slots), filled


def _tool_specs() -> list[dict]:
    from townsquare.assistant.tools import TOOLS

    return [t.spec() for t in TOOLS.values()]


def tool_args_example(rng: random.Random) -> Example:
    from townsquare.llm.tool_calling import SYSTEM_PROMPT, _user_turn
    from townsquare.llm.tools import normalise_tools

    tools = {t.name: t for t in normalise_tools(_tool_specs())}
    name = rng.choice(sorted(TEMPLATES))
    request, args = _fill(rng, name)
    # The layer's system prompt and user turn; its three few-shot turns are left out of training (they
    # would triple the tokens of a CPU step; the layer still sends them, unchanged).
    messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": _user_turn(tools[name], request)}]
    return Example("tool_args", messages, json.dumps(args, ensure_ascii=False), {"tool": name, "arguments": args,
                                                                                 "request": request})


PLAIN_TOOLS_PROMPT = ("You can call these tools. To call one, answer only with "
                      '<tool_call>{{"name": "TOOL", "arguments": {{...}}}}</tool_call>. '
                      "If no tool fits, answer in one or two short sentences.\nTools:\n{tools}")


def compact_tool(fn: dict) -> str:
    """``- name(arg, optional_arg?): description``: the tool list in few tokens (a small model's
    prompt must stay short)."""
    params = fn.get("parameters", {})
    required = set(params.get("required", []))
    args = ", ".join(k if k in required else f"{k}?" for k in params.get("properties", {}))
    return f"- {fn['name']}({args}): {fn['description']}"


def plain_system_prompt(handle: str = "you", name: str = "you", today: str = "Monday 01 January 2026") -> str:
    """The assistant's system prompt with the tool list, for models called without the grammar."""
    from townsquare.assistant.agent import SYSTEM_PROMPT

    tools = "\n".join(compact_tool(s["function"]) for s in _tool_specs())
    return (SYSTEM_PROMPT.format(handle=handle, name=name, today=today, memories="") + "\n"
            + PLAIN_TOOLS_PROMPT.format(tools=tools))


def tool_call_example(rng: random.Random) -> Example:
    handle = _handle(rng)
    system = plain_system_prompt(handle, handle.split("_")[0].title())
    if rng.random() < 0.12:
        request, answer = rng.choice(NO_TOOL)
        return Example("tool_call", [{"role": "system", "content": system}, {"role": "user", "content": request}],
                       answer, {"tool": None, "request": request})
    name = rng.choice(sorted(TEMPLATES))
    request, args = _fill(rng, name)
    call = json.dumps({"name": name, "arguments": args}, ensure_ascii=False)
    return Example("tool_call", [{"role": "system", "content": system}, {"role": "user", "content": request}],
                   f"<tool_call>{call}</tool_call>", {"tool": name, "arguments": args, "request": request})


def creator_reply_example(rng: random.Random) -> Example:
    creator = _handle(rng)
    topics = rng.sample(TOPICS, 3)
    posts = [f"{_sentence(rng, t)}." for t in topics]
    i = rng.randrange(3)
    question = rng.choice(["what do you think about {t}?", "have you ever posted about {t}?",
                           "any thoughts on {t}", "tell me about your {t}", "do you like {t}?"]).format(t=topics[i])
    system = (f"You are {creator.split('_')[0].title()} AI, an AI made by @{creator} to chat with their fans on "
              "Townsquare. You are an AI, not them; say so if asked.\n"
              "Answer briefly from these public posts by your creator. Put their words in quotation marks "
              "exactly as written, followed by the post number, like “…” [1]. Add no facts that are not in "
              "them:\n" + "\n".join(f"[{k}] {p}" for k, p in enumerate(posts, 1)))
    lead = rng.choice(["From my post:", "I wrote about that:", "Here's what I posted:", "On that, I said:"])
    return Example("creator_reply", [{"role": "system", "content": system}, {"role": "user", "content": question}],
                   f"{lead} “{posts[i]}” [{i + 1}]", {"source": i + 1})


def catch_up_example(rng: random.Random) -> Example:
    n = rng.randint(2, 4)
    items = []
    for _ in range(n):
        t = rng.choice(TOPICS)
        items.append((int(_post_id(rng)), _handle(rng), t, _sentence(rng, t)))
    data = [{"post_id": p, "author": f"@{h}", "text": s} for p, h, _, s in items]
    messages = [{"role": "system", "content": "Summarise what is new in the person's feed from these posts, "
                                              "one short line per post, citing each as [post ID]."},
                {"role": "user", "content": "catch me up\nNew posts: " + json.dumps(data, ensure_ascii=False)}]
    # Each line says only what the post says (its own words), citing it.
    lines = [f"@{h}: {s[0].lower() + s[1:]} [post {p}]." for p, h, _, s in items]
    return Example("catch_up", messages, "Here's what's new: " + " ".join(lines), {"posts": [p for p, *_ in items]})


MAKERS: dict[str, Callable[[random.Random], Example]] = {
    "tool_args": tool_args_example, "tool_call": tool_call_example,
    "creator_reply": creator_reply_example, "catch_up": catch_up_example,
}
# The mix: mostly tool arguments and plain tool calls (what a 135M model gets wrong most).
MIX = {"tool_args": 0.4, "tool_call": 0.4, "creator_reply": 0.1, "catch_up": 0.1}


def build_examples(n: int, seed: int = 0, mix: dict[str, float] | None = None) -> list[Example]:
    """``n`` examples drawn by construction (deterministic for a seed)."""
    rng = random.Random(seed)
    mix = mix or MIX
    kinds, weights = zip(*mix.items(), strict=True)
    return [MAKERS[rng.choices(kinds, weights)[0]](rng) for _ in range(n)]


def check_answer(example: Example, answer: str) -> bool:
    """Is ``answer`` right for ``example``? Tool examples: the same call; others: non-empty and citing
    the sources the constructed answer cites."""
    if example.kind == "tool_args":
        try:
            return json.loads(answer) == example.meta["arguments"]
        except (json.JSONDecodeError, TypeError):
            return False
    if example.kind == "tool_call":
        from townsquare.llm.tool_parsers import parse_tool_calls

        _, calls = parse_tool_calls(answer)
        if example.meta["tool"] is None:
            return not calls and bool(answer.strip())
        return len(calls) == 1 and calls[0].name == example.meta["tool"] and calls[0].arguments == example.meta["arguments"]
    if example.kind == "creator_reply":
        return f"[{example.meta['source']}]" in answer and "“" in answer
    if example.kind == "catch_up":
        return all(f"[post {p}]" in answer for p in example.meta["posts"])
    return False


def answer_with_teacher(examples: list[Example], ask: Callable[[list[dict]], str],
                        log: Callable[[str], None] | None = None) -> dict[str, int]:
    """Let a teacher answer every example; keep its answer where ``check_answer`` accepts it (tool
    answers must equal the constructed call; free text must cite the same sources), else keep the
    constructed one. Returns counts of kept teacher answers per kind."""
    kept: dict[str, int] = {}
    for ex in examples:
        answer = ask(ex.messages)
        if answer and check_answer(ex, answer):
            ex.target = answer.strip()
            ex.meta["teacher"] = True
            kept[ex.kind] = kept.get(ex.kind, 0) + 1
    if log:
        log(f"teacher answers kept: {kept} of {len(examples)} examples")
    return kept
