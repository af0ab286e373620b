"""Search over posts (text, link title, and so hashtags) and people (handle, display name, bio), and
hashtag pages and hashtag follows.

Full-text indexes are made by migration 0002: SQLite FTS5 tables kept in sync by triggers, PostgreSQL
GIN indexes over ``to_tsvector('simple', ...)``. Results are ranked by relevance (bm25 / ts_rank), then
by recency, and always filtered by ``visibility.visible_posts_clause`` (followers-only posts reach
followers only) plus the searcher's blocks and mutes; suspended and deleted accounts never show.

Queries are reduced to their words (letters and digits) before they reach the search engine, so no
input can be interpreted as FTS syntax; every word must match, the last one as a prefix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import case, column, exists, func, literal_column, not_, select, table
from sqlalchemy.orm import Session

from townsquare.errors import Conflict, InvalidInput, NotFound
from townsquare.social.blocks import either_way_clause
from townsquare.social.events import log_event, record_event
from townsquare.social.graph import insert_or_conflict
from townsquare.social.hashtag_chars import TAG_CHAR
from townsquare.social.models import Account, Hashtag, HashtagFollow, Mute, Post, PostHashtag
from townsquare.social.paging import DEFAULT_LIMIT, Page, keyset_page, offset_page
from townsquare.social.visibility import visible_posts_clause

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
SEARCH_KINDS = ("posts", "people", "hashtags")
HASHTAG_RE = re.compile("^" + TAG_CHAR + "{1,100}$")
_WORD = re.compile(r"[^\W_]+")

# Keep identical to the PostgreSQL index expressions in migration 0002_search.
# Constants are literal SQL (not bound parameters) so the expressions match the indexes.
_SIMPLE = literal_column("'simple'::regconfig")
_EMPTY, _SPACE = literal_column("''"), literal_column("' '")
POSTS_TSV = func.to_tsvector(
    _SIMPLE, func.coalesce(Post.text, _EMPTY).op("||")(_SPACE).op("||")(func.coalesce(Post.link_title, _EMPTY))
)
ACCOUNTS_TSV = func.to_tsvector(
    _SIMPLE, Account.handle.op("||")(_SPACE).op("||")(Account.display_name).op("||")(_SPACE).op("||")(Account.bio)
)

_posts_fts = table("posts_fts", column("rowid"))
_accounts_fts = table("accounts_fts", column("rowid"))


@dataclass
class HashtagInfo:
    name: str
    post_count: int  # posts the viewer can see
    following: bool


def query_terms(query: str) -> list[str]:
    """The words of a query, lower-cased; at most MAX_TERMS."""
    if not isinstance(query, str):
        raise InvalidInput("q must be a string")
    query = query.strip()
    if not query:
        raise InvalidInput("type something to search for")
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a search is at most {MAX_QUERY_CHARS} characters")
    terms = [w.lower() for w in _WORD.findall(query)][:MAX_TERMS]
    if not terms:
        raise InvalidInput("search for words: letters or digits")
    return terms


def _fts5_match(terms: list[str]) -> str:
    # Each word quoted (FTS5 string), every word required, the last one as a prefix.
    quoted = [f'"{t}"' for t in terms]
    quoted[-1] += "*"
    return " ".join(quoted)


def _tsquery(terms: list[str]) -> str:
    return " & ".join(terms) + ":*"


def _hidden_for(viewer_id: int | None, author_col):
    """Authors the viewer muted (blocks are handled by the visibility rule)."""
    if viewer_id is None:
        return None
    return exists().where(Mute.muter_id == viewer_id, Mute.muted_id == author_col)


def _visible_posts(viewer: Account | None):
    viewer_id = viewer.id if viewer is not None else None
    stmt = select(Post).join(Post.author).where(visible_posts_clause(viewer_id))
    muted = _hidden_for(viewer_id, Post.author_id)
    return stmt.where(not_(muted)) if muted is not None else stmt


def search_posts(session: Session, viewer: Account | None, query: str, *, cursor: str | None = None,
                 limit: int = DEFAULT_LIMIT, log: bool = True) -> Page[Post]:
    terms = query_terms(query)
    stmt = _visible_posts(viewer)
    if session.get_bind().dialect.name == "postgresql":
        tsq = func.to_tsquery(_SIMPLE, _tsquery(terms))
        rank = func.ts_rank(POSTS_TSV, tsq, 1)  # 1: divide by 1 + log(length), as bm25 favours short
        stmt = stmt.where(POSTS_TSV.op("@@")(tsq)).order_by(rank.desc(), Post.created_at.desc(), Post.id.desc())
    else:
        rank = func.bm25(literal_column("posts_fts"))  # lower is better
        stmt = (
            stmt.join(_posts_fts, _posts_fts.c.rowid == Post.id)
            .where(literal_column("posts_fts").op("MATCH")(_fts5_match(terms)))
            .order_by(rank.asc(), Post.created_at.desc(), Post.id.desc())
        )
    page = offset_page(session, stmt, cursor=cursor, limit=limit)
    if log and viewer is not None and cursor is None:
        record_event(session, viewer.id, "search", "none", None, surface="search",
                  context={"query": query.strip()[:MAX_QUERY_CHARS], "kind": "posts"})
    return page


def search_people(session: Session, viewer: Account | None, query: str, *, cursor: str | None = None,
                  limit: int = DEFAULT_LIMIT, log: bool = True) -> Page[Account]:
    terms = query_terms(query)
    stmt = select(Account).where(Account.status == "active")
    if viewer is not None:
        stmt = stmt.where(not_(either_way_clause(viewer.id, Account.id)), not_(_hidden_for(viewer.id, Account.id)))
    exact = case((Account.handle == query.strip().lstrip("@").lower(), 0), else_=1)  # exact handle first
    if session.get_bind().dialect.name == "postgresql":
        tsq = func.to_tsquery(_SIMPLE, _tsquery(terms))
        rank = func.ts_rank(ACCOUNTS_TSV, tsq, 1)
        stmt = stmt.where(ACCOUNTS_TSV.op("@@")(tsq)).order_by(exact, rank.desc(), Account.follower_count.desc(),
                                                               Account.id.desc())
    else:
        rank = func.bm25(literal_column("accounts_fts"))
        stmt = (
            stmt.join(_accounts_fts, _accounts_fts.c.rowid == Account.id)
            .where(literal_column("accounts_fts").op("MATCH")(_fts5_match(terms)))
            .order_by(exact, rank.asc(), Account.follower_count.desc(), Account.id.desc())
        )
    page = offset_page(session, stmt, cursor=cursor, limit=limit)
    if log and viewer is not None and cursor is None:
        record_event(session, viewer.id, "search", "none", None, surface="search",
                  context={"query": query.strip()[:MAX_QUERY_CHARS], "kind": "people"})
    return page


# --- hashtags ------------------------------------------------------------------------------------


def normalize_hashtag(name: str) -> str:
    name = (name or "").strip().lstrip("#").lower()
    if not HASHTAG_RE.match(name) or name.isdigit():  # the same rule as posts.parse_hashtags
        raise InvalidInput("a hashtag is 1 to 100 letters, digits or underscores, not only digits")
    return name


def _hashtag(session: Session, name: str) -> Hashtag | None:
    return session.scalar(select(Hashtag).where(Hashtag.name == name))


def search_hashtags(session: Session, viewer: Account | None, query: str, *, cursor: str | None = None,
                    limit: int = DEFAULT_LIMIT, log: bool = True) -> Page[str]:
    """Hashtag names starting with the query that are on at least one post the viewer may see, most
    used (in what the viewer may see) first. A tag that exists only on followers-only posts, or only
    on posts of people blocked either way, is not there for the viewer (names only: counts stay with
    ``hashtag_info``, which counts what the viewer may see)."""
    query_terms(query)  # same length and content checks as the other kinds
    prefix = query.strip().lstrip("#").lower()
    if not HASHTAG_RE.match(prefix):
        raise InvalidInput("a hashtag search is letters, digits or underscores")
    viewer_id = viewer.id if viewer is not None else None
    uses = (select(func.count(PostHashtag.post_id))
            .join(Post, Post.id == PostHashtag.post_id).join(Account, Account.id == Post.author_id)
            .where(PostHashtag.hashtag_id == Hashtag.id, visible_posts_clause(viewer_id)))
    muted = _hidden_for(viewer_id, Post.author_id)
    if muted is not None:
        uses = uses.where(not_(muted))
    uses = uses.correlate(Hashtag).scalar_subquery()
    stmt = (
        select(Hashtag.name)
        .where(Hashtag.name.startswith(prefix, autoescape=True), uses > 0)
        .order_by(case((Hashtag.name == prefix, 0), else_=1), uses.desc(), Hashtag.name)
    )
    page = offset_page(session, stmt, cursor=cursor, limit=limit)
    if log and viewer is not None and cursor is None:
        record_event(session, viewer.id, "search", "none", None, surface="search",
                  context={"query": query.strip()[:MAX_QUERY_CHARS], "kind": "hashtags"})
    return page


def hashtag_posts(session: Session, viewer: Account | None, name: str, *, cursor: str | None = None,
                  limit: int = DEFAULT_LIMIT) -> Page[Post]:
    """Posts with ``#name`` that the viewer may see, newest first (empty for a tag nobody used yet)."""
    name = normalize_hashtag(name)
    tag = _hashtag(session, name)
    if tag is None:
        return Page([], None)
    stmt = _visible_posts(viewer).where(
        exists().where(PostHashtag.post_id == Post.id, PostHashtag.hashtag_id == tag.id)
    )
    return keyset_page(session, stmt, keys=[Post.created_at, Post.id], key_of=lambda p: (p.created_at, p.id),
                       cursor=cursor, limit=limit)


def hashtag_info(session: Session, viewer: Account | None, name: str) -> HashtagInfo:
    name = normalize_hashtag(name)
    tag = _hashtag(session, name)
    if tag is None:
        return HashtagInfo(name, 0, False)
    count_stmt = _visible_posts(viewer).where(
        exists().where(PostHashtag.post_id == Post.id, PostHashtag.hashtag_id == tag.id)
    ).with_only_columns(func.count(Post.id))
    following = viewer is not None and session.get(HashtagFollow, (viewer.id, tag.id)) is not None
    return HashtagInfo(name, int(session.scalar(count_stmt) or 0), following)


def follow_hashtag(session: Session, actor: Account, name: str) -> HashtagInfo:
    name = normalize_hashtag(name)
    tag = _hashtag(session, name)
    if tag is None:  # following a tag before anyone used it is fine
        insert_or_conflict(session, Hashtag(name=name), f"#{name} was just created; try again")
        tag = _hashtag(session, name)
    if session.get(HashtagFollow, (actor.id, tag.id)) is not None:
        raise Conflict(f"you already follow #{name}")
    insert_or_conflict(session, HashtagFollow(account_id=actor.id, hashtag_id=tag.id), f"you already follow #{name}")
    log_event(session, actor.id, "follow", "hashtag", tag.id)
    return hashtag_info(session, actor, name)


def unfollow_hashtag(session: Session, actor: Account, name: str) -> None:
    name = normalize_hashtag(name)
    tag = _hashtag(session, name)
    row = session.get(HashtagFollow, (actor.id, tag.id)) if tag is not None else None
    if row is None:
        raise NotFound(f"you do not follow #{name}")
    session.delete(row)
    session.flush()
    log_event(session, actor.id, "unfollow", "hashtag", tag.id)


def followed_hashtags(session: Session, actor: Account, *, cursor: str | None = None,
                      limit: int = DEFAULT_LIMIT) -> Page[str]:
    stmt = (
        select(Hashtag.name, HashtagFollow.created_at, Hashtag.id)
        .join(HashtagFollow, HashtagFollow.hashtag_id == Hashtag.id)
        .where(HashtagFollow.account_id == actor.id)
    )
    page = keyset_page(session, stmt, keys=[HashtagFollow.created_at, Hashtag.id],
                       key_of=lambda row: (row[1], row[2]), cursor=cursor, limit=limit, scalars=False)
    return Page([row[0] for row in page.items], page.next_cursor)
