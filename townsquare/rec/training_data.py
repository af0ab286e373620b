"""Training data for the unified model, built from the event log.

Read top to bottom:

1. Tokens. A person's raw events are folded into *tokens*: one token per time they met an entity
   (a post or an account). An impression of a post opens an episode; the open, dwell, like,
   comment, share, hide... on the same post within ``EPISODE_WINDOW`` join it. A like or a follow
   without an impression (from a profile page, search...) makes its own token. Authored posts are
   tokens too (action ``post``): they tell the model what the person writes about.
2. Labels. What the person did with each token's entity, one column per head of ``POST_HEADS``:
   short-term (open, like, comment, share, dwell >= ``DWELL_THRESHOLD_MS``, hide, report) and
   long-term: ``follow_author`` (they followed the author within ``FOLLOW_HORIZON`` after the
   token, and did not follow them before) and ``two_way`` (that follow became mutual or the
   author interacted back within ``TWO_WAY_HORIZON``; a joint outcome, 0 when there was no
   follow). For an account token, "the author" is the account itself. -1 means unknown: not
   applicable (already following, one's own post), or not observable yet: a long-term label is
   known only when its whole horizon ends before the end of the token's split, so labels never
   look past the split (and whether a label is known never depends on its value).
3. Split by time. Two global cut points at quantiles of token time: each person's history is a
   train prefix, a validation segment and a test tail. No label or feature of an earlier split
   reads events of a later one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townsquare.errors import InvalidInput
from townsquare.rec.heads import POST_HEADS
from townsquare.social.events import EventRecord, iter_sequences
from townsquare.social.models import Account, Follow, Post

HEAD_COL = {name: i for i, name in enumerate(POST_HEADS)}  # label column of each head

DWELL_THRESHOLD_MS = 5_000
EPISODE_WINDOW = timedelta(minutes=30)
# Long-term horizons: a follow within 12 hours of meeting the author counts as caused by it; it
# is two-way when the author follows back or engages with the person within 36 hours.
FOLLOW_HORIZON = timedelta(hours=12)
TWO_WAY_HORIZON = timedelta(hours=36)

# The strongest action in an episode names the token (and picks its action embedding).
ACTION_PRIORITY = ("post", "report", "hide", "follow", "share", "repost", "comment", "like", "open",
                   "dwell", "message", "profile_visit", "unfollow", "impression")
_RANK = {a: i for i, a in enumerate(ACTION_PRIORITY)}
POST_ACTIONS = {"impression", "dwell", "open", "like", "comment", "share", "repost", "hide", "report", "post"}
ACCOUNT_ACTIONS = {"impression", "follow", "unfollow", "profile_visit", "message", "ai_chat", "hide", "report"}
# Actions that say "I wanted this": they make a token a positive retrieval target.
POSITIVE = {"open", "like", "comment", "share", "repost", "follow", "profile_visit", "message", "ai_chat"}
NEGATIVE = {"hide", "report"}
# Interactions that count as "the other person engaged back" (two-way).
ENGAGE_BACK_POST = {"like", "comment", "share", "repost"}
ENGAGE_BACK_ACCOUNT = {"follow", "message", "profile_visit", "ai_chat"}

SPLITS = ("train", "valid", "test")


@dataclass(slots=True)
class Token:
    kind: str                 # "post" | "account"
    entity_id: int
    ts: datetime              # when the episode started
    actions: set[str] = field(default_factory=set)
    dwell_ms: int = 0
    last_ts: datetime | None = None
    split: str = "train"
    labels: list[float] | None = None

    @property
    def action(self) -> str:
        return min(self.actions, key=lambda a: _RANK.get(a, len(_RANK)))

    @property
    def target(self) -> bool:
        """A positive retrieval target: engaged with, not hidden, not one's own post."""
        if "post" in self.actions or self.actions & NEGATIVE:
            return False
        return bool(self.actions & POSITIVE) or self.dwell_ms >= DWELL_THRESHOLD_MS


def tokenize(events: Iterable[EventRecord]) -> list[Token]:
    """Fold one person's time-ordered events into tokens (see the module docstring)."""
    tokens: list[Token] = []
    open_: dict[tuple[str, int], Token] = {}
    for e in events:
        if e.entity_id is None:
            continue
        if e.entity_type == "post" and e.action in POST_ACTIONS:
            kind = "post"
        elif e.entity_type in ("account", "creator_ai") and e.action in ACCOUNT_ACTIONS:
            kind = "account"
        else:
            continue
        key = (kind, e.entity_id)
        tok = open_.get(key)
        fresh = e.action == "post" or tok is None or e.ts - tok.last_ts > EPISODE_WINDOW
        if fresh:
            tok = Token(kind, e.entity_id, e.ts, last_ts=e.ts)
            tokens.append(tok)
            open_[key] = tok
        tok.actions.add("follow" if e.action == "follow" else e.action)
        if e.action == "ai_chat":
            tok.actions.add("message")
        if e.dwell_ms:
            tok.dwell_ms = max(tok.dwell_ms, e.dwell_ms)
        tok.last_ts = max(tok.last_ts, e.ts)
    return tokens


# ---------------------------------------------------------------------------------------------
# Entities and the social graph as read from the database.

@dataclass(slots=True)
class PostInfo:
    id: int
    author_id: int
    kind: str
    text: str
    created_at: datetime
    edited_at: datetime | None
    visibility: str
    alive: bool  # not deleted, not removed


@dataclass(slots=True)
class AccountInfo:
    id: int
    text: str  # display name + bio: the account's content
    created_at: datetime
    active: bool


def post_text(text: str | None, link_title: str | None) -> str:
    return " ".join(t for t in ((text or "").strip(), (link_title or "").strip()) if t)


def load_posts(session: Session, ids: Iterable[int] | None = None) -> dict[int, PostInfo]:
    q = select(Post.id, Post.author_id, Post.kind, Post.text, Post.link_title, Post.created_at, Post.edited_at,
               Post.visibility, Post.deleted_at, Post.removed_at)
    out: dict[int, PostInfo] = {}
    id_list = None if ids is None else list(ids)
    chunks = [None] if id_list is None else [id_list[i:i + 5000] for i in range(0, len(id_list), 5000)]
    for chunk in chunks:
        query = q if chunk is None else q.where(Post.id.in_(chunk))
        for r in session.execute(query):
            out[r.id] = PostInfo(r.id, r.author_id, r.kind, post_text(r.text, r.link_title), r.created_at,
                                 r.edited_at, r.visibility, r.deleted_at is None and r.removed_at is None)
    return out


def load_accounts(session: Session, ids: Iterable[int] | None = None) -> dict[int, AccountInfo]:
    q = select(Account.id, Account.display_name, Account.bio, Account.created_at, Account.status)
    out: dict[int, AccountInfo] = {}
    id_list = None if ids is None else list(ids)
    chunks = [None] if id_list is None else [id_list[i:i + 5000] for i in range(0, len(id_list), 5000)]
    for chunk in chunks:
        query = q if chunk is None else q.where(Account.id.in_(chunk))
        for r in session.execute(query):
            text = " ".join(t for t in ((r.display_name or "").strip(), (r.bio or "").strip()) if t)
            out[r.id] = AccountInfo(r.id, text, r.created_at, r.status == "active")
    return out


class SocialTimeline:
    """When each follow started and when one person engaged with another, for the long-term labels."""

    def __init__(self) -> None:
        self.follow_times: dict[tuple[int, int], list[datetime]] = defaultdict(list)
        self.engage_times: dict[tuple[int, int], list[datetime]] = defaultdict(list)

    def add_follow(self, a: int, b: int, ts: datetime) -> None:
        self.follow_times[(a, b)].append(ts)

    def add_engagement(self, a: int, b: int, ts: datetime) -> None:
        if a != b:
            self.engage_times[(a, b)].append(ts)

    def finish(self) -> None:
        for d in (self.follow_times, self.engage_times):
            for v in d.values():
                v.sort()

    def first_follow(self, a: int, b: int) -> datetime | None:
        times = self.follow_times.get((a, b))
        return times[0] if times else None

    def following_at(self, a: int, b: int, ts: datetime) -> bool:
        f = self.first_follow(a, b)
        return f is not None and f < ts

    def follow_after(self, a: int, b: int, ts: datetime) -> datetime | None:
        times = self.follow_times.get((a, b)) or []
        i = bisect_left(times, ts)
        return times[i] if i < len(times) else None

    def engaged_between(self, a: int, b: int, start: datetime, end: datetime) -> bool:
        """Did ``a`` engage with ``b`` (or start following them) in [start, end)?"""
        for d in (self.engage_times, self.follow_times):
            times = d.get((a, b)) or []
            i = bisect_left(times, start)
            if i < len(times) and times[i] < end:
                return True
        return False

    def followers_before(self, ts: datetime) -> dict[int, int]:
        counts: dict[int, int] = defaultdict(int)
        for (_a, b), times in self.follow_times.items():
            if times and times[0] < ts:
                counts[b] += 1
        return counts


# ---------------------------------------------------------------------------------------------
# Labels.

def label_token(person: int, tok: Token, author: int | None, timeline: SocialTimeline,
                label_end: datetime) -> list[float]:
    """Head labels of one token, observing nothing at or after ``label_end``."""
    y = [-1.0] * len(POST_HEADS)
    if "post" in tok.actions:
        return y  # one's own post: no outcome to predict
    if tok.kind == "post":
        acts = tok.actions
        y[HEAD_COL["open"]] = float("open" in acts)
        y[HEAD_COL["like"]] = float("like" in acts)
        y[HEAD_COL["comment"]] = float("comment" in acts)
        y[HEAD_COL["share"]] = float(bool(acts & {"share", "repost"}))
        y[HEAD_COL["dwell"]] = float(tok.dwell_ms >= DWELL_THRESHOLD_MS)
        y[HEAD_COL["hide"]] = float("hide" in acts)
        y[HEAD_COL["report"]] = float("report" in acts)
    if author is None or author == person or timeline.following_at(person, author, tok.ts):
        return y
    # Long-term labels are known only when their whole horizon lies before ``label_end``: the set
    # of known tokens then depends on time alone, not on the outcome (no bias towards positives).
    if tok.ts + FOLLOW_HORIZON > label_end:
        return y
    f = timeline.follow_after(person, author, tok.ts)
    followed = f is not None and f - tok.ts <= FOLLOW_HORIZON
    y[HEAD_COL["follow_author"]] = float(followed)
    if tok.ts + FOLLOW_HORIZON + TWO_WAY_HORIZON <= label_end:
        back = followed and (timeline.following_at(author, person, f + timedelta(microseconds=1))
                             or timeline.engaged_between(author, person, f, f + TWO_WAY_HORIZON))
        y[HEAD_COL["two_way"]] = float(bool(back))
    return y


# ---------------------------------------------------------------------------------------------
# The whole data set.

@dataclass
class DataWindow:
    since: datetime
    until: datetime          # exclusive end: just after the last event
    valid_start: datetime
    test_start: datetime
    n_events: int
    n_people: int
    n_tokens: dict[str, int]

    def to_dict(self) -> dict:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                "valid_start": self.valid_start.isoformat(), "test_start": self.test_start.isoformat(),
                "n_events": self.n_events, "n_people": self.n_people, "n_tokens": dict(self.n_tokens)}

    def split_of(self, ts: datetime) -> str:
        return "train" if ts < self.valid_start else "valid" if ts < self.test_start else "test"

    def label_end(self, split: str) -> datetime:
        return {"train": self.valid_start, "valid": self.test_start, "test": self.until}[split]

    def split_start(self, split: str) -> datetime:
        return {"train": self.since, "valid": self.valid_start, "test": self.test_start}[split]


@dataclass
class LogData:
    sequences: dict[int, list[Token]]
    posts: dict[int, PostInfo]
    accounts: dict[int, AccountInfo]
    timeline: SocialTimeline
    window: DataWindow

    def author_of(self, tok: Token) -> int | None:
        if tok.kind == "account":
            return tok.entity_id
        p = self.posts.get(tok.entity_id)
        return p.author_id if p else None


def _quantile_time(times: list[datetime], q: float) -> datetime:
    times = sorted(times)
    return times[min(len(times) - 1, max(0, int(q * len(times))))]


def build_log_data(session: Session, *, since: datetime | None = None, until: datetime | None = None,
                   valid_frac: float = 0.1, test_frac: float = 0.1, min_tokens: int = 2,
                   progress: bool = False, holdout: bool = True) -> LogData:
    """Read the event log into per-person token sequences with labels and a time split.
    ``holdout=False``: everything is training data, labelled up to the end of the log (the final
    refit of a served model, after it has been evaluated with a holdout).

    Raises InvalidInput when the log holds too little to train on."""
    if not (0 < valid_frac < 1 and 0 < test_frac < 1 and valid_frac + test_frac < 1):
        raise InvalidInput("valid_frac and test_frac must be in (0, 1) and sum to less than 1")
    raw: dict[int, list[Token]] = {}
    timeline = SocialTimeline()
    n_events = 0
    first: datetime | None = None
    last: datetime | None = None
    post_engagements: list[tuple[int, int, datetime]] = []  # (actor, post, ts): resolved to authors below
    for actor, events in _progress(iter_sequences(session, since=since, until=until), progress,
                                   "reading the event log"):
        n_events += len(events)
        first = events[0].ts if first is None else min(first, events[0].ts)
        last = events[-1].ts if last is None else max(last, events[-1].ts)
        for e in events:
            if e.entity_id is None:
                continue
            if e.entity_type == "account":
                if e.action == "follow":
                    timeline.add_follow(actor, e.entity_id, e.ts)
                elif e.action in ENGAGE_BACK_ACCOUNT:
                    timeline.add_engagement(actor, e.entity_id, e.ts)
            elif e.entity_type == "post" and e.action in ENGAGE_BACK_POST:
                post_engagements.append((actor, e.entity_id, e.ts))
        raw[actor] = tokenize(events)
    if n_events == 0 or first is None or last is None:
        raise InvalidInput("the event log is empty: nothing to train on (seed a community with "
                           "`townsquare seed` or let people use the app first)")
    # Follows that exist without a logged event (imported, seeded) count from their creation time.
    for f in session.execute(select(Follow.follower_id, Follow.followee_id, Follow.created_at)):
        if (f.follower_id, f.followee_id) not in timeline.follow_times:
            timeline.add_follow(f.follower_id, f.followee_id, f.created_at)
    post_ids = {t.entity_id for toks in raw.values() for t in toks if t.kind == "post"}
    post_ids |= {p for _, p, _ in post_engagements}
    posts = load_posts(session)  # the whole catalog: retrieval is evaluated over it
    for actor, pid, ts in post_engagements:
        p = posts.get(pid)
        if p is not None:
            timeline.add_engagement(actor, p.author_id, ts)
    timeline.finish()
    account_ids = set(raw) | {p.author_id for p in posts.values()} | \
        {t.entity_id for toks in raw.values() for t in toks if t.kind == "account"}
    accounts = load_accounts(session, account_ids)
    # Drop tokens of entities that no longer exist (hard-deleted rows).
    sequences = {}
    for actor, toks in raw.items():
        toks = [t for t in toks if (t.entity_id in posts if t.kind == "post" else t.entity_id in accounts)]
        if len(toks) >= min_tokens:
            sequences[actor] = toks
    all_times = [t.ts for toks in sequences.values() for t in toks]
    if len(all_times) < 10:
        raise InvalidInput(f"the event log has only {len(all_times)} usable interactions; "
                           "at least 10 are needed to train")
    until_ = last + timedelta(microseconds=1)
    if holdout:
        valid_start = _quantile_time(all_times, 1 - valid_frac - test_frac)
        test_start = _quantile_time(all_times, 1 - test_frac)
        if not (valid_start < test_start):
            raise InvalidInput("the event log spans too short a time to split it into train/valid/test")
    else:
        valid_start = test_start = until_
    window = DataWindow(since=first, until=until_, valid_start=valid_start,
                        test_start=test_start, n_events=n_events, n_people=len(sequences), n_tokens={})
    counts = dict.fromkeys(SPLITS, 0)
    for actor, toks in sequences.items():
        for t in toks:
            t.split = window.split_of(t.ts)
            counts[t.split] += 1
            author = posts[t.entity_id].author_id if t.kind == "post" else t.entity_id
            t.labels = label_token(actor, t, author, timeline, window.label_end(t.split))
    window.n_tokens = counts
    if counts["train"] == 0 or (holdout and counts["valid"] == 0):
        raise InvalidInput("the event log spans too short a time to split it into train/valid/test")
    return LogData(sequences=sequences, posts=posts, accounts=accounts, timeline=timeline, window=window)


def _progress(it, enabled: bool, label: str):
    if not enabled:
        yield from it
        return
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    with Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), TextColumn("{task.completed} people"),
                  TimeElapsedColumn(), transient=True) as bar:
        task = bar.add_task(label, total=None)
        for item in it:
            yield item
            bar.advance(task)


def history_before(tokens: list[Token], ts: datetime) -> list[Token]:
    """The tokens that started strictly before ``ts`` (tokens are in time order)."""
    return tokens[:bisect_left([t.ts for t in tokens], ts)]
