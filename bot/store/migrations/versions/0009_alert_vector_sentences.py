"""which sentence each stored vector encodes

Revision ID: 0009
Revises: 0008

The analyser encodes only the title, the lead, the claim candidates and the flagged claims of
an article, so row i of ``alert_vectors.data`` is no longer sentence i: ``sentences`` lists the
sentence of each row (-1 = the title). NULL, in rows written before this revision, means every
sentence was encoded in order.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alert_vectors") as batch:
        batch.add_column(sa.Column("sentences", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alert_vectors") as batch:
        batch.drop_column("sentences")
