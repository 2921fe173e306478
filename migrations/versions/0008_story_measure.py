"""each story decision names its measure: the score and threshold of a text-hash
copy, a MinHash copy, a keyword-cosine near-copy and a learned-model decision
are in different units (a copy's Jaccard 0.75 was shown against the model's
probability threshold 0.35); `monitor stories --explain` now shows each layer's
own measure and threshold. Stored decisions are named from their layer and
evidence; a MinHash copy's threshold becomes the Jaccard it was held to (0.5).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("story_measure", sa.String(length=20), nullable=True))
    op.execute("UPDATE articles SET story_measure = 'identical_text', story_score = 1.0, "
               "story_threshold = 1.0 WHERE story_layer = 'text_hash'")
    op.execute("UPDATE articles SET story_measure = 'shingle_jaccard', story_threshold = 0.5 "
               "WHERE story_layer = 'near_duplicate' "
               "AND CAST(story_evidence AS TEXT) = '[\"shingles\"]'")
    # before this revision a keyword-cosine near-copy stored the model's probability
    op.execute("UPDATE articles SET story_measure = 'story_probability' "
               "WHERE story_measure IS NULL AND story_score IS NOT NULL "
               "AND story_layer IN ('near_duplicate', 'same_story', 'new_story', 'seed')")


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("story_measure")
