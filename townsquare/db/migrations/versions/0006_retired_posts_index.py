"""partial indexes on deleted and removed posts

The model's catalogue (rec/serve.py) looks for posts deleted or removed since its last look every
few seconds; without these it scanned the posts table (20 ms CPU on 200,000 posts; see the git
history of docs/benchmarks.md).

Revision ID: 0006_retired_posts_index
Revises: 0005_pgvector
Create Date: 2026-11-29 15:35:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006_retired_posts_index'
down_revision = '0005_pgvector'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for column in ("deleted_at", "removed_at"):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(f"ix_posts_{column.removesuffix('_at')}", "posts", [column], unique=False,
                        sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_posts_removed", table_name="posts")
    op.drop_index("ix_posts_deleted", table_name="posts")
