"""From app events to model tensors: the bridge the feed and the trainer use.

An ``Entity`` is a post (of any content type) or an account; an ``Event`` is one thing a person
did with an entity at a time. ``IdVocab`` maps the app's opaque ids to the model's learned-id
indices (frozen at training time; unknown ids map to 0 = "no learned id", so new entities still
get a vector from their content). ``collate`` turns histories into an ``EventBatch`` for training,
``entity_features`` turns a candidate list into ``EntityFeatures`` for scoring.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import torch

from townsquare.rec.model import (
    ACTION_INDEX,
    CONTENT_TYPE_INDEX,
    EntityFeatures,
    History,
    RecConfig,
)
from townsquare.rec.train import EventBatch

# Actions that make the entity a positive target for retrieval ("show me more like this").
POSITIVE_ACTIONS = frozenset({"interact", "open", "like", "comment", "share", "dwell", "follow",
                              "profile_visit", "repost"})


class IdVocab:
    """Opaque id -> index 1..n. ``add`` while building, ``get`` (0 when unknown) when serving."""

    def __init__(self, ids: Iterable[str] = ()) -> None:
        self.index: dict[str, int] = {}
        for i in ids:
            self.add(i)

    def add(self, key: str) -> int:
        return self.index.setdefault(key, len(self.index) + 1)

    def get(self, key: str | None) -> int:
        return self.index.get(key, 0) if key is not None else 0

    def __len__(self) -> int:
        return len(self.index)

    def to_list(self) -> list[str]:
        return list(self.index)  # save in the checkpoint's ``extra``; IdVocab(list) restores it


@dataclass
class Entity:
    """A post or an account. ``key`` is the app's id ("post:123", "account:7"); ``author`` is the
    author's account key (for an account entity, its own key); ``text`` the 384-d MiniLM vector of
    the post text or the account bio (None when absent)."""

    key: str
    content_type: str                   # text, photo, video, link, account
    author: str | None = None
    text: Sequence[float] | torch.Tensor | None = None


@dataclass
class Event:
    entity: Entity
    action: str                         # one of model.ACTIONS
    timestamp: float                    # seconds (UTC epoch)
    labels: dict[str, float] = field(default_factory=dict)   # head -> 1/0; missing = unknown
    target: bool | None = None          # retrieval positive; default: action in POSITIVE_ACTIONS


def entity_features(entities: Sequence[Entity], cfg: RecConfig, ids: IdVocab, authors: IdVocab) -> EntityFeatures:
    """Features [N] of candidate entities (unknown ids and authors map to 0)."""
    n = len(entities)
    text = torch.zeros(n, cfg.text_dim) if cfg.text_dim else None
    for i, e in enumerate(entities):
        if text is not None and e.text is not None:
            text[i] = torch.as_tensor(e.text, dtype=torch.float32)
    return EntityFeatures(
        ids=torch.tensor([ids.get(e.key) if cfg.n_ids else 0 for e in entities], dtype=torch.long),
        content_type=torch.tensor([CONTENT_TYPE_INDEX.get(e.content_type, 0) for e in entities], dtype=torch.long),
        author=torch.tensor([min(authors.get(e.author), cfg.n_authors) for e in entities], dtype=torch.long),
        text=text,
    )


def collate(histories: Sequence[Sequence[Event]], cfg: RecConfig, ids: IdVocab, authors: IdVocab) -> EventBatch:
    """Right-padded EventBatch of the last ``cfg.max_len`` events of each history."""
    hs = [list(h)[-cfg.max_len:] for h in histories]
    B, L = len(hs), max(1, max(len(h) for h in hs))
    flat = [e.entity for h in hs for e in h]
    feats = entity_features(flat, cfg, ids, authors)
    index = torch.tensor([b * L + t for b, h in enumerate(hs) for t in range(len(h))], dtype=torch.long)

    def grid(values: torch.Tensor, fill: float = 0) -> torch.Tensor:
        out = torch.full((B * L, *values.shape[1:]), fill, dtype=values.dtype)
        out[index] = values
        return out.view(B, L, *values.shape[1:])

    ents = EntityFeatures(ids=grid(feats.ids), content_type=grid(feats.content_type), author=grid(feats.author),
                          text=grid(feats.text) if feats.text is not None else None)
    events = [e for h in hs for e in h]
    actions = torch.tensor([ACTION_INDEX.get(e.action, 0) for e in events], dtype=torch.long)
    times = torch.tensor([float(e.timestamp) for e in events], dtype=torch.float64)
    target = torch.tensor([(e.target if e.target is not None else e.action in POSITIVE_ACTIONS) for e in events],
                          dtype=torch.bool)
    labels = torch.full((len(events), len(cfg.heads)), -1.0)
    for i, e in enumerate(events):
        for name, v in e.labels.items():
            if name in cfg.heads:
                labels[i, cfg.heads.index(name)] = float(v)
    t = grid(times)
    # Relative times keep float32 precise: subtract each row's first event time.
    t = (t - t[:, :1]).float()
    keys = torch.tensor([hash(e.entity.key) & 0x7FFFFFFFFFFFFFFF for e in events], dtype=torch.long)
    return EventBatch(
        history=History(entities=ents, lengths=torch.tensor([len(h) for h in hs], dtype=torch.long),
                        actions=grid(actions), times=t),
        target_mask=grid(target, False), labels=grid(labels, -1.0), keys=grid(keys),
    )
