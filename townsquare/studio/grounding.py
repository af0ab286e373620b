"""Grounding: find the creator's own PUBLIC posts that answer a question.

Only public posts are ever used (not deleted, not removed, by an active account), and only those
that the asker may see (``social.visibility``: a block either way hides them all). Followers-only
posts never reach a creator AI, whoever is asking.
Vectors are the bundled MiniLM embeddings, cached per post in ``post_embeddings`` and
recomputed when the post was edited after they were computed. On PostgreSQL with the pgvector
extension (migration 0005 adds an ``embedding vector(384)`` column with an HNSW index where the
server has it), the nearest posts are found in the database with ``<=>``; elsewhere in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from townsquare.db.base import utcnow
from townsquare.social.models import Post
from townsquare.social.visibility import visible_posts_query
from townsquare.studio.models import PostEmbedding

EMBEDDING_MODEL = "all-MiniLM-L6-v2"
MAX_POSTS_SCANNED = 2000  # the creator's most recent public posts


@dataclass(frozen=True)
class Source:
    post_id: int
    text: str
    score: float
    created_at: object


def post_text(post: Post) -> str:
    parts = [post.text or ""]
    if post.link_title:
        parts.append(post.link_title)
    return "\n".join(p for p in parts if p).strip()


def public_posts_of(session: Session, author_id: int, limit: int = MAX_POSTS_SCANNED, *,
                    viewer_id: int | None = None) -> list[Post]:
    """The author's public posts that ``viewer_id`` (None: signed out) may see, newest first."""
    query = (visible_posts_query(viewer_id).where(Post.author_id == author_id, Post.visibility == "public")
             .order_by(Post.created_at.desc(), Post.id.desc()).limit(limit))
    return list(session.scalars(query).unique())


def _embed(texts: list[str], settings) -> np.ndarray:
    from townsquare.llm.embeddings import embed_texts

    return embed_texts(texts, settings=settings)


def post_vectors(session: Session, posts: list[Post], settings=None) -> np.ndarray:
    """Vectors for ``posts`` (in order), computing and caching the missing or stale ones."""
    if not posts:
        return np.zeros((0, 384), dtype=np.float32)
    cached = {
        row.post_id: row
        for row in session.scalars(select(PostEmbedding).where(PostEmbedding.post_id.in_([p.id for p in posts])))
    }
    stale = [p for p in posts if p.id not in cached or (p.edited_at and p.edited_at > cached[p.id].computed_at)
             or cached[p.id].model != EMBEDDING_MODEL]
    if stale:
        vectors = _embed([post_text(p) for p in stale], settings)
        now = utcnow()
        for post, vector in zip(stale, vectors, strict=True):
            row = cached.get(post.id) or PostEmbedding(post_id=post.id)
            row.model, row.vector, row.computed_at = EMBEDDING_MODEL, vector.astype("<f4").tobytes(), now
            session.add(row)
            cached[post.id] = row
        session.flush()
        if has_pgvector(session):
            for post in stale:
                session.execute(text("UPDATE post_embeddings SET embedding = CAST(:v AS vector) WHERE post_id = :id"),
                                {"v": _pg_vector(np.frombuffer(cached[post.id].vector, dtype="<f4")), "id": post.id})
    return np.stack([np.frombuffer(cached[p.id].vector, dtype="<f4") for p in posts])


def has_pgvector(session: Session) -> bool:
    """True on PostgreSQL when migration 0005 could add the pgvector column."""
    bind = session.get_bind()
    if bind.dialect.name != "postgresql":
        return False
    cached = session.info.get("pgvector")
    if cached is None:
        cached = bool(session.scalar(text(
            "SELECT 1 FROM information_schema.columns WHERE table_name = 'post_embeddings' "
            "AND column_name = 'embedding'")))
        session.info["pgvector"] = cached
    return cached


def _pg_vector(vector: np.ndarray) -> str:
    return "[" + ",".join(f"{x:.7g}" for x in vector.tolist()) + "]"


def find_sources(session: Session, author_id: int, question: str, *, k: int = 3, min_score: float = 0.2,
                 settings=None, viewer_id: int | None = None) -> list[Source]:
    """The author's public posts (that ``viewer_id`` may see) most similar to ``question``, best first."""
    posts = public_posts_of(session, author_id, viewer_id=viewer_id)
    if not posts or not question.strip():
        return []
    vectors = post_vectors(session, posts, settings)
    query = _embed([question], settings)[0]
    if has_pgvector(session):
        by_id = {p.id: p for p in posts}
        rows = session.execute(text(
            "SELECT post_id, 1 - (embedding <=> CAST(:q AS vector)) AS score FROM post_embeddings "
            "WHERE post_id = ANY(:ids) ORDER BY embedding <=> CAST(:q AS vector), post_id LIMIT :k"),
            {"q": _pg_vector(query), "ids": list(by_id), "k": k}).all()
        return [Source(pid, post_text(by_id[pid]), float(score), by_id[pid].created_at)
                for pid, score in rows if score >= min_score]
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [Source(posts[i].id, post_text(posts[i]), float(scores[i]), posts[i].created_at)
            for i in order if scores[i] >= min_score]
