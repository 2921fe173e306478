"""near-duplicate signatures on articles; feed response time, suspension reason and
the configured URL (the stored url follows permanent redirects)

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("signature", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("avg_duration_ms", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("configured_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("configured_url")
        batch.drop_column("disabled_reason")
        batch.drop_column("avg_duration_ms")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("signature")
