"""The feed service: sources -> ranking (unified model, or heuristics) -> value model -> blender ->
cached ranked list -> hydrated page with reasons. Also the per-person controls.

Use one ``FeedService`` per process (it holds the scorer and the ranked-feed cache)::

    service = FeedService(settings)
    with db.session() as session:
        page = service.page(session, viewer, cursor=None, limit=30)
"""

from __future__ import annotations

import base64
import binascii
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import bindparam, desc, or_, select
from sqlalchemy.orm import Session, contains_eager

from townsquare import metrics
from townsquare.background import SingleFlight
from townsquare.db.ids import id_list, in_ids
from townsquare.errors import InvalidInput, NotFound
from townsquare.feed import sources as src
from townsquare.feed.blender import BlendInput, blend, blended_value, relevant_discovery
from townsquare.feed.cache import FeedCache, RankedFeed, RankedItem
from townsquare.feed.config import POST_KINDS, FeedConfig, feed_config
from townsquare.feed.explain import reasons as build_reasons
from townsquare.feed.models import FeedSettings
from townsquare.feed.scoring import HeuristicRanker, Scorer, load_scorer
from townsquare.feed.types import Candidate, SourceInput, ViewerContext
from townsquare.feed.value import ValueModel
from townsquare.social.events import log_event
from townsquare.social.models import Account, Post
from townsquare.social.relations import hidden_author_ids
from townsquare.social.visibility import can_view_post, visible_posts_clause

log = logging.getLogger(__name__)

MODES = ("ranked", "chronological")
KIND_WEIGHT_RANGE = (0.25, 4.0)
MAX_LIMIT = 50
_AUTO = object()


@dataclass
class FeedItem:
    post: Post
    position: int
    value: float | None
    reasons: list[dict]
    top_actions: list[dict]
    sources: list[str]
    in_network: bool


@dataclass
class FeedPage:
    items: list[FeedItem]
    next_cursor: str | None
    mode: str
    ranked_by: str  # "model" | "heuristic" | "chronological"
    feed_id: str | None = None
    restarted: bool = False  # the cursor's cached ranking was gone; this is a fresh ranking
    dropped: int = 0  # items of the cached page that can no longer be shown (deleted, now hidden)
    timings_ms: dict[str, float] = field(default_factory=dict)


# The page's reads, built once (parameters bound at execution).
_PAGE_POSTS = (select(Post).join(Post.author).options(contains_eager(Post.author))
               .where(in_ids(Post.id), visible_posts_clause(bindparam("viewer"))))
_HANDLES = select(Account.id, Account.handle).where(in_ids(Account.id))


# -- cursors ---------------------------------------------------------------------------------------
def _encode(raw: str) -> str:
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[str, str, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        kind, a, b = raw.split("|")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidInput("invalid feed cursor") from None
    if kind not in ("r", "c"):
        raise InvalidInput("invalid feed cursor")
    return kind, a, b


# -- controls --------------------------------------------------------------------------------------
def default_controls() -> dict:
    return {"mode": "ranked", "discovery": 0.3, "kind_weights": {k: 1.0 for k in POST_KINDS}}


def get_controls(session: Session, account_id: int) -> dict:
    row = session.get(FeedSettings, account_id)
    out = default_controls()
    if row is not None:
        out["mode"], out["discovery"] = row.mode, float(row.discovery)
        out["kind_weights"].update({k: float(v) for k, v in (row.kind_weights or {}).items() if k in POST_KINDS})
    return out


def update_controls(session: Session, account: Account, changes: dict) -> dict:
    """Validate every change first, then write once (no partial write)."""
    unknown = set(changes) - {"mode", "discovery", "kind_weights"}
    if unknown:
        raise InvalidInput(f"unknown feed setting(s): {', '.join(sorted(unknown))}")
    current = get_controls(session, account.id)
    if "mode" in changes and changes["mode"] is not None:
        if changes["mode"] not in MODES:
            raise InvalidInput(f"mode must be one of {', '.join(MODES)}")
        current["mode"] = changes["mode"]
    if "discovery" in changes and changes["discovery"] is not None:
        try:
            d = float(changes["discovery"])
        except (TypeError, ValueError):
            raise InvalidInput("discovery must be a number between 0 and 1") from None
        if not 0.0 <= d <= 1.0 or d != d:
            raise InvalidInput("discovery must be between 0 (friends first) and 1 (discovery)")
        current["discovery"] = d
    if "kind_weights" in changes and changes["kind_weights"] is not None:
        kw = changes["kind_weights"]
        if not isinstance(kw, dict):
            raise InvalidInput("kind_weights must be an object of content type -> weight")
        for kind, w in kw.items():
            if kind not in POST_KINDS:
                raise InvalidInput(f"unknown content type {kind!r}; expected one of {', '.join(POST_KINDS)}")
            try:
                w = float(w)
            except (TypeError, ValueError):
                raise InvalidInput(f"weight for {kind} must be a number") from None
            lo, hi = KIND_WEIGHT_RANGE
            if not lo <= w <= hi:
                raise InvalidInput(f"weight for {kind} must be between {lo} and {hi}")
            current["kind_weights"][kind] = w
    row = session.get(FeedSettings, account.id)
    if row is None:
        row = FeedSettings(account_id=account.id)
        session.add(row)
    row.mode, row.discovery, row.kind_weights = current["mode"], current["discovery"], dict(current["kind_weights"])
    session.flush()
    return current


class _Stopwatch:
    """Milliseconds since the previous lap, into ``timings[name]``."""

    def __init__(self, timings: dict[str, float]) -> None:
        self.timings, self.last = timings, time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = (now - self.last) * 1e3
        self.last = now


class FeedService:
    def __init__(self, settings=None, *, scorer: Scorer | None | object = _AUTO, config: FeedConfig | None = None,
                 clock: Callable[[], datetime] | None = None, db=None, cache=None,
                 loader: Callable[[], Scorer | None] | None = None) -> None:
        self.settings = settings
        # Loads the registry's active model: by default with the app's Database (for the scorer's
        # catalogue reads) and the configured text embedder.
        self._load_scorer = loader or (lambda: load_scorer(settings, db))
        self.config = config or feed_config(settings)
        self._scorer = scorer
        self._scorer_lock = threading.Lock()
        self._started = False  # the first page loads the model and freezes what is long-lived
        # A serving process that loads the registry's active model also follows it: see check_model.
        self._follow_registry = settings is not None and scorer is _AUTO
        self._next_check = 0.0
        self._failed_version: str | None = None
        self._loader = SingleFlight("model-reload")
        self.heuristic = HeuristicRanker()
        self.value_model = ValueModel(self.config.value_weights)
        self.cache = cache if cache is not None else FeedCache(self.config.blend.cache_ttl_s,
                                                               self.config.blend.cache_max_feeds)
        self.clock = clock or (lambda: datetime.now(UTC))

    @property
    def scorer(self) -> Scorer | None:
        if self._scorer is _AUTO or not self._started:
            with self._scorer_lock:
                if self._scorer is _AUTO:
                    self._scorer = self._load_scorer() if self.settings is not None else None
                    self._next_check = time.monotonic() + self._check_interval()
                if not self._started:
                    self._started = True
                    if self.settings is not None:  # a serving process (not a unit test's service)
                        freeze_long_lived()
        return self._scorer  # type: ignore[return-value]

    @property
    def model_pending(self) -> bool:
        """True until the first load of the active model has been done (at the first feed, or by
        ``Services.preload``); after it, ``model_version`` is None when no model could be served."""
        return self._scorer is _AUTO

    @property
    def model_version(self) -> str | None:
        scorer = self._scorer
        return None if scorer is _AUTO or scorer is None else scorer.version

    def _check_interval(self) -> float:
        return float(getattr(self.settings, "model_reload_check_s", 2.0))

    def check_model(self) -> bool:
        """Follow the model registry: when another version was activated (``townsquare train``,
        ``townsquare models activate``, by any process), load it in the background and swap it in
        once it is completely loaded and checked; the current model serves until then, and stays if
        the new one fails to load. Costs one small file read every ``model_reload_check_s``.
        Returns whether a load was started."""
        if not self._follow_registry or self._scorer is _AUTO:
            return False
        now = time.monotonic()
        if now < self._next_check:
            return False
        self._next_check = now + self._check_interval()
        from townsquare.rec import registry

        active = registry.active_version(registry.rec_models_dir(self.settings))
        if active is None or active == self.model_version or active == self._failed_version:
            return False
        return self._loader.start("scorer", lambda: self._load(active))

    def _load(self, version: str) -> None:
        scorer = self._load_scorer()
        if scorer is None:
            self._failed_version = version  # logged by load_scorer; not retried until another activation
            return
        self._scorer = scorer  # one reference swap: a request uses the old or the new, never a mix
        log.info("now serving recommendation model %s", scorer.version)
        freeze_long_lived()

    def wait_for_model(self, timeout_s: float = 60.0) -> None:
        """Block until a load started by ``check_model`` has finished (tests, benchmarks)."""
        deadline = time.monotonic() + timeout_s
        while self._loader.running("scorer") and time.monotonic() < deadline:
            time.sleep(0.05)

    def reload_model(self) -> None:
        """Load the active model again, now, in this thread."""
        self._next_check = 0.0
        self._failed_version = None
        if self._scorer is _AUTO:
            return
        if self.check_model():
            self.wait_for_model()

    # -- pages ----------------------------------------------------------------------------------
    def page(self, session: Session, viewer: Account, cursor: str | None = None, limit: int = 30) -> FeedPage:
        if not 1 <= int(limit) <= MAX_LIMIT:
            raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
        self.check_model()
        page = self._page(session, viewer, cursor, limit)
        metrics.observe_feed_page(page.timings_ms, page.ranked_by)
        return page

    def _page(self, session: Session, viewer: Account, cursor: str | None, limit: int) -> FeedPage:
        controls = get_controls(session, viewer.id)
        if cursor:
            kind, a, b = _decode(cursor)
            if kind == "c":
                return self._chronological(session, viewer, limit, (a, b))
            return self._ranked_page(session, viewer, controls, limit, a, b)
        if controls["mode"] == "chronological":
            return self._chronological(session, viewer, limit, None)
        return self._ranked_page(session, viewer, controls, limit, None, "0")

    def _ranked_page(self, session: Session, viewer: Account, controls: dict, limit: int,
                     feed_id: str | None, offset_raw: str) -> FeedPage:
        try:
            offset = int(offset_raw)
        except ValueError:
            raise InvalidInput("invalid feed cursor") from None
        if offset < 0:
            raise InvalidInput("invalid feed cursor")
        feed = self.cache.get(feed_id, viewer.id) if feed_id else None
        restarted = feed_id is not None and feed is None
        timings: dict[str, float] = {}
        hidden = None  # read again at hydration unless this request ranks the feed
        if feed is None:
            ctx_out: dict = {}
            feed = self.rank(session, viewer, controls, timings, ctx_out)
            self.cache.put(feed)
            offset = 0
            hidden = ctx_out["ctx"].hidden_authors  # read in this request: no need to read it twice
        t0 = time.perf_counter()
        page = self._hydrate(session, viewer, feed, offset, limit, restarted, timings, hidden)
        timings["hydrate_ms"] = (time.perf_counter() - t0) * 1e3
        return page

    def rank(self, session: Session, viewer: Account, controls: dict | None = None,
             timings: dict[str, float] | None = None, out: dict | None = None) -> RankedFeed:
        """Build the ranked list for ``viewer`` (not cached; ``page`` caches it). ``timings`` receives
        the milliseconds of each stage."""
        timings = {} if timings is None else timings
        clock = _Stopwatch(timings)
        controls = controls or get_controls(session, viewer.id)
        cfg = self.config
        now = self.clock()
        ctx = src.viewer_context(session, viewer.id, now, cfg.blend.seen_window_h)
        if out is not None:
            out["ctx"] = ctx
        clock.lap("context_ms")
        scorer = self.scorer
        state = None
        if scorer is not None:
            try:
                state = scorer.encode(viewer.id, events=ctx.events, following=ctx.following,
                                      followers=ctx.followers, hidden=ctx.hidden_authors)
            except Exception:  # a broken model must not break the feed
                log.exception("scorer.encode failed; falling back to heuristics")
                scorer = None
        clock.lap("encode_ms")
        proposals = src.propose(SourceInput(session, ctx, cfg.sources, now, scorer, state))
        clock.lap("sources_ms")
        cands = src.collect(session, ctx, proposals, now)
        clock.lap("collect_ms")
        ranked_by = "heuristic"
        heads = None
        if scorer is not None and cands:
            try:
                heads = scorer.score(state, [c.post_id for c in cands], now=now)
                ranked_by = "model"
            except Exception:
                log.exception("scorer.score failed; falling back to heuristics")
        elif scorer is not None:
            ranked_by = "model"
        if heads is None:
            heads = self.heuristic.score(ctx, cands, now)
        elif ranked_by == "model":
            keep = relevant_discovery(scorer, state, cands, cfg.blend, ctx.followers)
            if keep is not None:
                cands = [c for c, k in zip(cands, keep, strict=True) if k]
                heads = {h: np.asarray(v)[keep] for h, v in heads.items()}
        clock.lap("score_ms")
        values = self.value_model.value(heads) if cands else np.zeros(0)
        values = apply_controls(values, cands, ctx, controls, cfg)
        values = blended_value(values, cands, now, cfg.blend)
        share = (cfg.blend.in_network_share_friends_first
                 + (cfg.blend.in_network_share_discovery - cfg.blend.in_network_share_friends_first)
                 * controls["discovery"])
        ratio = cfg.blend.discovery_value_ratio if ranked_by == "model" else 0.0
        order = blend(BlendInput(cands, values, share, frozenset(ctx.hidden_authors), ratio), cfg.blend)
        tops = self.value_model.top_actions_all(heads, order)
        items = [RankedItem.make(cands[i].post_id, cands[i].author_id, float(values[i]), cands[i].sources,
                                 cands[i].in_network, cands[i].hashtags, top)
                 for i, top in zip(order, tops, strict=True)]
        clock.lap("blend_ms")
        return RankedFeed.of(viewer.id, ranked_by, items, author_affinity=ctx.author_affinity,
                             topic_affinity=ctx.topic_affinity)

    def _hydrate(self, session: Session, viewer: Account, feed: RankedFeed, offset: int, limit: int,
                 restarted: bool, timings: dict, hidden: set[int] | None = None) -> FeedPage:
        chunk = feed.slice(offset, limit)
        ids = [it.post_id for it in chunk]
        if hidden is None:
            hidden = hidden_author_ids(session, viewer.id)  # re-checked now: a block may be minutes old
        posts = {p.id: p for p in session.scalars(_PAGE_POSTS, {"ids": id_list(ids), "viewer": viewer.id})} if ids else {}
        sources = [it.source_map() for it in chunk]
        need = {it.author_id for it in chunk}
        for src_map in sources:
            need.update(a for a in (src_map.get("friends_engaged") or []))
        rows = session.execute(_HANDLES, {"ids": id_list(need)}).all() if need else []
        handles = {aid: h for aid, h in rows}
        items, dropped = [], 0
        for pos, (it, src_map) in enumerate(zip(chunk, sources, strict=True), start=offset):
            post = posts.get(it.post_id)
            if post is None or post.author_id in hidden:
                dropped += 1
                continue
            top = it.top_action_dicts()
            items.append(FeedItem(
                post=post, position=pos, value=round(it.value, 5), top_actions=top,
                sources=sorted(src_map), in_network=it.in_network,
                reasons=build_reasons(sources=src_map, author_id=it.author_id, hashtags=it.hashtags,
                                      in_network=it.in_network, top_actions=top, handles=handles,
                                      author_affinity=feed.author_affinity.get(it.author_id, 0.0),
                                      topic_affinity=feed.topic_affinity, ranked_by=feed.ranked_by),
            ))
        end = offset + len(chunk)
        next_cursor = _encode(f"r|{feed.feed_id}|{end}") if end < feed.size else None
        return FeedPage(items, next_cursor, "ranked", feed.ranked_by, feed.feed_id, restarted, dropped, timings)

    def _chronological(self, session: Session, viewer: Account, limit: int, after: tuple[str, str] | None) -> FeedPage:
        """Posts of the people you follow and your own, newest first; keyset cursor (time, id)."""
        from townsquare.social.relations import following_ids

        authors = following_ids(session, viewer.id) | {viewer.id}
        hidden = hidden_author_ids(session, viewer.id)
        authors -= hidden
        q = (select(Post).join(Post.author).where(Post.author_id.in_(authors), visible_posts_clause(viewer.id),
                                                  Post.created_at <= self.clock())
             .order_by(desc(Post.created_at), desc(Post.id)).limit(limit + 1))
        if after is not None:
            try:
                ts = datetime.fromtimestamp(int(after[0]) / 1e6, UTC)
                pid = int(after[1])
            except (ValueError, OverflowError, OSError):
                raise InvalidInput("invalid feed cursor") from None
            q = q.where(or_(Post.created_at < ts, (Post.created_at == ts) & (Post.id < pid)))
        posts = list(session.scalars(q))
        more = len(posts) > limit
        posts = posts[:limit]
        handles = {p.author_id: p.author.handle for p in posts}
        items = []
        for pos, p in enumerate(posts):
            own = p.author_id == viewer.id
            reasons = ([{"code": "own", "text": "Your post"}] if own else
                       [{"code": "following", "text": f"Because you follow @{handles[p.author_id]}"}])
            reasons.append({"code": "chronological", "text": "Newest first (chronological mode)"})
            items.append(FeedItem(p, pos, None, reasons, [], ["following"], True))
        next_cursor = None
        if more and posts:
            last = posts[-1]
            micros = int(last.created_at.timestamp() * 1_000_000)
            next_cursor = _encode(f"c|{micros}|{last.id}")
        return FeedPage(items, next_cursor, "chronological", "chronological")

    # -- controls -------------------------------------------------------------------------------
    def get_settings(self, session: Session, viewer: Account) -> dict:
        return get_controls(session, viewer.id)

    def update_settings(self, session: Session, viewer: Account, changes: dict) -> dict:
        out = update_controls(session, viewer, changes)
        self._forget(viewer.id)
        return out

    def show_less(self, session: Session, viewer: Account, post_id: int) -> dict:
        """"Show less like this": logs a hide (the model learns from it) and lowers the post's author
        and hashtags in this person's next feeds."""
        post = session.get(Post, post_id)
        if post is None or not can_view_post(session, viewer, post):
            raise NotFound("no such post")
        from townsquare.social.models import PostHashtag
        from townsquare.social.preferences import record_show_less

        log_event(session, viewer.id, "hide", "post", post.id, surface="home", context={"show_less": True})
        tags = session.scalars(select(PostHashtag.hashtag_id).where(PostHashtag.post_id == post.id))
        record_show_less(session, viewer.id, [("post", post.id), ("account", post.author_id)]
                         + [("hashtag", t) for t in tags])
        # The cached feed keeps its order (cursors stay stable); the next fresh ranking applies it.
        return {"post_id": str(post.id), "hidden": True, "author_lowered": str(post.author_id)}

    def _forget(self, viewer_id: int) -> None:
        self.cache.drop_viewer(viewer_id)


def freeze_long_lived() -> None:
    """Take what is alive now (modules, the loaded model and its catalogue) out of the garbage
    collector's full passes. Without it, every full collection walks those few hundred thousand
    objects again: a 40-170 ms stall (CPU time, measured) that lands on one request in a hundred,
    i.e. on the feed's p99. Called once the model is loaded (startup and model reloads only).

    It also collects the youngest generation every ``YOUNG_GC_THRESHOLD`` allocations instead of
    700: a first page allocates tens of thousands of objects that live as long as the request, and
    at 700 each was moved up the generations several times on its way, which started a full
    collection every ~30 pages (5-10 ms each, longer as the caches grow). Measured over 1,000
    first pages of the 10k-people community: full collections 31 -> 2, time in the collector per
    page 1.0 -> 0.4 ms, its p99 8.1 -> 1.4 ms (git history of docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    _, mid, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GC_THRESHOLD, mid, old)


YOUNG_GC_THRESHOLD = 2000


def apply_controls(values: np.ndarray, cands: list[Candidate], ctx: ViewerContext, controls: dict,
                   cfg: FeedConfig) -> np.ndarray:
    """Content-type weights and "show less" factors: multiply positive values, divide negative ones."""
    if not len(cands):
        return values
    factor = np.ones(len(cands))
    kw = controls.get("kind_weights", {})
    for i, c in enumerate(cands):
        f = float(kw.get(c.kind, 1.0))
        if c.author_id in ctx.show_less_authors:
            f *= cfg.blend.show_less_author_factor
        if ctx.show_less_topics.intersection(c.hashtags):
            f *= cfg.blend.show_less_topic_factor
        factor[i] = f
    return np.where(values >= 0, values * factor, values / factor)
