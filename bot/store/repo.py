"""The store: one repository per aggregate, opened together on one engine with one clock.

    store.feeds      feeds, their schedule and poll results   (bot/store/feeds.py)
    store.articles   seen entries and articles                (bot/store/articles.py)
    store.alerts     alerts, claims, verdicts                 (bot/store/alerts.py)
    store.outbox     message intents and their state machine  (bot/store/outbox.py)
    store.watchlist  watched entities                          (bot/store/watchlist.py)
    store.memory     imported fact-checks, recall matches      (bot/store/memory.py)
    store.stories    stories and the articles linked to them   (bot/store/stories.py)
    store.retention  what may be forgotten, pruned in batches  (bot/store/retention.py)

Each stage depends on a small Protocol of the methods it uses (declared next to the stage),
which one of these repositories (or this bundle) satisfies.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from bot.store.alerts import AlertRepository
from bot.store.articles import ArticleRepository
from bot.store.base import Clock
from bot.store.feeds import FeedRepository
from bot.store.memory import MemoryRepository
from bot.store.outbox import OutboxRepository
from bot.store.retention import RetentionRepository
from bot.store.schema import utcnow
from bot.store.stories import StoryRepository
from bot.store.watchlist import WatchlistRepository


class Store:
    """Every repository on one engine (one connection pool) and one clock."""

    def __init__(self, engine: Engine, clock: Clock = utcnow):
        self.engine = engine
        self.clock = clock
        sessions = sessionmaker(engine, expire_on_commit=False)
        self.feeds = FeedRepository(engine, clock, sessions)
        self.articles = ArticleRepository(engine, clock, sessions)
        self.alerts = AlertRepository(engine, clock, sessions)
        self.outbox = OutboxRepository(engine, clock, sessions)
        self.watchlist = WatchlistRepository(engine, clock, sessions)
        self.memory = MemoryRepository(engine, clock, sessions)
        self.stories = StoryRepository(engine, clock, sessions)
        self.retention = RetentionRepository(engine, clock, sessions)
