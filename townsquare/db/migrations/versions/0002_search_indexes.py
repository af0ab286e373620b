"""full-text search indexes for posts and accounts

SQLite: FTS5 external-content tables (posts_fts, accounts_fts) kept in sync by triggers.
PostgreSQL: GIN expression indexes over to_tsvector('simple', ...), the same expressions that
townsquare/social/search.py queries, so the planner uses them.

Revision ID: 0002_search
Revises: 0002_show_less
Create Date: 2026-11-29 03:50:00
"""
from alembic import op


revision = '0002_search'
down_revision = '0002_show_less'
branch_labels = None
depends_on = None


SQLITE_UP = [
    "CREATE VIRTUAL TABLE posts_fts USING fts5("
    "text, link_title, content='posts', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN "
    "INSERT INTO posts_fts(rowid, text, link_title) VALUES (new.id, new.text, new.link_title); END",
    "CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text, link_title) VALUES ('delete', old.id, old.text, old.link_title); END",
    "CREATE TRIGGER posts_fts_au AFTER UPDATE OF text, link_title ON posts BEGIN "
    "INSERT INTO posts_fts(posts_fts, rowid, text, link_title) VALUES ('delete', old.id, old.text, old.link_title); "
    "INSERT INTO posts_fts(rowid, text, link_title) VALUES (new.id, new.text, new.link_title); END",
    "INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE accounts_fts USING fts5("
    "handle, display_name, bio, content='accounts', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER accounts_fts_ai AFTER INSERT ON accounts BEGIN "
    "INSERT INTO accounts_fts(rowid, handle, display_name, bio) "
    "VALUES (new.id, new.handle, new.display_name, new.bio); END",
    "CREATE TRIGGER accounts_fts_ad AFTER DELETE ON accounts BEGIN "
    "INSERT INTO accounts_fts(accounts_fts, rowid, handle, display_name, bio) "
    "VALUES ('delete', old.id, old.handle, old.display_name, old.bio); END",
    "CREATE TRIGGER accounts_fts_au AFTER UPDATE OF handle, display_name, bio ON accounts BEGIN "
    "INSERT INTO accounts_fts(accounts_fts, rowid, handle, display_name, bio) "
    "VALUES ('delete', old.id, old.handle, old.display_name, old.bio); "
    "INSERT INTO accounts_fts(rowid, handle, display_name, bio) "
    "VALUES (new.id, new.handle, new.display_name, new.bio); END",
    "INSERT INTO accounts_fts(accounts_fts) VALUES ('rebuild')",
]

SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS posts_fts_ai",
    "DROP TRIGGER IF EXISTS posts_fts_ad",
    "DROP TRIGGER IF EXISTS posts_fts_au",
    "DROP TABLE IF EXISTS posts_fts",
    "DROP TRIGGER IF EXISTS accounts_fts_ai",
    "DROP TRIGGER IF EXISTS accounts_fts_ad",
    "DROP TRIGGER IF EXISTS accounts_fts_au",
    "DROP TABLE IF EXISTS accounts_fts",
]

# Keep these expressions identical to POSTS_TSV / ACCOUNTS_TSV in townsquare/social/search.py.
POSTGRES_UP = [
    "CREATE INDEX ix_posts_fts ON posts USING gin ("
    "to_tsvector('simple'::regconfig, coalesce(text, '') || ' ' || coalesce(link_title, '')))",
    "CREATE INDEX ix_accounts_fts ON accounts USING gin ("
    "to_tsvector('simple'::regconfig, handle || ' ' || display_name || ' ' || bio))",
]

POSTGRES_DOWN = [
    "DROP INDEX IF EXISTS ix_posts_fts",
    "DROP INDEX IF EXISTS ix_accounts_fts",
]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements.get(op.get_bind().dialect.name, []):
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": SQLITE_UP, "postgresql": POSTGRES_UP})


def downgrade() -> None:
    _run({"sqlite": SQLITE_DOWN, "postgresql": POSTGRES_DOWN})
