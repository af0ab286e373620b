"""pgvector for grounding, where the PostgreSQL server has the extension

On PostgreSQL with pgvector available: the extension, an ``embedding vector(384)`` column on
``post_embeddings`` and an HNSW cosine index. Elsewhere (SQLite, PostgreSQL without pgvector)
nothing changes and grounding ranks in numpy.

Revision ID: 0005_pgvector
Revises: 0004_feed_settings
Create Date: 2026-11-29 05:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_pgvector'
down_revision = '0004_feed_settings'
branch_labels = None
depends_on = None


def _available(bind) -> bool:
    if bind.dialect.name != "postgresql":
        return False
    return bool(bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).scalar())


def upgrade() -> None:
    bind = op.get_bind()
    if not _available(bind):
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    op.execute("ALTER TABLE post_embeddings ADD COLUMN IF NOT EXISTS embedding vector(384)")
    op.execute("CREATE INDEX IF NOT EXISTS ix_post_embeddings_embedding ON post_embeddings "
               "USING hnsw (embedding vector_cosine_ops)")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("DROP INDEX IF EXISTS ix_post_embeddings_embedding")
    op.execute("ALTER TABLE post_embeddings DROP COLUMN IF EXISTS embedding")
