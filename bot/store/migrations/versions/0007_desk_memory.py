"""the desk's memory: imported fact-checks, recall matches, claim assignments

Revision ID: 0007
Revises: 0006

``factchecks``: ClaimReview records a desk imported (``watchdesk verdicts import``), each with
its claim's vector (one float16 row). ``recall_matches``: for a new alert's claim, the earlier
checked claim or fact-check it resembles, and whether a checker confirmed or rejected it.
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "factchecks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("claim", sa.Text(), nullable=False),
        sa.Column("rating", sa.String(length=200), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("checker", sa.String(length=300), nullable=False),
        sa.Column("published", UTCDateTime(), nullable=True),
        sa.Column("claimant", sa.String(length=300), nullable=True),
        sa.Column("encoder", sa.Text(), nullable=True),
        sa.Column("dim", sa.Integer(), nullable=True),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("origin", sa.String(length=500), nullable=False),
        sa.Column("imported_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_factchecks")),
        sa.UniqueConstraint("key", name=op.f("uq_factchecks_key")),
    )
    op.create_table(
        "recall_matches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("claim_n", sa.Integer(), nullable=False),
        sa.Column("match_alert_id", sa.Integer(), nullable=True),
        sa.Column("match_claim_n", sa.Integer(), nullable=True),
        sa.Column("factcheck_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("level", sa.String(length=10), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("decided_by", sa.String(length=300), nullable=True),
        sa.Column("decided_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_recall_matches_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["match_alert_id"],
            ["alerts.id"],
            name=op.f("fk_recall_matches_match_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["factcheck_id"],
            ["factchecks.id"],
            name=op.f("fk_recall_matches_factcheck_id_factchecks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recall_matches")),
    )
    op.create_index(
        op.f("ix_recall_matches_alert_id"), "recall_matches", ["alert_id"], unique=False
    )
    op.create_table(
        "claim_assignments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("claim_n", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("user_id", sa.String(length=200), nullable=False),
        sa.Column("user_name", sa.String(length=300), nullable=False),
        sa.Column("assigned_at", UTCDateTime(), nullable=False),
        sa.Column("released_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_claim_assignments_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_claim_assignments")),
    )
    op.create_index(
        op.f("ix_claim_assignments_alert_id"), "claim_assignments", ["alert_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_claim_assignments_alert_id"), table_name="claim_assignments")
    op.drop_table("claim_assignments")
    op.drop_index(op.f("ix_recall_matches_alert_id"), table_name="recall_matches")
    op.drop_table("recall_matches")
    op.drop_table("factchecks")
