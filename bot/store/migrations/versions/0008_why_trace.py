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
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("analysis_trace", sa.JSON(), nullable=True))
    with op.batch_alter_table("feed_entries") as batch:
        batch.add_column(sa.Column("folded_by", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feed_entries") as batch:
        batch.drop_column("folded_by")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("analysis_trace")
