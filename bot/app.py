"""The one place that chooses real adapters (store, fetch policy, analysis, sinks) from settings.

Tests build the same `Watchdesk` with loopback servers and their own sinks; `watchdesk run`
and `watchdesk demo` build it from the config file.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.analysis.pipeline import Analyser
from bot.desk.alerts import AlertMaker, Routing
from bot.desk.commands import Actor, Desk
from bot.desk.outbox import Outbox, OutboxReport
from bot.desk.sinks import Sink
from bot.feeds.fetch import FetchPolicy
from bot.feeds.poll import CycleReport, PollConfig, Poller
from bot.feeds.subscribe import FeedChecker
from bot.settings import Settings
from bot.store import db
from bot.store.repo import Store

log = logging.getLogger(__name__)

OPERATOR = Actor(platform="cli", user_id="operator", name="operator", is_platform_admin=True)
"""The person at the terminal: the CLI's `feeds` and `watch` commands act as an admin."""


def fetch_policy(settings: Settings) -> FetchPolicy:
    f = settings.fetch
    return FetchPolicy(
        timeout_s=f.timeout_s,
        max_bytes=f.max_bytes,
        max_redirects=f.max_redirects,
        user_agent=f.user_agent,
        per_host_limit=f.per_host_limit,
        allowed_private_hosts=frozenset(f.allow_private_hosts),
    )


def poll_config(settings: Settings) -> PollConfig:
    p = settings.poll
    return PollConfig(
        interval_s=p.interval_s,
        concurrency=p.concurrency,
        batch_size=p.batch_size,
        disable_after_failures=p.disable_after_failures,
        max_backoff_s=p.max_backoff_s,
        backfill=p.backfill,
        lease_s=p.lease_s,
        parse_workers=p.parse_workers,
        notice_channels=settings.notice_channels,
        default_channels=settings.default_channels,
    )


@dataclass(frozen=True)
class CycleSummary:
    polled: CycleReport
    alerts: list[int]
    outbox: OutboxReport = field(default_factory=OutboxReport)


class Watchdesk:
    """Everything wired together. Build with `Watchdesk.build`; close with `close()`."""

    def __init__(self, settings: Settings, store: Store, sinks: Mapping[str, Sink]):
        self.settings = settings
        self.store = store
        policy = fetch_policy(settings)
        self.checker = FeedChecker(policy)
        a = settings.analysis
        self.analyser = Analyser(
            store.active_entities(),
            spacy_model=a.spacy_model,
            min_salience=a.min_salience,
            summary_sentences=a.summary_sentences,
            summary_max_chars=a.summary_max_chars,
            claims_top_k=a.claims_top_k,
            claims_threshold=a.claims_threshold,
            page_fetcher=self.checker.fetch_page if a.fetch_full_text else None,
        )
        self.outbox = Outbox(store, sinks)
        self.poller = Poller(store, policy, poll_config(settings))
        self.desk = Desk(
            store,
            self.outbox,
            self.analyser,
            self.checker,
            settings.permissions,
            settings.poll.interval_s,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        sinks: Mapping[str, Sink],
        *,
        upgrade: bool = True,
        seed: bool = True,
    ) -> Watchdesk:
        """Open the store (upgrading its schema), seed config feeds and watchlist, wire it up."""
        engine = db.make_engine(settings.database_url)
        if upgrade:
            db.upgrade(engine)
        store = Store(engine)
        if seed:
            seed_from_config(store, settings)
        return cls(settings, store, sinks)

    @property
    def routing(self) -> Routing:
        return Routing(self.settings.default_channels, frozenset(self.outbox.sinks))

    def register_sink(self, sink: Sink) -> None:
        self.outbox.register(sink)

    def run_cycle(self) -> CycleSummary:
        """One full pass: poll due feeds, alert on new matching articles, deliver the outbox."""
        polled = self.poller.poll_due()
        alerts = AlertMaker(self.store, self.analyser.analyse, self.routing).process(
            polled.new_articles
        )
        return CycleSummary(polled, alerts, self.outbox.deliver_due())

    def run_outbox_once(self) -> OutboxReport:
        return self.outbox.deliver_due()

    def close(self) -> None:
        self.poller.close()
        self.store.engine.dispose()


def seed_from_config(store: Store, settings: Settings) -> None:
    feeds = [
        (f.url, f.name, f.label, f.interval_s or settings.poll.interval_s, f.channels)
        for f in settings.feeds
    ]
    added_feeds = store.seed_feeds(feeds)
    added_entities = store.seed_watchlist(settings.watchlist)
    if added_feeds or added_entities:
        log.info(
            "seeded %d feed(s) and %d watched entit(ies) from %s",
            added_feeds,
            added_entities,
            settings.source,
        )
