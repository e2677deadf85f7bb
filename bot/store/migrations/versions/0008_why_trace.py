"""what `/why` reads: each article's analysis outcome, each folded entry's identity

Revision ID: 0008
Revises: 0007

``articles.analysis_trace`` holds the gate's outcome (matched entities with the spelling found,
or the closest miss and its reason); ``feed_entries.folded_by`` says, for an entry that joined
an article another entry had stored, by which identity ("guid", "link" or "content");
``article_aliases`` records another address under which a feed showed a stored article again
(the same guid, a new link).
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE on both backends: a batch (copy-and-rename) on SQLite would drop the
    # old table, and with foreign keys on that deletes every alert and intent in cascade.
    op.add_column("articles", sa.Column("analysis_trace", sa.JSON(), nullable=True))
    op.add_column("feed_entries", sa.Column("folded_by", sa.String(length=20), nullable=True))
    op.create_table(
        "article_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=2100), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("feed_id", sa.Integer(), nullable=False),
        sa.Column("link", sa.String(length=2000), nullable=True),
        sa.Column("folded_by", sa.String(length=20), nullable=False),
        sa.Column("seen_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_aliases_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["feed_id"],
            ["feeds.id"],
            name=op.f("fk_article_aliases_feed_id_feeds"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_article_aliases")),
        sa.UniqueConstraint("key", name=op.f("uq_article_aliases_key")),
    )
    op.create_index(
        op.f("ix_article_aliases_article_id"), "article_aliases", ["article_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_article_aliases_article_id"), table_name="article_aliases")
    op.drop_table("article_aliases")
    # ALTER TABLE … DROP COLUMN (SQLite ≥ 3.35, Postgres) for the same reason: no table copy.
    op.execute("ALTER TABLE feed_entries DROP COLUMN folded_by")
    op.execute("ALTER TABLE articles DROP COLUMN analysis_trace")
