"""Grounding through pgvector on PostgreSQL servers that have the extension (skipped elsewhere)."""

import pytest
from sqlalchemy import text

from townsquare.social import accounts, posts
from townsquare.studio import grounding


def test_grounding_ranks_in_the_database_with_pgvector(db):
    if db.dialect != "postgresql":
        pytest.skip("pgvector is a PostgreSQL extension")
    with db.session() as s:
        if not grounding.has_pgvector(s):
            available = s.scalar(text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"))
            pytest.skip("this PostgreSQL server has no pgvector extension" if not available
                        else "pgvector is available but migration 0005 did not add the column")
        mia = accounts.create_account(s, "pgv_mia", None)
        public = posts.create_post(s, mia, text="My favourite crag is Fontainebleau.")
        posts.create_post(s, mia, text="Secret: Ceuse", visibility="followers")
        posts.create_post(s, mia, text="I bake sourdough on Sundays.")
        sources = grounding.find_sources(s, mia.id, "Which crag do you like?", k=1, min_score=0.0)
        assert [src.post_id for src in sources] == [public.id]
        assert s.scalar(text("SELECT count(*) FROM post_embeddings WHERE embedding IS NOT NULL")) == 2
