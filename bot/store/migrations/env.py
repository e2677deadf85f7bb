"""Alembic environment: runs migrations on the connection `bot.store.db.upgrade` hands in."""

from alembic import context

from bot.store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `watchdesk db upgrade` (bot.store.db.upgrade)")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
