"""accounts.avatar_media_id foreign key on PostgreSQL

0001 declares it with use_alter (accounts and media point at each other), and create_table
leaves such a constraint out; SQLite got it inline. This adds it where it is missing.

Revision ID: 0003_avatar_fk
Revises: 0003_assistant
Create Date: 2026-11-29 03:45:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_avatar_fk'
down_revision = '0003_assistant'
branch_labels = None
depends_on = None

NAME = 'fk_accounts_avatar_media_id_media'


def _missing(bind) -> bool:
    return NAME not in {fk['name'] for fk in sa.inspect(bind).get_foreign_keys('accounts')}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' and _missing(bind):
        op.create_foreign_key(NAME, 'accounts', 'media', ['avatar_media_id'], ['id'])


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite' and not _missing(bind):
        op.drop_constraint(NAME, 'accounts', type_='foreignkey')
