"""each mention stores its prominence (mentions.prominence): where in the article
the topic matched and how often, as a score from 0.2 (one match, body only) to
1.0 (the headline), see monitor.prominence. Older rows keep NULL: their match
offsets were never stored, so where they matched cannot be told afterwards, and
a guessed score would look measured.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("prominence", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("prominence")
