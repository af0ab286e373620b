"""Merge the two parallel 0002 revisions (social-a's show_less, social-b's search indexes).

Only needed while both branches are merged side by side; drop it if the coordinator linearises them.

Revision ID: 0003_merge_social
Revises: 0002_search, 0002_show_less
"""

revision = "0003_merge_social"
down_revision = ("0002_search", "0002_show_less")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
