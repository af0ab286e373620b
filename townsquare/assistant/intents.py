"""Which tool a request (or one clause of it) asks for: similarity to examples of each tool.

Each tool has a description and examples written for this module (several styles: plain, terse,
casual, polite, indirect), plus ``chat`` for messages that need no tool (thanks, small talk,
general knowledge). A clause is embedded with the bundled MiniLM model (``embed_texts``) and each
intent scores the mean of its three most similar examples; the best intent wins. People and quoted
texts are replaced by placeholders first (``@someone``, ``"something"``), as in the examples, so
that what is asked decides, not who or what it is about.
"""

from __future__ import annotations

import threading

import numpy as np

CHAT = "chat"

EXAMPLES: dict[str, list[str]] = {
    "search_posts": [
        "find posts about birdwatching", "search for knitting", "show me posts on electric cars",
        "anything about the marathon?", "what are people saying about the new bakery",
        "has anyone posted about sourdough starters", "posts about vegan recipes please",
        "look for posts mentioning the heatwave", "any talk about the election here?",
        "is anyone writing about rock climbing gyms", "what's the buzz on the festival",
        "search posts from people I follow about chess", "what have my friends posted about baking",
        "only from accounts I follow: posts on yoga", "got anything on woodworking",
        "I'm planning a trip to Japan, has anyone shared tips?", "search: tennis",
        "can you dig up posts about vinyl records", "show me what folks post about surfing",
    ],
    "search_people": [
        "find @someone", "look up @someone", "who is @someone", "search for the account @someone",
        "find people who like pottery", "find people into astronomy", "people who post about chess?",
        "is there anyone here who knows about beekeeping", "show me the profile of @someone",
        "I want to check out @someone's profile", "what's @someone's handle?", "people: @someone",
        "look for accounts about marine biology", "search people named @someone",
    ],
    "catch_me_up": [
        "catch me up", "what did I miss?", "what's new in my feed", "anything new?",
        "summarise my timeline", "give me a recap of my feed", "what happened while I was away",
        "I've been offline for a few days, what's going on?", "fill me in on what my friends posted",
        "what's been happening on my timeline today", "news from the people I follow?",
        "brief me on my feed", "what happened in the last 5 hours", "whats up on here lately",
        "back after a long break, what's been going on", "quick summary of my home feed please",
        "give me a rundown of what my friends have been up to", "what have the people I follow been doing",
        "I haven't checked the app in ages, what's happening", "any updates from my network?",
        "any news in my timeline?", "what's the latest from my friends",
    ],
    "explain_post": [
        "why is post 12 in my feed?", "why am I seeing post 40", "explain post 7",
        "why did the app show me post 33", "how did post 18 get into my timeline",
        "what made post 5 show up for me", "post 90: why is it here?", "why was I recommended post 21",
        "is post 14 in my feed because of the algorithm?", "explain why post 8 appeared",
    ],
    "suggest_follows": [
        "who should I follow?", "suggest some accounts to follow", "recommend people for me to follow",
        "any good accounts about astronomy to follow?", "who should I follow for knitting?",
        "I need new people in my feed", "find me interesting people to follow",
        "accounts worth following for baking?", "who do my friends follow that I don't?",
        "people you may know", "suggest people who post about chess", "who would you add to my follows",
        "I want more people posting about birds in my feed",
    ],
    "draft_post": [
        "draft a post about my new bike", "write me a post announcing our bake sale",
        "help me write a caption for my beach photos", "can you draft something about my promotion",
        "write a post thanking my followers", "I want to share that I adopted a cat but don't know how "
        "to word it", "draft a tweet about the concert last night", "compose a post inviting friends "
        "to a picnic", "help me word a post about my exam results", "suggest a caption for my dog photo",
        "write something I could post about my garden",
    ],
    "read_notifications": [
        "check my notifications", "any notifications?", "read my notifications", "did anyone reply to me?",
        "who liked my posts?", "did my post get any reactions", "anyone mention me?",
        "do I have new followers", "show my alerts", "any new messages or mentions?",
        "has anyone commented on my stuff", "what are my latest notifications",
    ],
    "ask_about_post": [
        "what does post 12 say?", "who wrote post 30?", "what are people saying in the comments of post 9",
        "summarise the replies to post 15", "whose post is 22?", "what is post 4 about?",
        "show me post 19", "read post 11 to me", "what's the discussion under post 8",
        "tell me about post 27", "what did people reply to my post 3", "open post 16",
    ],
    "publish_post": [
        'post "something"', 'publish: "something"', 'put up a post saying "something"',
        'share this: "something"', 'post this for me: "something"', 'publish a post that says "something"',
        "tweet that I'm back", 'share with my followers only: "something"', 'announce "something"',
        'make a post saying "something"', 'can you publish "something" for me',
    ],
    "comment_on_post": [
        'comment "something" on post 12', 'reply to post 40 with: "something"',
        'leave a comment on post 7 saying "something"', 'comment on 18: "something"',
        'write "something" under post 5', 'tell @someone "something" on their post 31',
        'respond to post 14: "something"', 'drop a "something" on post 9',
        'add a comment to post 22 that says "something"', 'answer @someone on post 3: "something"',
    ],
    "follow": [
        "follow @someone", "follow @someone for me", "start following @someone",
        "add @someone to the people I follow", "please follow @someone", "can you follow @someone",
        "I want to follow @someone", "subscribe to @someone", "follow the author of post 12",
        "whoever wrote post 8, follow them", "find @someone and follow them",
    ],
    "unfollow": [
        "unfollow @someone", "stop following @someone", "remove @someone from the people I follow",
        "I don't want to follow @someone anymore", "unsubscribe from @someone", "drop @someone from my follows",
        "please unfollow @someone", "I'm done with @someone's posts, unfollow them",
    ],
    "react_to_post": [
        "like post 12", "heart post 40", "react with haha to post 7", "give post 18 a like",
        "upvote post 5", "please like post 31 for me", "love post 14", "thumbs up on post 9",
        "react to post 22 with wow", "like @someone's post 30", "send a sad reaction to post 6",
    ],
    CHAT: [
        "thanks!", "thank you, that's all", "ok", "cool, thanks", "never mind", "hello", "hi there",
        "how are you?", "good morning", "tell me a joke", "you're funny", "lol", "I'm tired",
        "what's the capital of Italy?", "how many legs does a spider have?", "what is 12 times 7?",
        'translate "something" into Spanish', 'how do you say "something" in German', "what's the boiling point of milk", "who wrote Hamlet?",
        "I love this app", "this place is so calm", "I'm bored", "sometimes I feel lonely",
        "what can you do?", "goodbye", "see you later", "nothing, just saying hi",
        "how do you spell necessary", "what year did the first moon landing happen",
        "I don't need anything right now", "that's helpful", "great, thanks a lot",
    ],
}


class IntentModel:
    """Nearest examples by embedding; the matrix of examples is embedded once per settings."""

    def __init__(self, settings=None, examples: dict[str, list[str]] | None = None, k: int = 3) -> None:
        self.settings = settings
        self.examples = examples or EXAMPLES
        self.k = k
        self._labels: list[str] = []
        self._matrix: np.ndarray | None = None
        self._lock = threading.Lock()

    def _embed(self, texts: list[str]) -> np.ndarray:
        from townsquare.llm.embeddings import embed_texts

        return embed_texts(texts, settings=self.settings)

    def _ensure(self) -> None:
        with self._lock:
            if self._matrix is None:
                self._labels = [label for label, texts in self.examples.items() for _ in texts]
                self._matrix = self._embed([t for texts in self.examples.values() for t in texts])

    def scores(self, texts: list[str]) -> list[dict[str, float]]:
        """Per text: each intent's score (mean similarity of its ``k`` nearest examples)."""
        self._ensure()
        sims = self._embed(texts) @ self._matrix.T
        labels = np.array(self._labels)
        out = []
        for row in sims:
            scores = {}
            for label in self.examples:
                mine = np.sort(row[labels == label])[::-1][: self.k]
                scores[label] = float(mine.mean())
            out.append(scores)
        return out


_models: dict[tuple, IntentModel] = {}
_models_lock = threading.Lock()


def intent_model(settings=None) -> IntentModel:
    """One model per embeddings configuration, shared by every turn."""
    key = (getattr(settings, "embeddings_backend", None), getattr(settings, "embeddings_model", None),
           getattr(settings, "llm_base_url", None))
    with _models_lock:
        if key not in _models:
            _models[key] = IntentModel(settings)
        return _models[key]
