"""alerts about failing feeds share the outbox: kind, feed_id, article_id optional,
message ids unique

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=False,
                                   server_default="mention"))
        batch.add_column(sa.Column("feed_id", sa.Integer(), nullable=True))
        batch.alter_column("article_id", existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key(op.f("fk_alerts_feed_id_feeds"), "feeds", ["feed_id"], ["id"],
                                 ondelete="CASCADE")
        batch.create_unique_constraint(op.f("uq_alerts_message_id"), ["message_id"])


def downgrade() -> None:
    op.execute("DELETE FROM alerts WHERE article_id IS NULL")
    with op.batch_alter_table("alerts") as batch:
        batch.drop_constraint(op.f("uq_alerts_message_id"), type_="unique")
        batch.drop_constraint(op.f("fk_alerts_feed_id_feeds"), type_="foreignkey")
        batch.alter_column("article_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_column("feed_id")
        batch.drop_column("kind")
