"""voice: privacy settings and kept captures of hands-free mode

Revision ID: 0009_voice
Revises: 0008_account_lifecycle
Create Date: 2026-12-07 10:30:00
"""
from alembic import op
import sqlalchemy as sa
import townsquare.db.base


revision = '0009_voice'
down_revision = '0008_account_lifecycle'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('voice_settings',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('keep_recordings', sa.Boolean(), nullable=False),
    sa.Column('updated_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_voice_settings_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_voice_settings'))
    )
    op.create_table('voice_captures',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('file_name', sa.String(length=80), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('created_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_voice_captures_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['assistant_conversations.id'], name=op.f('fk_voice_captures_conversation_id_assistant_conversations'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_voice_captures'))
    )
    op.create_index('ix_voice_captures_account_id', 'voice_captures', ['account_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_voice_captures_account_id', table_name='voice_captures')
    op.drop_table('voice_captures')
    op.drop_table('voice_settings')
