"""when each feed last listed each entry, for retention

Revision ID: 0005
Revises: 0004

``feed_entries.last_listed_at``: the last parse of the feed that listed the entry (refreshed at
most once per `bot.store.articles.LISTED_REFRESH`, so a feed polled every minute does not rewrite
its entries every minute). ``feeds.entries_listed_since``: every entry the feed's last parsed
body listed has ``last_listed_at`` at or after it, so "no longer listed" is one comparison and a
feed that keeps answering 304 keeps its entries. Existing entries start at their ``seen_at``;
existing feeds at NULL (nothing of theirs is pruned until their next parse). Indexes on
``feed_entries.last_listed_at`` and ``articles.created_at`` keep each prune batch an index range.
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE for feeds: a batch (copy-and-rename) of a parent table on SQLite drops
    # the old table, and with foreign keys on that deletes its children in cascade. A batch of
    # feed_entries (no table refers to it) is safe, and SQLite needs one to make a column NOT NULL.
    op.add_column("feeds", sa.Column("entries_listed_since", UTCDateTime(), nullable=True))
    with op.batch_alter_table("feed_entries") as batch:
        batch.add_column(sa.Column("last_listed_at", UTCDateTime(), nullable=True))
    op.execute("UPDATE feed_entries SET last_listed_at = seen_at")
    with op.batch_alter_table("feed_entries") as batch:
        batch.alter_column("last_listed_at", existing_type=UTCDateTime(), nullable=False)
        batch.create_index(op.f("ix_feed_entries_last_listed_at"), ["last_listed_at"], unique=False)
    with op.batch_alter_table("articles") as batch:
        batch.create_index(op.f("ix_articles_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("articles") as batch:
        batch.drop_index(op.f("ix_articles_created_at"))
    with op.batch_alter_table("feed_entries") as batch:
        batch.drop_index(op.f("ix_feed_entries_last_listed_at"))
        batch.drop_column("last_listed_at")
    op.execute("ALTER TABLE feeds DROP COLUMN entries_listed_since")  # SQLite ≥ 3.35: no copy
