"""Serving the active unified model to the feed: ``Scorer``.

    scorer = Scorer.load_active(settings)            # None (and a log line why) when no usable model
    state = scorer.encode(account_id)                 # the person's recent history, encoded once
    scorer.retrieve(state, k=200, kind="post", exclude=seen)    # [(post_id, score)], best first
    scorer.score(state, post_ids)                     # {head: np.ndarray[len(post_ids)]} probabilities
    scorer.score_accounts(state, account_ids)         # {"follow": ..., "two_way": ...}

What it keeps in memory: the model, and the features + retrieval vectors of the most recent
``max_posts`` live posts and every active account, computed at load in batches. A post or account
it has not seen (created after the load, or older than the window) is added on demand from the
database through the content tower (text embedding + content type + author), so a post made a
minute ago is scorable. ``retrieve`` also pulls posts created since the last pull every
``refresh_s`` seconds, in a background thread (and retires posts deleted or removed since, and
accounts no longer active).
User states are cached for ``state_ttl_s`` seconds.

Skips, never errors: an id that does not exist, is deleted or removed, belongs to a suspended
account, or that the person may not see (followers-only without following, blocked or muted
author) scores 0 on every head in ``score``/``score_accounts`` and is never retrieved.
``retrieve`` also leaves out the person's own posts, posts already in their encoded history,
posts older than ``retrieval_days`` (3) before the newest post, accounts they already follow, and
themselves.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, fields
from datetime import datetime

import numpy as np
from sqlalchemy import select

from townsquare.background import SingleFlight
from townsquare.db.ids import id_list, in_ids
from townsquare.rec.features import (
    CONTEXT_FEATURES,
    PROFILE_POSTS,
    Embedder,
    FeatureSpace,
    TextEmbeddingCache,
    account_key,
    action_index,
    content_profile,
    content_type_index,
    context_rows,
    knn_similarity,
    post_key,
)
from townsquare.rec.heads import ACCOUNT_HEADS, LONG_TERM_HEADS, POST_HEADS
from townsquare.rec.training_data import (
    AccountInfo,
    PostInfo,
    load_accounts,
    tokenize,
)
from townsquare.social.events import EventRecord

log = logging.getLogger("townsquare.rec.serve")

EVENT_FIELDS = len(fields(EventRecord))  # id, ts, actor_id, action, entity_type, entity_id, surface, ...


@dataclass(slots=True)  # no per-state __dict__: the state cache adds fewer objects to every full collection
class UserState:
    """One person's encoded history (what ``encode`` returns; pass it back to the scoring calls)."""

    account_id: int
    vector: object                      # torch [d]: the state after their latest token
    following: set[int] = field(default_factory=set)
    followers: set[int] = field(default_factory=set)        # who follows this person (context features)
    hidden_authors: set[int] = field(default_factory=set)   # blocked either way or muted
    history_posts: set[int] = field(default_factory=set)
    profile: np.ndarray | None = None   # content profile (``features.content_profile``) of engaged posts
    engaged_text: np.ndarray | None = None  # [n, text_dim] text vectors of the last engaged posts (kNN similarity)
    history_len: int = 0
    created: float = 0.0


class _Store:
    """Features and retrieval vectors of one kind of entity (posts or accounts).

    Columns live in buffers that double when full, so adding one new post copies one row, not the
    whole table; ``store.<column>`` is a view of the filled part."""

    COLUMNS = ("ids", "author", "followers_only", "alive", "created", "f_ids", "f_ctype", "f_author",
               "f_text", "vectors")

    def __init__(self, d: int, text_dim: int) -> None:
        i64 = np.int64
        shapes = {"ids": ((), i64), "author": ((), i64),            # author account id (accounts: themselves)
                  "followers_only": ((), bool), "alive": ((), bool),  # alive: False once deleted/removed/suspended
                  "created": ((), np.float64),                       # UNIX seconds (accounts: 0)
                  "f_ids": ((), i64), "f_ctype": ((), i64), "f_author": ((), i64),
                  "f_text": ((text_dim,), np.float32), "vectors": ((d,), np.float32)}
        object.__setattr__(self, "_buf", {k: np.zeros((16, *shape), dtype=dt) for k, (shape, dt) in shapes.items()})
        object.__setattr__(self, "_n", 0)
        object.__setattr__(self, "row", {})

    def __getattr__(self, name: str):
        buf = self.__dict__["_buf"]
        if name in buf:
            return buf[name][:self._n]
        raise AttributeError(name)

    def __setattr__(self, name: str, value) -> None:
        if name in self._buf:
            self._buf[name][:self._n] = value  # in-place updates (``store.alive &= mask``) land here
        else:
            object.__setattr__(self, name, value)

    def __len__(self) -> int:
        return self._n

    def add(self, ids, author, followers_only, f_ids, f_ctype, f_author, f_text, vectors, created=None) -> None:
        k = len(ids)
        start, end = self._n, self._n + k
        cap = len(self._buf["ids"])
        if end > cap:
            new_cap = max(end, 2 * cap)
            for name, b in self._buf.items():
                grown = np.zeros((new_cap, *b.shape[1:]), dtype=b.dtype)
                grown[:start] = b[:start]
                self._buf[name] = grown
        values = {"ids": ids, "author": author, "followers_only": followers_only, "alive": np.ones(k, dtype=bool),
                  "created": np.zeros(k) if created is None else created, "f_ids": f_ids, "f_ctype": f_ctype,
                  "f_author": f_author, "f_text": f_text, "vectors": vectors}
        for name, v in values.items():
            self._buf[name][start:end] = np.asarray(v, dtype=self._buf[name].dtype)
        object.__setattr__(self, "_n", end)
        for i, e in enumerate(ids):
            self.row[int(e)] = start + i


class Scorer:
    """The active model, ready to retrieve and score for the feed (see the module docstring)."""

    HEADS = POST_HEADS
    ACCOUNT_HEADS = tuple(ACCOUNT_HEADS)

    def __init__(self, loaded, settings, db, embed: Embedder, *, max_posts: int = 50_000,
                 max_accounts: int = 100_000, state_ttl_s: float = 30.0, refresh_s: float = 10.0,
                 history_events: int = 400, retrieval_days: float = 3.0) -> None:
        import torch

        self.loaded = loaded
        self.version: str = loaded.version
        self.model = loaded.model
        self.model.eval()
        self.space: FeatureSpace = loaded.space
        self.settings, self.db, self.embed = settings, db, embed
        self.max_len = self.model.cfg.max_len
        self.max_posts, self.max_accounts = max_posts, max_accounts
        self.state_ttl_s, self.refresh_s, self.history_events = state_ttl_s, refresh_s, history_events
        self.retrieval_days = retrieval_days
        self.cache = TextEmbeddingCache(settings.data_dir / "rec" / "text-embeddings.npz", self.space.text_dim)
        d = self.model.cfg.d_model
        self.posts = _Store(d, self.space.text_dim)
        self.accounts = _Store(d, self.space.text_dim)
        self._lock = threading.RLock()
        self._states: OrderedDict[int, UserState] = OrderedDict()
        self._max_post_id = 0
        self._absent: dict[tuple[str, int], float] = {}  # ids looked up and not found, when
        self._last_refresh = time.monotonic()
        self._refresher = SingleFlight("scorer-refresh")
        self._torch = torch
        self._load_catalog()

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load_active(cls, settings, db=None, embed: Embedder | None = None, **kwargs) -> Scorer | None:
        """The active model ready to serve, or None (with a log line saying why)."""
        from townsquare.errors import TownsquareError
        from townsquare.rec import registry

        root = registry.rec_models_dir(settings)
        try:
            loaded = registry.load_active(root)
        except TownsquareError as exc:
            log.warning("no recommendation model served: %s", exc.message)
            return None
        except Exception as exc:  # a broken model must never take the feed down
            log.warning("no recommendation model served: %s: %s", exc.__class__.__name__, exc)
            return None
        try:
            if db is None:
                from townsquare.db.engine import Database

                db = Database(settings.sqlalchemy_url)
            if embed is None:
                from townsquare.rec.pipeline import default_embedder

                embed, dim = default_embedder(settings)
                if dim != loaded.space.text_dim:
                    log.warning("no recommendation model served: model %s uses %d-d text embeddings, the "
                                "configured embedder gives %d-d; retrain", loaded.version, loaded.space.text_dim, dim)
                    return None
            scorer = cls(loaded, settings, db, embed, **kwargs)
        except Exception as exc:
            log.warning("no recommendation model served: loading model %s failed: %s: %s", loaded.version,
                        exc.__class__.__name__, exc)
            return None
        log.info("serving recommendation model %s (%d posts, %d accounts precomputed)", scorer.version,
                 len(scorer.posts), len(scorer.accounts))
        return scorer

    def _post_rows(self, session, where, limit: int | None = None, params: dict | None = None,
                   by_id: bool = False) -> list[tuple[PostInfo, bool]]:
        """Live posts (newest first; with ``by_id``, highest id first: a range read of the primary
        key where ``where`` bounds the id, instead of a walk down the creation-time index)."""
        from townsquare.social.models import Account, Post

        q = (select(Post.id, Post.author_id, Post.kind, Post.text, Post.link_title, Post.created_at, Post.edited_at,
                    Post.visibility)
             .join(Account, Account.id == Post.author_id)
             .where(Post.deleted_at.is_(None), Post.removed_at.is_(None), Account.status == "active", *where)
             .order_by(*((Post.id.desc(),) if by_id else (Post.created_at.desc(), Post.id.desc()))))
        if limit:
            q = q.limit(limit)
        from townsquare.rec.training_data import post_text

        return [(PostInfo(pid, author, kind, post_text(text, link_title), created, edited, visibility, True),
                 visibility == "followers")
                for pid, author, kind, text, link_title, created, edited, visibility in session.execute(q, params)]

    def _vectors(self, f_ids, f_ctype, f_author, f_text) -> np.ndarray:
        from townsquare.rec.model import EntityFeatures

        torch = self._torch
        out = []
        for i in range(0, len(f_ids), 4096):
            feats = EntityFeatures(ids=torch.from_numpy(f_ids[i:i + 4096]),
                                   content_type=torch.from_numpy(f_ctype[i:i + 4096]),
                                   author=torch.from_numpy(f_author[i:i + 4096]),
                                   text=torch.from_numpy(f_text[i:i + 4096]))
            with torch.no_grad():
                out.append(self.model.entity_vectors(feats).numpy())
        return np.concatenate(out) if out else np.zeros((0, self.model.cfg.d_model), dtype=np.float32)

    def _add_posts(self, rows: list[tuple[PostInfo, bool]]) -> None:
        rows = [r for r in rows if r[0].id not in self.posts.row]
        if not rows:
            return
        infos = [p for p, _ in rows]
        sp = self.space
        f_ids = np.asarray([sp.id_index("post", p.id) for p in infos], dtype=np.int64)
        f_ctype = np.asarray([content_type_index(p.kind) for p in infos], dtype=np.int64)
        f_author = np.asarray([sp.author_index(p.author_id) for p in infos], dtype=np.int64)
        f_text = self.cache.lookup([post_key(p) for p in infos], [p.text for p in infos], self.embed,
                                   save=len(infos) > 32)
        vecs = self._vectors(f_ids, f_ctype, f_author, f_text)
        self.posts.add([p.id for p in infos], [p.author_id for p in infos], [fo for _, fo in rows], f_ids,
                       f_ctype, f_author, f_text, vecs, created=[p.created_at.timestamp() for p in infos])
        self._max_post_id = max(self._max_post_id, max(p.id for p in infos))

    def _add_accounts(self, infos: list[AccountInfo]) -> None:
        infos = [a for a in infos if a.active and a.id not in self.accounts.row]
        if not infos:
            return
        sp = self.space
        f_ids = np.asarray([sp.id_index("account", a.id) for a in infos], dtype=np.int64)
        f_ctype = np.full(len(infos), content_type_index("account"), dtype=np.int64)
        f_author = np.asarray([sp.author_index(a.id) for a in infos], dtype=np.int64)
        f_text = self.cache.lookup([account_key(a) for a in infos], [a.text for a in infos], self.embed,
                                   save=len(infos) > 32)
        vecs = self._vectors(f_ids, f_ctype, f_author, f_text)
        self.accounts.add([a.id for a in infos], [a.id for a in infos], np.zeros(len(infos), dtype=bool), f_ids,
                          f_ctype, f_author, f_text, vecs)

    def _load_catalog(self) -> None:
        from townsquare.social.models import Account

        with self.db.session() as s:
            self._add_posts(self._post_rows(s, (), self.max_posts))
            ids = s.scalars(select(Account.id).where(Account.status == "active")
                            .order_by(Account.id.desc()).limit(self.max_accounts))
            self._add_accounts(list(load_accounts(s, list(ids)).values()))

    def refresh(self) -> int:
        """Add the posts created since the last look, and retire posts deleted or removed since (and
        accounts no longer active); returns how many posts were added."""
        from sqlalchemy import union_all

        from townsquare.social.models import Account, Post

        # Read outside the lock: requests keep being served meanwhile; only the store update
        # below holds it.
        with self.db.session() as s:
            rows = self._post_rows(s, (Post.id > self._max_post_id,), self.max_posts, by_id=True)
            gone = set(s.scalars(union_all(select(Post.id).where(Post.deleted_at.is_not(None)),  # two partial
                                           select(Post.id).where(Post.removed_at.is_not(None)))))  # indexes
            inactive = set(s.scalars(select(Account.id).where(Account.status != "active")))
        with self._lock:
            before = len(self.posts)
            self._add_posts(rows)
            for i in gone:
                r = self.posts.row.get(i)
                if r is not None:
                    self.posts.alive[r] = False
            if inactive:
                bad = np.fromiter(inactive, dtype=np.int64)
                self.posts.alive &= ~np.isin(self.posts.author, bad)
                self.accounts.alive &= ~np.isin(self.accounts.ids, bad)
            self._last_refresh = time.monotonic()
            return len(self.posts) - before

    def _maybe_refresh(self) -> None:
        """Every ``refresh_s`` seconds, refresh in a background thread, so that no request waits on
        it. Until it lands a post deleted since may still be retrieved; the feed's own
        visibility-checked reads drop it."""
        if time.monotonic() - self._last_refresh > self.refresh_s:
            self._refresher.start("catalogue", self._refresh_in_background)

    @property
    def refreshing(self) -> bool:
        return self._refresher.running("catalogue")

    def _refresh_in_background(self) -> None:
        try:
            self.refresh()
        except Exception:
            self._last_refresh = time.monotonic()  # retry after refresh_s, not on every request
            raise

    def _missing(self, kind: str, ids: list[int], store: _Store) -> list[int]:
        """Ids not in ``store`` and not looked up in vain within the last ``refresh_s`` seconds."""
        now = time.monotonic()
        return [i for i in set(ids) if i not in store.row
                and now - self._absent.get((kind, i), -1e18) > self.refresh_s]

    def _remember_absent(self, kind: str, ids: list[int], store: _Store) -> None:
        now = time.monotonic()
        if len(self._absent) > 100_000:
            self._absent.clear()
        for i in ids:
            if i not in store.row:
                self._absent[(kind, i)] = now

    def _ensure_posts(self, ids: list[int]) -> None:
        from townsquare.social.models import Post

        missing = self._missing("post", ids, self.posts)
        if missing:
            with self._lock, self.db.session() as s:
                self._add_posts(self._post_rows(s, (in_ids(Post.id),), params={"ids": id_list(missing)}))
                self._remember_absent("post", missing, self.posts)

    def _ensure_accounts(self, ids: list[int]) -> None:
        missing = self._missing("account", ids, self.accounts)
        if missing:
            with self._lock, self.db.session() as s:
                self._add_accounts(list(load_accounts(s, missing).values()))
                self._remember_absent("account", missing, self.accounts)

    # -- encoding ------------------------------------------------------------------------------
    def encode(self, account_id: int, *, events: list | None = None, following: set[int] | None = None,
               followers: set[int] | None = None, hidden: set[int] | None = None) -> UserState:
        """Encode the person's most recent history (cached for ``state_ttl_s`` seconds). What the
        caller already read this request is not read again: ``events`` (rows with ``EventRecord``'s
        fields in its order, newest first, as many as it read: the newest ``history_events`` are
        used), who they follow, who follows them, and the authors hidden from them."""
        now = time.monotonic()
        with self._lock:
            st = self._states.get(account_id)
            if st is not None and now - st.created < self.state_ttl_s:
                self._states.move_to_end(account_id)
                return st
        st = self._encode(account_id, events, following, followers, hidden)
        with self._lock:
            self._states[account_id] = st
            self._states.move_to_end(account_id)
            # Least recently used first: drop the expired ones there (they would be re-encoded
            # anyway), and any beyond 10,000.
            while self._states and (len(self._states) > 10_000
                                    or now - next(iter(self._states.values())).created >= self.state_ttl_s):
                self._states.popitem(last=False)
        return st

    def invalidate(self, account_id: int | None = None) -> None:
        """Forget cached states (one person's, or everyone's)."""
        with self._lock:
            if account_id is None:
                self._states.clear()
            else:
                self._states.pop(account_id, None)

    def _encode(self, account_id: int, events: list | None = None, following: set[int] | None = None,
                followers: set[int] | None = None, hidden: set[int] | None = None) -> UserState:
        from townsquare.rec.model import EntityFeatures, History
        from townsquare.social.models import Event
        from townsquare.social.relations import follower_ids, following_ids, hidden_author_ids

        torch = self._torch
        if events is None or following is None or followers is None or hidden is None:
            with self.db.session() as s:
                if events is None:
                    events = s.execute(
                        select(Event.id, Event.ts, Event.actor_id, Event.action, Event.entity_type, Event.entity_id,
                               Event.surface, Event.position, Event.dwell_ms)
                        .where(Event.actor_id == account_id)
                        .order_by(Event.ts.desc(), Event.id.desc()).limit(self.history_events)).all()
                following = following_ids(s, account_id) if following is None else following
                if followers is None:
                    followers = follower_ids(s, account_id) if self.space.context_dim else set()
                hidden = hidden_author_ids(s, account_id) if hidden is None else hidden
        # Rows in ``EventRecord``'s field order (extra columns after them are ignored), made records
        # first: tokenizing reads each event's fields several times, and a row's are slow to read.
        recent = [EventRecord(*row[:EVENT_FIELDS]) for row in events[:self.history_events]]
        tokens = self._known_tail(tokenize(reversed(recent)))
        profile = None
        engaged = [self.posts.row[t.entity_id] for t in tokens if t.kind == "post" and t.target]
        engaged_text = self.posts.f_text[engaged[-PROFILE_POSTS:]].copy() if engaged else None
        if self.space.context_dim:
            profile = content_profile(self.posts.f_text[engaged[-PROFILE_POSTS:]])
        g = self.space.graph_tokens
        tokens = tokens[-(self.max_len - g):]
        st = UserState(account_id=account_id, vector=None, following=following, followers=followers,
                       hidden_authors=hidden,
                       history_posts={t.entity_id for t in tokens if t.kind == "post"}, history_len=len(tokens),
                       profile=profile, engaged_text=engaged_text,
                       created=time.monotonic())
        # The social graph opens the history, as in training: the last ``g`` accounts followed
        # before the first token (or before now, for someone with no history yet).
        prefix: list[tuple[int, float]] = []
        if g:
            from townsquare.social.models import Follow

            before = tokens[0].ts if tokens else None
            with self.db.session() as s:
                q = select(Follow.followee_id, Follow.created_at).where(Follow.follower_id == account_id)
                if before is not None:
                    q = q.where(Follow.created_at < before)
                rows_f = s.execute(q.order_by(Follow.created_at.desc()).limit(g)).all()
            self._ensure_accounts([r.followee_id for r in rows_f])
            prefix = [(r.followee_id, r.created_at.timestamp()) for r in reversed(rows_f)
                      if r.followee_id in self.accounts.row]
        items = [(self.accounts, self.accounts.row[a], action_index("follow"), ts) for a, ts in prefix]
        items += [(self.posts if t.kind == "post" else self.accounts,
                   (self.posts if t.kind == "post" else self.accounts).row[t.entity_id],
                   action_index(t.action), t.ts.timestamp()) for t in tokens]
        if not items:
            st.vector = torch.zeros(self.model.cfg.d_model)  # nothing known: the model's prior
            with torch.no_grad():
                st.vector = self.model.ln_f(st.vector)
            return st

        is_post = np.asarray([store is self.posts for store, _, _, _ in items])
        rows = np.asarray([r for _, r, _, _ in items], dtype=np.int64)

        def col(attr: str) -> np.ndarray:  # one gather per store
            posts, accounts = getattr(self.posts, attr), getattr(self.accounts, attr)
            out = np.empty((len(items), *posts.shape[1:]), dtype=posts.dtype)
            out[is_post] = posts[rows[is_post]]
            out[~is_post] = accounts[rows[~is_post]]
            return out[None]

        t0 = items[0][3]
        h = History(entities=EntityFeatures(ids=torch.from_numpy(col("f_ids")),
                                            content_type=torch.from_numpy(col("f_ctype")),
                                            author=torch.from_numpy(col("f_author")),
                                            text=torch.from_numpy(col("f_text"))),
                    lengths=torch.tensor([len(items)]),
                    actions=torch.tensor([[a for _, _, a, _ in items]]),
                    times=torch.tensor([[ts - t0 for _, _, _, ts in items]], dtype=torch.float32))
        with torch.no_grad():
            st.vector = self.model.last_state(h)[0].clone()  # not a view that keeps the batch alive
        return st

    def _known_tail(self, tokens: list) -> list:
        """The tokens a state is built from: the newest ones whose entity is known (loaded into the
        stores, or loadable), enough of them for the model's window and for the last
        ``PROFILE_POSTS`` engaged posts (the content features). Loading goes backwards a chunk at
        a time, so the older tokens that would be thrown away are never read from the database."""
        window = self.max_len - self.space.graph_tokens
        kept: list = []  # newest first
        engaged = 0
        end = len(tokens)
        while end > 0 and (len(kept) < window or engaged < PROFILE_POSTS):
            # Back to where the tokens still needed reach if all are known: usually one round.
            start, n, e = end, len(kept), engaged
            while start > 0 and (n < window or e < PROFILE_POSTS):
                start -= 1
                n, e = n + 1, e + (tokens[start].kind == "post" and tokens[start].target)
            chunk, end = tokens[start:end], start
            self._ensure_posts([t.entity_id for t in chunk if t.kind == "post"])
            self._ensure_accounts([t.entity_id for t in chunk if t.kind == "account"])
            for t in reversed(chunk):
                if t.entity_id in (self.posts.row if t.kind == "post" else self.accounts.row):
                    kept.append(t)
                    engaged += t.kind == "post" and t.target
        return kept[::-1]

    # -- retrieval -----------------------------------------------------------------------------
    def _visible_mask(self, state: UserState, store: _Store) -> np.ndarray:
        ok = store.alive.copy()
        if state.hidden_authors:
            ok &= ~_among(store.author, state.hidden_authors)
        private = np.nonzero(store.followers_only)[0]  # few: only these are checked against who one follows
        if len(private):
            ok[private] &= _among(store.author[private], state.following | {state.account_id})
        return ok

    @staticmethod
    def _drop(ok: np.ndarray, store: _Store, ids: set[int]) -> None:
        """Clear ``ok`` at the rows of these entity ids (a dict lookup each, not a pass over the store).
        A row added by a refresh after ``ok`` was taken is past its end, and left out."""
        n = len(ok)
        rows = [r for r in map(store.row.get, ids) if r is not None and r < n]
        if rows:
            ok[np.asarray(rows, dtype=np.int64)] = False

    def retrieve(self, state: UserState, k: int, kind: str = "post",
                 exclude: set[int] | frozenset[int] | None = None) -> list[tuple[int, float]]:
        """The ``k`` best entities of ``kind`` ("post" or "account") for this person, best first."""
        torch = self._torch
        if kind not in ("post", "account"):
            from townsquare.errors import InvalidInput

            raise InvalidInput(f"kind must be 'post' or 'account', not {kind!r}")
        self._maybe_refresh()
        store = self.posts if kind == "post" else self.accounts
        with self._lock:
            ids, author, vectors, created = store.ids, store.author, store.vectors, store.created
            ok = self._visible_mask(state, store)
        if k <= 0 or len(ids) == 0:
            return []
        if kind == "post":
            ok &= author != state.account_id
            if self.retrieval_days:
                # The inventory: posts of the last ``retrieval_days`` before the newest post (the
                # community's clock, so a demo seeded last week still has one).
                ok &= created >= created.max() - self.retrieval_days * 86400
            drop = set(exclude or ()) | state.history_posts
        else:
            drop = set(exclude or ()) | state.following | {state.account_id}
        self._drop(ok, store, drop)
        n = int(ok.sum())
        if n == 0:
            return []
        # Every row is scored (one product over the contiguous table) and the others masked: a
        # gather of the allowed rows' vectors first copied ~10 MB per call.
        with torch.no_grad():
            scores = self.model.retrieval_scores(state.vector[None], torch.from_numpy(vectors))[0]
        scores[torch.from_numpy(~ok)] = float("-inf")
        top = torch.topk(scores, min(k, n))
        return [(int(ids[i]), float(v)) for v, i in zip(top.values.tolist(), top.indices.tolist(), strict=True)]

    # -- content similarity --------------------------------------------------------------------
    def content_similarity(self, state: UserState, post_ids: list[int]) -> np.ndarray:
        """``features.knn_similarity`` of each post with the posts the person engaged with lately (the
        ``content_knn`` context feature; 0 for an unknown post), in the order given."""
        ids = [int(i) for i in post_ids]
        self._ensure_posts(ids)
        out = np.zeros(len(ids), dtype=np.float32)
        with self._lock:
            rows = [(k, self.posts.row[i]) for k, i in enumerate(ids) if i in self.posts.row]
            if rows:
                text = self.posts.f_text[np.asarray([r for _, r in rows], dtype=np.int64)]
        if rows:
            out[[k for k, _ in rows]] = knn_similarity(text, state.engaged_text)
        return out

    def similar_posts(self, state: UserState, k: int,
                      exclude: set[int] | frozenset[int] | None = None) -> list[tuple[int, float]]:
        """Retrieval by content: the ``k`` recent posts most like what the person engaged with lately
        (``features.knn_similarity``), best first; the same inventory and exclusions as ``retrieve``."""
        if k <= 0 or state.engaged_text is None:
            return []
        self._maybe_refresh()
        store = self.posts
        with self._lock:
            ids, author, created = store.ids, store.author, store.created
            ok = self._visible_mask(state, store)
            if not len(ids):
                return []
            ok &= author != state.account_id
            if self.retrieval_days:
                ok &= created >= created.max() - self.retrieval_days * 86400
            self._drop(ok, store, set(exclude or ()) | state.history_posts)
            cand = np.nonzero(ok)[0]
            text = store.f_text[cand]
        if len(cand) == 0:
            return []
        sims = knn_similarity(text, state.engaged_text)
        top = np.argsort(-sims, kind="stable")[:k]
        return [(int(ids[cand[i]]), float(sims[i])) for i in top]

    # -- action heads --------------------------------------------------------------------------
    def _context(self, state: UserState, store: _Store, rows: np.ndarray, in_net: np.ndarray, now: float | None):
        """``features.context_row`` of each candidate row for this person at ``now`` (None: model without
        it); ``in_net``: the viewer follows the row's author."""
        if not self.space.context_dim:
            return None
        back = _among(store.author[rows], state.followers)
        now = time.time() if now is None else now
        ages = np.where(store.created[rows] > 0, now - store.created[rows], 0.0)
        text = store.f_text[rows]
        sims = text @ state.profile if state.profile is not None else np.zeros(len(rows))
        c = self.space.context_dim  # a model trained with fewer (older) features gets the first c
        knn = (knn_similarity(text, state.engaged_text) if c > CONTEXT_FEATURES.index("content_knn")
               else np.zeros(len(rows)))  # not computed on the hot path for a model that does not read it
        return self._torch.from_numpy(np.ascontiguousarray(context_rows(in_net, back, ages, sims, knn)[:, :c]))

    def _head_probs(self, state: UserState, store: _Store, ids: list[int], ok: np.ndarray,
                    now: float | None = None) -> dict[str, np.ndarray]:
        torch = self._torch
        n = len(ids)
        out = {h: np.zeros(n, dtype=np.float32) for h in self.HEADS}
        idx = np.nonzero(ok)[0]
        if len(idx) == 0:
            return out
        rows = np.asarray([store.row[ids[i]] for i in idx], dtype=np.int64)
        followed = _among(store.author[rows], state.following)
        with torch.no_grad():
            probs = self.model.score_actions(state.vector, torch.from_numpy(store.vectors[rows]),
                                             self._context(state, store, rows, followed, now))
        for h in self.HEADS:
            out[h][idx] = probs[h].numpy()
        # Nobody starts following an account they already follow: the long-term heads are never
        # trained on such pairs, so their output there is meaningless; it is 0.
        for h in LONG_TERM_HEADS:
            if h in out:
                out[h][idx[followed]] = 0.0
        return out

    def score(self, state: UserState, post_ids: list[int], now: datetime | None = None) -> dict[str, np.ndarray]:
        """Probabilities of every head (``Scorer.HEADS``) for each post, in the order given, as if
        shown at ``now`` (default: the wall clock; the post's age is a feature of some models)."""
        ids = [int(i) for i in post_ids]
        self._maybe_refresh()
        self._ensure_posts(ids)
        store = self.posts
        with self._lock:
            row_of = np.asarray([store.row.get(i, -1) for i in ids], dtype=np.int64)
            ok = row_of >= 0
            ok[ok] = store.alive[row_of[ok]]
            if ok.any():
                rows = row_of[ok]
                author = store.author[rows]
                vis = np.ones(len(rows), dtype=bool)
                if state.hidden_authors:
                    vis &= ~_among(author, state.hidden_authors)
                fo = store.followers_only[rows]
                if fo.any():
                    vis &= ~fo | _among(author, state.following | {state.account_id})
                ok[np.nonzero(ok)[0]] = vis
            return self._head_probs(state, store, ids, ok, None if now is None else now.timestamp())

    def score_accounts(self, state: UserState, account_ids: list[int]) -> dict[str, np.ndarray]:
        """``follow`` and ``two_way`` probabilities for each account, in the order given."""
        ids = [int(i) for i in account_ids]
        self._maybe_refresh()
        self._ensure_accounts(ids)
        acc = self.accounts
        with self._lock:
            ok = np.asarray([i in acc.row and acc.alive[acc.row[i]] and i != state.account_id
                             and i not in state.hidden_authors for i in ids], dtype=bool)
            probs = self._head_probs(state, self.accounts, ids, ok)
        return {name: probs[head] for name, head in ACCOUNT_HEADS.items()}


def _among(values: np.ndarray, ids: set[int]) -> np.ndarray:
    """bool mask: which of ``values`` (account or post ids) are in ``ids``."""
    return np.isin(values, np.fromiter(ids, dtype=np.int64, count=len(ids)))
