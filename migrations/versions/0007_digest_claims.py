"""digests claim what they cover: a digest run claims its schedule slot (one
digest per slot, whichever daemon runs it) and marks the mentions it covers
(mentions.digest_id), instead of a watermark "highest mention id sent" that
skipped a mention committed out of id order by another daemon; an alert
being sent names its sender (alerts.claimed_by: a dead sender's claim is
taken over at once, as feed leases are); and a feed
says where its polled URL came from (url_source: config once read as a feed, redirect, discovery; 'moved' for
a move made before this revision)

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digests") as batch:
        batch.add_column(sa.Column("slot", sa.String(length=60), nullable=True))
        batch.create_unique_constraint("uq_digests_slot", ["slot"])
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("digest_id", sa.Integer(), nullable=True))
        batch.create_index("ix_mentions_digest_id", ["digest_id"])
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("url_source", sa.String(length=20), nullable=True))
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=100), nullable=True))
    # what the watermark said was digested: each sent digest's id range
    op.execute("""
        UPDATE mentions SET digest_id = (
            SELECT MIN(d.id) FROM digests d
            WHERE d.status = 'sent' AND mentions.id > d.first_mention_id
              AND mentions.id <= d.last_mention_id)
        WHERE digest_id IS NULL""")
    # below the watermark but in no sent digest's range (a digest that failed
    # before a later one was sent covers those): the newest sent digest
    op.execute("""
        UPDATE mentions SET digest_id = (SELECT MAX(d.id) FROM digests d WHERE d.status = 'sent')
        WHERE digest_id IS NULL AND id <= (
            SELECT COALESCE(MAX(d.last_mention_id), 0) FROM digests d WHERE d.status = 'sent')""")
    op.execute("""
        UPDATE feeds SET url_source = CASE
            WHEN last_success_at IS NULL THEN NULL
            WHEN configured_url IS NULL OR url = configured_url THEN 'config'
            ELSE 'moved' END""")


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("claimed_by")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("url_source")
    with op.batch_alter_table("mentions") as batch:
        batch.drop_index("ix_mentions_digest_id")
        batch.drop_column("digest_id")
    with op.batch_alter_table("digests") as batch:
        batch.drop_constraint("uq_digests_slot", type_="unique")
        batch.drop_column("slot")
