"""Grounding: find the creator's own PUBLIC posts that answer a question.

Only posts that anyone signed out could read are ever used: public, not deleted, not removed,
by an active account. Followers-only posts never reach a creator AI, whoever is asking.
Vectors are the bundled MiniLM embeddings, cached per post in ``post_embeddings`` and
recomputed when the post was edited after they were computed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy import select
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


def public_posts_of(session: Session, author_id: int, limit: int = MAX_POSTS_SCANNED) -> list[Post]:
    """The author's posts as a signed-out visitor sees them (so: public ones only), newest first."""
    query = (visible_posts_query(None).where(Post.author_id == author_id)
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
    return np.stack([np.frombuffer(cached[p.id].vector, dtype="<f4") for p in posts])


def find_sources(session: Session, author_id: int, question: str, *, k: int = 3, min_score: float = 0.2,
                 settings=None) -> list[Source]:
    """The author's public posts most similar to ``question``, best first."""
    posts = public_posts_of(session, author_id)
    if not posts or not question.strip():
        return []
    vectors = post_vectors(session, posts, settings)
    query = _embed([question], settings)[0]
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return [Source(posts[i].id, post_text(posts[i]), float(scores[i]), posts[i].created_at)
            for i in order if scores[i] >= min_score]
