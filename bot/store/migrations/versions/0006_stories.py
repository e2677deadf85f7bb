"""stories: one alert per story, later copies linked to it

Revision ID: 0006
Revises: 0005

A matched article that reports a story already alerted in the window is linked to that story
(``story_articles``) and posted into its thread instead of alerting again; ``stories`` keeps
what later copies are compared with (the lead's vector and language, the story's claims).
"""

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "stories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("encoder", sa.Text(), nullable=True),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=True),
        sa.Column("claims", sa.JSON(), nullable=False),
        sa.Column("claim_vectors", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_stories_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stories")),
        sa.UniqueConstraint("alert_id", name=op.f("uq_stories_alert_id")),
    )
    op.create_index(op.f("ix_stories_created_at"), "stories", ["created_at"])
    op.create_table(
        "story_articles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("story_id", sa.Integer(), nullable=False),
        sa.Column("article_id", sa.Integer(), nullable=False),
        sa.Column("outlet", sa.String(length=300), nullable=False),
        sa.Column("added_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["story_id"],
            ["stories.id"],
            name=op.f("fk_story_articles_story_id_stories"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_story_articles_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_story_articles")),
        sa.UniqueConstraint("article_id", name=op.f("uq_story_articles_article_id")),
    )
    op.create_index(op.f("ix_story_articles_story_id"), "story_articles", ["story_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_story_articles_story_id"), table_name="story_articles")
    op.drop_table("story_articles")
    op.drop_index(op.f("ix_stories_created_at"), table_name="stories")
    op.drop_table("stories")
