"""What every command does first with the database, and nothing more: open the store named by
``database_url``, then either upgrade its schema and seed the config's feeds and watchlist
under the schema lock (`run`, `demo`, `db upgrade` and the commands that write), or only check
that it is at the current schema (read-only commands: they never change it).

Kept apart from `bot.app` so the read-only commands (`feeds list`, `feeds export`) start
without loading the pipeline's modules.
"""

from __future__ import annotations

import logging

from bot.settings import Settings, destination_texts
from bot.store import db
from bot.store.repo import Store

log = logging.getLogger(__name__)


def open_store(settings: Settings, *, migrate: bool) -> Store:
    """The store at ``database_url``: upgraded and seeded (``migrate``), or checked to be at
    the current schema and left untouched (read-only commands)."""
    engine = db.make_engine(settings.database_url)
    store = Store(engine)
    try:
        if migrate:
            prepare_store(store, settings)
        else:
            db.require_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return store


def prepare_store(store: Store, settings: Settings) -> None:
    """Upgrade the schema and seed from config, holding the schema lock for both."""
    db.check_reachable(store.engine)
    with db.schema_lock(store.engine):
        db.upgrade(store.engine)
        seed_from_config(store, settings)


def seed_from_config(store: Store, settings: Settings) -> None:
    feeds = [
        (
            f.url,
            f.name,
            f.label,
            f.interval_s or settings.poll.interval_s,
            destination_texts(f.channels),
        )
        for f in settings.feeds
    ]
    added_feeds = store.feeds.seed_feeds(feeds)
    added_entities = store.watchlist.seed_watchlist(settings.config_entities())
    if added_feeds or added_entities:
        log.info(
            "seeded %d feed(s) and %d watched entit(ies) from %s",
            added_feeds,
            added_entities,
            settings.source,
        )
