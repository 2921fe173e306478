"""each mention says what it is for its story and topic (mentions.kind):
new_story (the article started a story not seen before), new_topic (the first
mention of the topic in a story seen before: alerted, but not a new story),
follow_up (a later article of a story already mentioned for the topic) or
seed_story (in a story the seeds hold). Which of the first two an alert was
cannot be told reliably afterwards (a merge or a split moves articles between
stories), so it is stored when the mention is written; existing rows are
labelled from what the store shows now.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=20), nullable=False,
                                   server_default="follow_up"))
    # a new mention whose article is the first of its story started it
    op.execute("""
        UPDATE mentions SET kind = CASE
            WHEN EXISTS (SELECT 1 FROM stories s WHERE s.id = mentions.story_id AND s.is_seed)
                THEN 'seed_story'
            WHEN NOT mentions.is_new THEN 'follow_up'
            WHEN EXISTS (SELECT 1 FROM articles a WHERE a.story_id = mentions.story_id
                         AND a.id < mentions.article_id) THEN 'new_topic'
            ELSE 'new_story' END""")


def downgrade() -> None:
    with op.batch_alter_table("mentions") as batch:
        batch.drop_column("kind")
