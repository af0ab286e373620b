"""oauth apps, scoped tokens, read markers, media focus

For the Mastodon client API: apps and authorization codes; tokens gain scopes (NULL keeps every
existing token at full power), the app they were issued to and a refresh token, and may belong to no
account (an app's own client-credentials token); read markers; a media focal point.

Revision ID: 0007_oauth_mastodon
Revises: 0006_retired_posts_index
Create Date: 2026-12-07 08:04:14.122942
"""
from alembic import op
import sqlalchemy as sa
import townsquare.db.base


revision = '0007_oauth_mastodon'
down_revision = '0006_retired_posts_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('oauth_apps',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('website', sa.String(length=2000), nullable=True),
    sa.Column('redirect_uris', sa.Text(), nullable=False),
    sa.Column('scopes', sa.String(length=1000), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_apps')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_apps_client_id'))
    )
    op.create_table('read_markers',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('timeline', sa.String(length=16), nullable=False),
    sa.Column('last_read_id', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_read_markers_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'timeline', name=op.f('pk_read_markers'))
    )
    op.create_table('oauth_codes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('redirect_uri', sa.String(length=2000), nullable=False),
    sa.Column('scopes', sa.String(length=1000), nullable=False),
    sa.Column('code_challenge', sa.String(length=128), nullable=True),
    sa.Column('code_challenge_method', sa.String(length=8), nullable=True),
    sa.Column('created_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', townsquare.db.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('token_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_oauth_codes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['oauth_apps.id'], name=op.f('fk_oauth_codes_app_id_oauth_apps'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['token_id'], ['tokens.id'], name=op.f('fk_oauth_codes_token_id_tokens'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_oauth_codes_code_hash'))
    )
    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_oauth_codes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_oauth_codes_app_id'), ['app_id'], unique=False)

    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.add_column(sa.Column('focus_x', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('focus_y', sa.Float(), nullable=True))

    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scopes', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('app_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('refresh_hash', sa.String(length=64), nullable=True))
        batch_op.alter_column('account_id',
               existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_unique_constraint(batch_op.f('uq_tokens_refresh_hash'), ['refresh_hash'])
        batch_op.create_foreign_key(batch_op.f('fk_tokens_app_id_oauth_apps'), 'oauth_apps', ['app_id'], ['id'], ondelete='CASCADE')



def downgrade() -> None:
    with op.batch_alter_table('tokens', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_tokens_app_id_oauth_apps'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('uq_tokens_refresh_hash'), type_='unique')
        batch_op.drop_index(batch_op.f('ix_tokens_app_id'))
        batch_op.alter_column('account_id',
               existing_type=sa.BigInteger().with_variant(sa.Integer(), 'sqlite'),
               nullable=False)
        batch_op.drop_column('refresh_hash')
        batch_op.drop_column('app_id')
        batch_op.drop_column('scopes')

    with op.batch_alter_table('media', schema=None) as batch_op:
        batch_op.drop_column('focus_y')
        batch_op.drop_column('focus_x')

    with op.batch_alter_table('oauth_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_oauth_codes_app_id'))
        batch_op.drop_index(batch_op.f('ix_oauth_codes_account_id'))

    op.drop_table('oauth_codes')
    op.drop_table('read_markers')
    op.drop_table('oauth_apps')
