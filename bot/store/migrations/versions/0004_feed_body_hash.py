"""the hash of each feed's last parsed body

Revision ID: 0004
Revises: 0003

A server that ignores conditional GET and sends the same bytes again is recognised by the
sha256 of the body, and not parsed again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("body_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("body_hash")
