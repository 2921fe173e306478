"""the story decision says why: the shared features that weighed most and the
threshold the article was held to

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_evidence", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("story_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_threshold")
        batch.drop_column("story_evidence")
