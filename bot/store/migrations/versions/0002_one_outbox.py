"""one outbox of message intents replaces deliveries + notices

Revision ID: 0002
Revises: 0001

Every delivery becomes a post_alert intent (same id key, state, attempts, message ids) plus its
edit_alert intent (pending when the delivery still needed an edit, else idle at its revision);
every notice becomes a notice intent. Then the two old tables are dropped.
"""

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from alembic import op

from bot.store.schema import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000

_deliveries = sa.table(
    "deliveries",
    *(
        sa.column(name)
        for name in (
            "id",
            "alert_id",
            "destination",
            "idempotency_key",
            "state",
            "attempts",
            "last_error",
            "message_id",
            "thread_id",
            "needs_update",
            "revision",
        )
    ),
    sa.column("next_attempt_at", UTCDateTime()),
    sa.column("sent_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)
_notices = sa.table(
    "notices",
    *(sa.column(name) for name in ("id", "destination", "text", "state", "attempts", "last_error")),
    sa.column("next_attempt_at", UTCDateTime()),
    sa.column("created_at", UTCDateTime()),
)


def _outbox_table() -> sa.Table:
    return op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("destination", sa.String(length=300), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=400), nullable=True),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("thread_id", sa.String(length=200), nullable=True),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["alerts.id"], name=op.f("fk_outbox_alert_id_alerts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_outbox_idempotency_key")),
    )


def _platform(destination: str) -> str:
    """ "slack:C0123" → "slack"; "console" → "console" (the text form `Destination` reads)."""
    return destination.strip().partition(":")[0]


def _batches(query: Any) -> Iterator[list[Any]]:
    result = op.get_bind().execute(query)
    while rows := result.fetchmany(BATCH):
        yield list(rows)


def _intents_of_delivery(d: Any) -> list[dict[str, Any]]:
    common = {
        "alert_id": d.alert_id,
        "destination": d.destination,
        "platform": _platform(d.destination),
        "text": None,
        "created_at": d.created_at,
    }
    post = {
        **common,
        "kind": "post_alert",
        "idempotency_key": d.idempotency_key,
        "state": d.state,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "message_id": d.message_id,
        "thread_id": d.thread_id,
        "revision": 0,
        "sent_at": d.sent_at,
    }
    edit_pending = bool(d.needs_update) and d.state != "failed"
    edit = {
        **common,
        "kind": "edit_alert",
        "idempotency_key": f"edit-{d.alert_id}@{d.destination}",
        "state": "pending" if edit_pending else "sent",
        "attempts": 0,
        "next_attempt_at": d.next_attempt_at if d.state != "sent" else d.sent_at or d.created_at,
        "last_error": None,
        "message_id": None,
        "thread_id": None,
        "revision": d.revision,
        "sent_at": None,
    }
    return [post, edit]


def _intent_of_notice(n: Any) -> dict[str, Any]:
    return {
        "kind": "notice",
        "alert_id": None,
        "destination": n.destination,
        "platform": _platform(n.destination),
        "text": n.text,
        "idempotency_key": None,
        "state": n.state,
        "attempts": n.attempts,
        "next_attempt_at": n.next_attempt_at,
        "last_error": n.last_error,
        "message_id": None,
        "thread_id": None,
        "revision": 0,
        "sent_at": None,
        "created_at": n.created_at,
    }


def upgrade() -> None:
    outbox = _outbox_table()
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outbox_alert_id"), ["alert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outbox_message_id"), ["message_id"], unique=False)
        batch_op.create_index("ix_outbox_due", ["platform", "state", "next_attempt_at"])
    for rows in _batches(sa.select(_deliveries).order_by(_deliveries.c.id)):
        op.bulk_insert(outbox, [i for d in rows for i in _intents_of_delivery(d)])
    for rows in _batches(sa.select(_notices).order_by(_notices.c.id)):
        op.bulk_insert(outbox, [_intent_of_notice(n) for n in rows])
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for index in ("state", "next_attempt_at", "needs_update", "message_id", "alert_id"):
            batch_op.drop_index(batch_op.f(f"ix_deliveries_{index}"))
    op.drop_table("deliveries")
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notices_state"))
    op.drop_table("notices")


def downgrade() -> None:
    """Back to two tables: alert posts (with a pending edit as needs_update) and notices;
    thread posts and digests have no place there and are dropped."""
    deliveries = op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=300), nullable=False),
        sa.Column("idempotency_key", sa.String(length=400), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=True),
        sa.Column("thread_id", sa.String(length=200), nullable=True),
        sa.Column("needs_update", sa.Boolean(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"],
            ["alerts.id"],
            name=op.f("fk_deliveries_alert_id_alerts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("alert_id", "destination", name="uq_deliveries_alert_destination"),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_deliveries_idempotency_key")),
    )
    with op.batch_alter_table("deliveries", schema=None) as batch_op:
        for index in ("alert_id", "message_id", "needs_update", "next_attempt_at", "state"):
            batch_op.create_index(batch_op.f(f"ix_deliveries_{index}"), [index], unique=False)
    notices = op.create_table(
        "notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("destination", sa.String(length=300), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
    )
    with op.batch_alter_table("notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notices_state"), ["state"], unique=False)
    outbox = sa.table(
        "outbox",
        *(
            sa.column(name)
            for name in (
                "id",
                "kind",
                "alert_id",
                "destination",
                "text",
                "idempotency_key",
                "state",
                "attempts",
                "last_error",
                "message_id",
                "thread_id",
                "revision",
            )
        ),
        sa.column("next_attempt_at", UTCDateTime()),
        sa.column("sent_at", UTCDateTime()),
        sa.column("created_at", UTCDateTime()),
    )
    edits = {
        (r.alert_id, r.destination): r
        for rows in _batches(sa.select(outbox).where(outbox.c.kind == "edit_alert"))
        for r in rows
    }
    posts = sa.select(outbox).where(outbox.c.kind == "post_alert").order_by(outbox.c.id)
    for rows in _batches(posts):
        op.bulk_insert(
            deliveries,
            [
                {
                    "alert_id": p.alert_id,
                    "destination": p.destination,
                    "idempotency_key": p.idempotency_key,
                    "state": p.state,
                    "attempts": p.attempts,
                    "next_attempt_at": p.next_attempt_at,
                    "last_error": p.last_error,
                    "message_id": p.message_id,
                    "thread_id": p.thread_id,
                    "needs_update": (e := edits.get((p.alert_id, p.destination))) is not None
                    and e.state == "pending",
                    "revision": e.revision if e is not None else 0,
                    "sent_at": p.sent_at,
                    "created_at": p.created_at,
                }
                for p in rows
            ],
        )
    channel_messages = sa.select(outbox).where(outbox.c.kind.in_(["notice", "digest"]))
    for rows in _batches(channel_messages.order_by(outbox.c.id)):
        op.bulk_insert(
            notices,
            [
                {
                    "destination": n.destination,
                    "text": n.text or "",
                    "state": n.state,
                    "attempts": n.attempts,
                    "next_attempt_at": n.next_attempt_at,
                    "last_error": n.last_error,
                    "created_at": n.created_at,
                }
                for n in rows
            ],
        )
    op.drop_table("outbox")
