"""what `/why` reads: each article's analysis outcome, each folded entry's identity

Revision ID: 0008
Revises: 0004

``articles.analysis_trace`` holds the gate's outcome (matched entities with the spelling found,
or the closest miss and its reason); ``feed_entries.folded_by`` says, for an entry that joined
an article another entry had stored, by which identity ("guid", "link" or "content").
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both backends: a batch (copy-and-rename) on SQLite would drop the
    # old table, and with foreign keys on that deletes every alert and intent in cascade.
    op.add_column("articles", sa.Column("analysis_trace", sa.JSON(), nullable=True))
    op.add_column("feed_entries", sa.Column("folded_by", sa.String(length=20), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, Postgres) for the same reason: no table copy.
    op.execute("ALTER TABLE feed_entries DROP COLUMN folded_by")
    op.execute("ALTER TABLE articles DROP COLUMN analysis_trace")
