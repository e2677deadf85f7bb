"""the sentence vectors of alerted articles

Revision ID: 0003
Revises: 0002

One row per alert: the article's sentence vectors as the analyser encoded them (rows x dim
little-endian float16, ~768 bytes per sentence at 384 dims), the encoder that made them and
the row of each claim, so stories and recall reuse them instead of encoding again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alert_vectors",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("encoder", sa.Text(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("claim_rows", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_alert_vectors_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alert_id", name=op.f("pk_alert_vectors")),
    )


def downgrade() -> None:
    op.drop_table("alert_vectors")
