"""People of the synthetic community and their HIDDEN preferences.

The preferences (topic affinities, content-type taste, activity, sociability, patience...) exist only
here and in ``<data_dir>/sim/`` files; the app's tables only ever see what people do.
Everything is a pure function of the seed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from townsquare.sim.vocab import FIRST_NAMES, KINDS, LAST_NAMES, N_TOPICS, TOPICS

DEMO_HANDLE = "demo"
CITIES = ("Lisbon", "Berlin", "Nairobi", "Osaka", "Toronto", "Leeds", "Lyon", "Austin", "Pune", "Bogota",
          "Oslo", "Melbourne", "Accra", "Porto", "Seoul", "Glasgow", "Utrecht", "Valencia", "Cork", "Krakow")
TAGLINES = ("Based in {city}.", "Opinions my own.", "Always learning.", "Probably outside.",
            "Coffee first, then everything else.", "Mostly harmless.", "Slowly getting better at things.",
            "Say hi!", "Living in {city}.", "Here for the good conversations.", "Ask me about {label}.",
            "Posting about {label} and life.", "")


@dataclass
class Population:
    """N people as parallel arrays. Index 0 is the demo account's person (never simulated)."""

    seed: int
    handles: list[str]
    display_names: list[str]
    bios: list[str]
    topics: np.ndarray  # (N, T) affinities, rows sum to 1 (sparse: a few topics dominate)
    kinds: np.ndarray  # (N, 4) taste for text / photo / video / link, rows sum to 1
    activity: np.ndarray  # (N,) chance of opening the app on a day, when satisfied
    sociability: np.ndarray  # (N,) how readily they interact, follow and follow back
    patience: np.ndarray  # (N,) how many disappointing items they scroll past before leaving
    session_items: np.ndarray  # (N,) how many items they look at in a good session, on average
    creator: np.ndarray  # (N,) relative posting rate (heavy tailed: a few people post a lot)
    fame: np.ndarray  # (N,) latent popularity (power-law-ish); drives who gets followed
    quality: np.ndarray  # (N,) mean quality of what they post, in [0, 1]
    is_private: np.ndarray  # (N,) bool

    def __len__(self) -> int:
        return len(self.handles)

    def top_topics(self, i: int, k: int = 3) -> list[int]:
        return [int(t) for t in np.argsort(-self.topics[i])[:k]]

    # --- persistence: <data_dir>/sim/people.npz + people.json -------------------------------------
    ARRAYS = ("topics", "kinds", "activity", "sociability", "patience", "session_items", "creator", "fame",
              "quality", "is_private")

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(folder / "people.npz", **{name: getattr(self, name) for name in self.ARRAYS})
        (folder / "people.json").write_text(json.dumps(
            {"seed": self.seed, "handles": self.handles, "display_names": self.display_names, "bios": self.bios}))

    @classmethod
    def load(cls, folder: Path) -> Population:
        meta = json.loads((folder / "people.json").read_text())
        with np.load(folder / "people.npz") as arrays:
            values = {name: arrays[name] for name in cls.ARRAYS}
        return cls(seed=meta["seed"], handles=meta["handles"], display_names=meta["display_names"],
                   bios=meta["bios"], **values)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9_]", "", text.lower())


def _handle(rng: np.random.Generator, first: str, last: str, topic_key: str, taken: set[str]) -> str:
    word = topic_key.split("_")[0]
    options = (f"{first}{last}", f"{first}_{last}", f"{first}_{word}", f"{first}{last[0]}",
               f"{word}_{first}", f"{first}{last}{rng.integers(1, 99)}")
    for option in rng.permutation(len(options)):
        handle = _slug(options[option])[:30]
        if handle and handle not in taken:
            return handle
    base = _slug(f"{first}{last}")[:24]
    n = 2
    while f"{base}{n}" in taken:
        n += 1
    return f"{base}{n}"


def _lower(label: str) -> str:
    return label if label.isupper() else label.lower()


def _bio(rng: np.random.Generator, top: list[int]) -> str:
    main = TOPICS[top[0]]
    role = main.roles[rng.integers(len(main.roles))]
    labels = [_lower(TOPICS[t].label) for t in top]
    interests = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    tagline = TAGLINES[rng.integers(len(TAGLINES))].format(
        city=CITIES[rng.integers(len(CITIES))], label=_lower(TOPICS[top[int(rng.integers(len(top)))]].label))
    return f"{role[0].upper()}{role[1:]}. Into {interests}. {tagline}".strip()


def generate_people(n: int, seed: int) -> Population:
    """Draw ``n`` people (n >= 2). Index 0 is the demo person."""
    if n < 2:
        raise ValueError("a community needs at least 2 people")
    rng = np.random.default_rng([seed, 1])
    # Some topics are more popular than others across the community.
    topic_popularity = rng.dirichlet(np.full(N_TOPICS, 3.0))
    topics = np.empty((n, N_TOPICS))
    for i in range(n):
        k = int(min(5, 1 + rng.poisson(1.6)))
        chosen = rng.choice(N_TOPICS, size=k, replace=False, p=topic_popularity)
        row = np.full(N_TOPICS, 0.02 / N_TOPICS)  # a faint background interest in everything
        row[chosen] += rng.dirichlet(np.full(k, 1.2))
        topics[i] = row / row.sum()
    natural_kinds = np.array([t.kinds for t in TOPICS])
    kinds = 0.5 * rng.dirichlet([2.0, 2.0, 1.5, 1.0], size=n) + 0.5 * (topics @ natural_kinds)
    kinds /= kinds.sum(axis=1, keepdims=True)
    heavy = rng.random(n) < 0.2
    activity = np.where(heavy, rng.beta(8, 2, n), rng.beta(2, 4, n))
    sociability = rng.beta(2, 3, n)
    patience = 1.5 + rng.gamma(2.0, 1.5, n)
    session_items = np.where(heavy, 25 + rng.gamma(2, 8, n), 8 + rng.gamma(2, 4, n))
    creator = rng.lognormal(0.0, 1.0, n) * np.where(rng.random(n) < 0.1, 5.0, 1.0)
    fame = creator ** 0.7 * rng.lognormal(0.0, 0.6, n)
    quality = rng.beta(5, 2, n)
    is_private = rng.random(n) < 0.08

    taken: set[str] = {DEMO_HANDLE, "admin"}
    handles, names, bios = [], [], []
    for i in range(n):
        first = FIRST_NAMES[rng.integers(len(FIRST_NAMES))]
        last = LAST_NAMES[rng.integers(len(LAST_NAMES))]
        top = [int(t) for t in np.argsort(-topics[i])[: int(min(3, 1 + (topics[i] > 0.15).sum()))]]
        top = [t for t in top if topics[i, t] > 0.08] or top[:1]
        if i == 0:
            handles.append(DEMO_HANDLE)
            names.append("Demo Person")
        else:
            handle = _handle(rng, first, last, TOPICS[top[0]].key, taken)
            taken.add(handle)
            handles.append(handle)
            names.append(f"{first} {last}")
        bios.append(_bio(rng, top))
    # The demo person: curious about many things, active, sociable, public.
    topics[0] = rng.dirichlet(np.full(N_TOPICS, 1.0))
    activity[0], sociability[0], is_private[0] = 0.9, 0.6, False
    return Population(seed=seed, handles=handles, display_names=names, bios=bios, topics=topics,
                      kinds=kinds, activity=activity, sociability=sociability, patience=patience,
                      session_items=session_items, creator=creator, fame=fame, quality=quality,
                      is_private=is_private)


def kind_index(kind: str) -> int:
    return KINDS.index(kind)
