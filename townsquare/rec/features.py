"""From tokens to tensors: text embeddings (cached), the entity vocabulary, batches.

* ``TextEmbeddingCache``: ``<data_dir>/rec/text-embeddings.npz``, one unit vector per key. A post's
  key is its id + ``edited_at`` (an edit re-embeds it); an account's key is its id + a hash of its
  name and bio. Missing texts are embedded in batches with a progress bar; the file is rewritten
  atomically every few batches, so a stopped run keeps what it computed.
* ``FeatureSpace``: the learned-id vocabulary (posts and accounts seen in training), the author
  vocabulary and the time origin. Saved in every checkpoint; anything outside it (a post written a
  minute ago, a new author) gets index 0 and is represented by its content alone.
* ``EntityTable`` / ``EncodedLog``: every entity's features in flat arrays and every person's
  token sequence as indices into them, so a batch is a handful of gathers.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from townsquare.rec.heads import POST_HEADS
from townsquare.rec.training_data import AccountInfo, LogData, PostInfo, Token

Embedder = Callable[[list[str]], np.ndarray]

CONTENT_TYPE_NAMES = ("none", "text", "photo", "video", "link", "account")  # = model.CONTENT_TYPES


def post_key(p: PostInfo) -> str:
    return f"p{p.id}:{p.edited_at.timestamp() if p.edited_at else 0:.0f}"


def account_key(a: AccountInfo) -> str:
    return f"a{a.id}:{hashlib.sha1(a.text.encode()).hexdigest()[:16]}"


def entity_key(kind: str, entity_id: int) -> int:
    """A stable integer per entity (posts even, accounts odd): tells entities apart in a batch."""
    return 2 * entity_id + (kind == "account")


class TextEmbeddingCache:
    """Unit text vectors by key, stored in one ``.npz`` file written atomically."""

    SAVE_EVERY = 20  # batches

    def __init__(self, path: Path, dim: int) -> None:
        self.path = Path(path)
        self.dim = dim
        self._index: dict[str, int] = {}
        self._buf = np.zeros((0, dim), dtype=np.float32)  # rows [0, len(self._index)) are filled
        if self.path.exists():
            try:
                with np.load(self.path) as z:
                    keys, vectors = list(z["keys"]), z["vectors"].astype(np.float32)
                if vectors.ndim == 2 and vectors.shape[1] == dim and len(keys) == len(vectors):
                    self._index = {str(k): i for i, k in enumerate(keys)}
                    self._buf = vectors
            except (OSError, ValueError, KeyError):
                pass  # an unreadable cache is rebuilt, never trusted

    def __len__(self) -> int:
        return len(self._index)

    def _vectors(self) -> np.ndarray:
        return self._buf[:len(self._index)]

    def _append(self, vecs: np.ndarray) -> None:
        n = len(self._index)
        if n + len(vecs) > len(self._buf):  # grow by doubling: adding one row copies one row
            grown = np.zeros((max(n + len(vecs), 2 * len(self._buf), 64), self.dim), dtype=np.float32)
            grown[:n] = self._buf[:n]
            self._buf = grown
        self._buf[n:n + len(vecs)] = vecs

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        keys = np.array(sorted(self._index, key=self._index.get), dtype=str)
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp.npz")
        np.savez(tmp, keys=keys, vectors=self._vectors())
        os.replace(tmp, self.path)

    def lookup(self, keys: list[str], texts: list[str], embed: Embedder, *, batch_size: int = 256,
               progress: bool = False, save: bool = True) -> np.ndarray:
        """Vectors [len(keys), dim] for these keys, embedding the texts of the missing ones.
        Empty texts get a zero vector (nothing to say about them)."""
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts, strict=True):
            if k not in self._index and k not in missing:
                missing[k] = t
        if missing:
            items = list(missing.items())
            batches = [items[i:i + batch_size] for i in range(0, len(items), batch_size)]
            for n, batch in enumerate(_bar(batches, progress, f"embedding {len(items)} texts", len(items))):
                vecs = np.zeros((len(batch), self.dim), dtype=np.float32)
                nonempty = [i for i, (_, t) in enumerate(batch) if t.strip()]
                if nonempty:
                    out = np.asarray(embed([batch[i][1] for i in nonempty]), dtype=np.float32)
                    if out.shape != (len(nonempty), self.dim):
                        raise ValueError(f"the embedder returned shape {out.shape}, expected "
                                         f"({len(nonempty)}, {self.dim})")
                    vecs[nonempty] = out
                start = len(self._index)
                self._append(vecs)
                for i, (k, _) in enumerate(batch):
                    self._index[k] = start + i
                if save and (n + 1) % self.SAVE_EVERY == 0:
                    self.save()
            if save:
                self.save()
        matrix = self._vectors()
        return matrix[[self._index[k] for k in keys]] if keys else np.zeros((0, self.dim), dtype=np.float32)


def _bar(items: list, enabled: bool, label: str, total_texts: int):
    if not enabled or len(items) <= 1:
        yield from items
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn()) as bar:
        task = bar.add_task(label, total=len(items))
        for item in items:
            yield item
            bar.advance(task)


# ---------------------------------------------------------------------------------------------
# Vocabulary.

@dataclass
class FeatureSpace:
    post_ids: list[int]
    account_ids: list[int]
    author_ids: list[int]
    origin: float           # UNIX seconds; model times are seconds since the origin
    text_dim: int
    graph_tokens: int = 0   # each history starts with up to this many "follows X" tokens
    context_dim: int = 0    # per-candidate context for the action heads (``context_row``); 0 = off
    _post: dict[int, int] = field(default_factory=dict, repr=False)
    _account: dict[int, int] = field(default_factory=dict, repr=False)
    _author: dict[int, int] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._post = {p: i + 1 for i, p in enumerate(self.post_ids)}
        base = len(self.post_ids)
        self._account = {a: base + i + 1 for i, a in enumerate(self.account_ids)}
        self._author = {a: i + 1 for i, a in enumerate(self.author_ids)}

    @property
    def n_ids(self) -> int:
        return len(self.post_ids) + len(self.account_ids)

    @property
    def n_authors(self) -> int:
        return len(self.author_ids)

    def id_index(self, kind: str, entity_id: int) -> int:
        return (self._post if kind == "post" else self._account).get(entity_id, 0)

    def author_index(self, account_id: int | None) -> int:
        return self._author.get(account_id, 0) if account_id is not None else 0

    def time(self, ts: datetime) -> float:
        return ts.timestamp() - self.origin

    def to_dict(self) -> dict:
        return {"post_ids": self.post_ids, "account_ids": self.account_ids, "author_ids": self.author_ids,
                "origin": self.origin, "text_dim": self.text_dim, "graph_tokens": self.graph_tokens,
                "context_dim": self.context_dim}

    @classmethod
    def from_dict(cls, d: dict) -> FeatureSpace:
        return cls(post_ids=list(d["post_ids"]), account_ids=list(d["account_ids"]),
                   author_ids=list(d["author_ids"]), origin=float(d["origin"]), text_dim=int(d["text_dim"]),
                   graph_tokens=int(d.get("graph_tokens", 0)), context_dim=int(d.get("context_dim", 0)))

    @classmethod
    def from_training(cls, data: LogData, text_dim: int, min_count: int = 1, graph_tokens: int = 0,
                      context: bool = False) -> FeatureSpace:
        """Learned ids for entities met in the training split only (later ones are content-only)."""
        posts: dict[int, int] = {}
        accounts: dict[int, int] = {}
        authors: set[int] = set()
        for person, toks in data.sequences.items():
            authors.add(person)
            for t in toks:
                if t.split != "train":
                    break
                d = posts if t.kind == "post" else accounts
                d[t.entity_id] = d.get(t.entity_id, 0) + 1
                authors.add(data.author_of(t))
        authors.discard(None)
        return cls(post_ids=sorted(p for p, c in posts.items() if c >= min_count),
                   account_ids=sorted(a for a, c in accounts.items() if c >= min_count),
                   author_ids=sorted(authors), origin=data.window.since.timestamp(), text_dim=text_dim,
                   graph_tokens=graph_tokens, context_dim=len(CONTEXT_FEATURES) if context else 0)


# ---------------------------------------------------------------------------------------------
# Entities and sequences as arrays.

def content_type_index(kind: str) -> int:
    return CONTENT_TYPE_NAMES.index(kind) if kind in CONTENT_TYPE_NAMES else 0


# Context of a (person, candidate) pair at the moment it is shown, for the action heads: what the
# entity and history vectors cannot say directly. Computed the same way in training (from the log,
# as of the token's start: follows and engagements strictly before it) and in serving (now).
# A checkpoint stores its ``context_dim``: a model trained with the first n features (an older
# version of this list) is served with those n only (``context_row(...)[:n]``).
CONTEXT_FEATURES = ("in_network", "follows_viewer", "age", "content_sim", "content_knn")
AGE_SCALE_H = 168.0  # a week
PROFILE_POSTS = 50   # the content profile: the person's last this many engaged posts
KNN_POSTS = 3        # content_knn: mean cosine with this many nearest engaged posts


def context_row(in_network: bool, follows_viewer: bool, age_s: float, content_sim: float = 0.0,
                content_knn: float = 0.0) -> list[float]:
    """[person follows the author, the author follows the person, log post age (0 now, 1 = a week),
    cosine of the post's text with the person's content profile (0 without one), the post's mean
    cosine with its ``KNN_POSTS`` nearest among the person's last engaged posts (0 without any)]."""
    age_h = max(0.0, age_s) / 3600
    return [float(in_network), float(follows_viewer), min(math.log1p(age_h) / math.log1p(AGE_SCALE_H), 2.0),
            float(content_sim), float(content_knn)]


def context_rows(in_network: np.ndarray, follows_viewer: np.ndarray, age_s: np.ndarray, content_sim: np.ndarray,
                 content_knn: np.ndarray) -> np.ndarray:
    """``context_row`` of many candidates at once: [n, len(CONTEXT_FEATURES)] float32 (serving)."""
    age_h = np.maximum(np.asarray(age_s, dtype=np.float64), 0.0) / 3600
    age = np.minimum(np.log1p(age_h) / math.log1p(AGE_SCALE_H), 2.0)
    cols = (in_network, follows_viewer, age, content_sim, content_knn)
    return np.stack([np.asarray(c, dtype=np.float64) for c in cols], axis=1).astype(np.float32)


def knn_similarity(text: np.ndarray, engaged: np.ndarray | None, k: int = KNN_POSTS) -> np.ndarray:
    """For each row of ``text`` [n, dim] (unit vectors): the mean of its ``k`` highest cosines with
    the rows of ``engaged`` [m, dim] (0 when there are none). Unlike the cosine with the mean profile,
    a person with several separate interests is close to each of them."""
    text = np.asarray(text, dtype=np.float32).reshape(-1, np.shape(text)[-1])
    if engaged is None or not len(engaged) or not len(text):
        return np.zeros(len(text), dtype=np.float32)
    sims = text @ np.asarray(engaged, dtype=np.float32).T
    k = min(k, sims.shape[1])
    return np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:].mean(axis=1).astype(np.float32)


def content_profile(text_vectors: np.ndarray) -> np.ndarray | None:
    """Unit mean of the text vectors of posts a person engaged with (None when there are none)."""
    if not len(text_vectors):
        return None
    m = np.asarray(text_vectors, dtype=np.float64).mean(axis=0)
    n = float(np.linalg.norm(m))
    return (m / n).astype(np.float32) if n > 0 else None


def token_context(person: int, tok: Token, data: LogData, content_sim: float = 0.0,
                  content_knn: float = 0.0) -> list[float]:
    """``context_row`` of one token from the log, knowing nothing after the token's start."""
    if tok.kind == "post":
        p = data.posts.get(tok.entity_id)
        if p is None:
            return [0.0] * len(CONTEXT_FEATURES)
        author, age_s = p.author_id, (tok.ts - p.created_at).total_seconds()
    else:
        author, age_s = tok.entity_id, 0.0
    tl = data.timeline
    return context_row(tl.following_at(person, author, tok.ts), tl.following_at(author, person, tok.ts), age_s,
                       content_sim, content_knn)


def sequence_context(person: int, tokens: list[Token], text: np.ndarray, data: LogData) -> np.ndarray:
    """Context rows [T, len(CONTEXT_FEATURES)] of a person's tokens; ``text`` [T, dim] are the tokens'
    text vectors. The content profile of token k holds only engaged posts whose episode ended
    before token k started (no look-ahead)."""
    out = np.zeros((len(tokens), len(CONTEXT_FEATURES)), dtype=np.float32)
    pending: list[tuple] = []  # (episode end, index) of engaged posts not yet in the profile
    profile: list[int] = []
    for k, tok in enumerate(tokens):
        while pending and pending[0][0] < tok.ts:
            profile.append(heapq.heappop(pending)[1])
        prof = content_profile(text[profile[-PROFILE_POSTS:]]) if tok.kind == "post" and profile else None
        sim = float(text[k] @ prof) if prof is not None else 0.0
        knn = float(knn_similarity(text[k:k + 1], text[profile[-PROFILE_POSTS:]])[0]) if prof is not None else 0.0
        out[k] = token_context(person, tok, data, sim, knn)
        if tok.kind == "post" and tok.target:
            heapq.heappush(pending, (tok.last_ts or tok.ts, k))
    return out


@dataclass
class EntityTable:
    """Features of a set of entities; row r describes ``keys[r]``."""

    keys: np.ndarray         # int64 [N] entity_key
    ids: np.ndarray          # int64 [N] learned-id index
    ctype: np.ndarray        # int64 [N]
    author: np.ndarray       # int64 [N]
    text: np.ndarray         # float32 [N, text_dim]
    row: dict[int, int]      # entity_key -> row

    @classmethod
    def build(cls, space: FeatureSpace, posts: Iterable[PostInfo], accounts: Iterable[AccountInfo],
              cache: TextEmbeddingCache, embed: Embedder, progress: bool = False) -> EntityTable:
        posts, accounts = list(posts), list(accounts)
        keys = [entity_key("post", p.id) for p in posts] + [entity_key("account", a.id) for a in accounts]
        ids = [space.id_index("post", p.id) for p in posts] + [space.id_index("account", a.id) for a in accounts]
        ctype = [content_type_index(p.kind) for p in posts] + [content_type_index("account")] * len(accounts)
        author = [space.author_index(p.author_id) for p in posts] + [space.author_index(a.id) for a in accounts]
        text = cache.lookup([post_key(p) for p in posts] + [account_key(a) for a in accounts],
                            [p.text for p in posts] + [a.text for a in accounts], embed, progress=progress)
        return cls(keys=np.asarray(keys, dtype=np.int64), ids=np.asarray(ids, dtype=np.int64),
                   ctype=np.asarray(ctype, dtype=np.int64), author=np.asarray(author, dtype=np.int64),
                   text=text.astype(np.float32), row={k: i for i, k in enumerate(keys)})

    def __len__(self) -> int:
        return len(self.keys)

    def features(self, rows: np.ndarray):
        """EntityFeatures for rows of any shape (row -1 = padding: all zeros)."""
        import torch

        from townsquare.rec.model import EntityFeatures

        rows = np.asarray(rows, dtype=np.int64)
        pad = rows < 0
        r = np.where(pad, 0, rows)

        def take(a: np.ndarray) -> np.ndarray:
            out = a[r]
            out[pad] = 0
            return out

        return EntityFeatures(ids=torch.from_numpy(take(self.ids)), content_type=torch.from_numpy(take(self.ctype)),
                              author=torch.from_numpy(take(self.author)), text=torch.from_numpy(take(self.text)))


def action_index(name: str) -> int:
    from townsquare.rec.model import ACTION_INDEX

    return ACTION_INDEX.get(name, ACTION_INDEX["interact"])


@dataclass
class EncodedSequence:
    person: int
    rows: np.ndarray      # int64 [T] rows of the entity table
    actions: np.ndarray   # int64 [T]
    times: np.ndarray     # float64 [T] seconds since the origin
    target: np.ndarray    # bool [T]
    labels: np.ndarray    # float32 [T, H]
    split: np.ndarray     # int8 [T]: 0 train, 1 valid, 2 test
    follow_times: np.ndarray = field(default_factory=lambda: np.zeros(0))   # float64 [F], sorted
    follow_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # [F] table rows
    context: np.ndarray | None = None  # float32 [T, context_dim] (``token_context``), when the space has it

    def graph_prefix(self, before: float, g: int) -> tuple[np.ndarray, np.ndarray]:
        """The last ``g`` accounts followed strictly before time ``before``: (rows, times)."""
        if g <= 0 or len(self.follow_times) == 0:
            return self.follow_rows[:0], self.follow_times[:0]
        end = int(np.searchsorted(self.follow_times, before, side="left"))
        return self.follow_rows[max(0, end - g):end], self.follow_times[max(0, end - g):end]

    def split_range(self, split: int) -> tuple[int, int]:
        """[start, end) of the tokens of a split (splits are contiguous: time order)."""
        start = int(np.searchsorted(self.split, split, side="left"))
        end = int(np.searchsorted(self.split, split, side="right"))
        return start, end


def encode_tokens(person: int, tokens: list[Token], table: EntityTable, space: FeatureSpace,
                  data: LogData | None = None) -> EncodedSequence:
    rows = np.asarray([table.row.get(entity_key(t.kind, t.entity_id), -1) for t in tokens], dtype=np.int64)
    keep = rows >= 0
    tokens = [t for t, k in zip(tokens, keep, strict=True) if k]
    rows = rows[keep]
    split_no = {"train": 0, "valid": 1, "test": 2}
    labels = np.asarray([t.labels if t.labels is not None else [-1.0] * len(POST_HEADS) for t in tokens],
                        dtype=np.float32).reshape(len(tokens), len(POST_HEADS))
    context = None
    if space.context_dim and data is not None:
        context = sequence_context(person, tokens, table.text[rows], data)[:, :space.context_dim]
    return EncodedSequence(
        person=person, rows=rows, context=context,
        actions=np.asarray([action_index(t.action) for t in tokens], dtype=np.int64),
        times=np.asarray([space.time(t.ts) for t in tokens], dtype=np.float64),
        target=np.asarray([t.target for t in tokens], dtype=bool),
        labels=labels,
        split=np.asarray([split_no[t.split] for t in tokens], dtype=np.int8),
    )


@dataclass
class EncodedLog:
    data: LogData
    space: FeatureSpace
    table: EntityTable
    sequences: list[EncodedSequence]

    @classmethod
    def build(cls, data: LogData, space: FeatureSpace, cache: TextEmbeddingCache, embed: Embedder,
              progress: bool = False) -> EncodedLog:
        table = EntityTable.build(space, data.posts.values(), data.accounts.values(), cache, embed, progress)
        seqs = [encode_tokens(p, toks, table, space, data) for p, toks in data.sequences.items()]
        if space.graph_tokens:
            by_person: dict[int, list[tuple[float, int]]] = {}
            for (a, b), times in data.timeline.follow_times.items():
                r = table.row.get(entity_key("account", b))
                if r is not None and times:
                    by_person.setdefault(a, []).append((space.time(times[0]), r))
            for sq in seqs:
                f = sorted(by_person.get(sq.person, []))
                sq.follow_times = np.asarray([t for t, _ in f], dtype=np.float64)
                sq.follow_rows = np.asarray([r for _, r in f], dtype=np.int64)
        return cls(data=data, space=space, table=table, sequences=[s for s in seqs if len(s.rows)])


def windows(end: int, max_len: int, start: int = 0, predict_first: bool = False) -> list[tuple[int, int]]:
    """Windows [a, b) of up to ``max_len`` tokens over [0, end), cut from the end. Without a graph
    prefix they overlap by one token, so that every position p >= 1 is predicted (from p - 1) in
    exactly one window; with one (``predict_first``) a window's first token is predicted from the
    prefix, so they do not overlap. Only windows that predict a position >= ``start`` are returned."""
    out = []
    b = end
    while b >= (1 if predict_first else 2) and b > start:
        a = max(0, b - max_len)
        out.append((a, b))
        if a == 0:
            break
        b = a if predict_first else a + 1
    return out


def make_batch(log: EncodedLog, items: list[tuple[int, int, int]], offsets: list[int] | None = None):
    """EventBatch from ``(sequence index, a, b)`` windows, right-padded. With ``graph_tokens``, each
    row starts with "follows X" tokens (the accounts followed before the window: no labels, never a
    target); ``offsets`` (if given) receives each row's prefix length."""
    import torch

    from townsquare.rec.model import History
    from townsquare.rec.train import EventBatch

    g = log.space.graph_tokens
    follow = action_index("follow")
    prefixes = [log.sequences[s].graph_prefix(log.sequences[s].times[a], g) for s, a, _ in items]
    B = len(items)
    L = max(len(pr[0]) + b - a for pr, (_, a, b) in zip(prefixes, items, strict=True))
    H = len(POST_HEADS)
    rows = np.full((B, L), -1, dtype=np.int64)
    acts = np.zeros((B, L), dtype=np.int64)
    times = np.zeros((B, L), dtype=np.float32)
    target = np.zeros((B, L), dtype=bool)
    labels = np.full((B, L, H), -1.0, dtype=np.float32)
    C = log.space.context_dim
    context = np.zeros((B, L, C), dtype=np.float32) if C else None
    lengths = np.zeros(B, dtype=np.int64)
    for i, (s, a, b) in enumerate(items):
        seq = log.sequences[s]
        p_rows, p_times = prefixes[i]
        o = len(p_rows)
        n = b - a
        t0 = p_times[0] if o else seq.times[a]
        rows[i, :o] = p_rows
        acts[i, :o] = follow
        times[i, :o] = p_times - t0
        rows[i, o:o + n] = seq.rows[a:b]
        acts[i, o:o + n] = seq.actions[a:b]
        # Times relative to the row's first token keep float32 precise.
        times[i, o:o + n] = seq.times[a:b] - t0
        target[i, o:o + n] = seq.target[a:b]
        labels[i, o:o + n] = seq.labels[a:b]
        if context is not None and seq.context is not None:
            context[i, o:o + n] = seq.context[a:b]
        lengths[i] = o + n
        if offsets is not None:
            offsets.append(o)
    ents = log.table.features(rows)
    keys = np.where(rows >= 0, log.table.keys[np.maximum(rows, 0)], -1)
    history = History(entities=ents, lengths=torch.from_numpy(lengths), actions=torch.from_numpy(acts),
                      times=torch.from_numpy(times))
    return EventBatch(history=history, target_mask=torch.from_numpy(target), labels=torch.from_numpy(labels),
                      keys=torch.from_numpy(keys), context=None if context is None else torch.from_numpy(context))
