"""What the pipeline did, counted where the data already is, into one Prometheus registry per
app; and the scheduler's heartbeat that `/healthz` reads.

`bot.app` builds one `Observer` per `Watchdesk` and passes its hooks in: the cycle's per-feed
results (`polled`), the analyser's timings (`analysed`), the outbox's attempt results
(`delivered`), the scheduler's ticks (`ticked`, `cycle_began`, `cycle_ended`). What is state
rather than events (feeds by state, the outbox's depth and oldest wait, articles stored) is read
from the store at scrape time by `StoreCollector`, so it is right whichever worker did the work
and after a restart. Nothing here is global: tests build as many apps as they like.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, InfoMetricFamily, Metric
from prometheus_client.registry import Collector

from bot.store.feeds import FEED_STATES, FeedStates
from bot.store.outbox import QueueDepth

log = logging.getLogger(__name__)

POLL_OUTCOMES = ("new", "unchanged", "not_modified", "same_body", "failed", "disabled", "crashed")
DELIVERY_OUTCOMES = ("sent", "recovered", "updated", "retrying", "failed")
FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
PARSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 30.0)
ANALYSIS_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
CYCLE_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class OpsStore(Protocol):
    """What the scrape-time collector reads (`bot.store.repo.Store` has it all)."""

    @property
    def feeds(self) -> _FeedStates: ...

    @property
    def outbox(self) -> _QueueDepths: ...

    @property
    def articles(self) -> _ArticleCount: ...


class _FeedStates(Protocol):
    def feed_states(self) -> FeedStates: ...


class _QueueDepths(Protocol):
    def queue_depths(self) -> list[QueueDepth]: ...


class _ArticleCount(Protocol):
    def count_articles(self) -> int: ...


class StoreCollector(Collector):
    """Feeds by state, the outbox's depth and oldest pending age, articles stored: read from
    the store at each scrape (three grouped queries). A store that cannot be read makes
    ``watchdesk_store_up`` 0 instead of failing the whole scrape."""

    def __init__(self, store: OpsStore, clock: Callable[[], float] = time.time):
        self.store = store
        self.clock = clock

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "watchdesk_store_up", "1 when the last scrape could read the database, else 0"
        )
        try:
            families = list(self._read())
        except Exception as exc:  # the database is away: say so in the scrape, once in the log
            log.warning("metrics: cannot read the store: %s", exc)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _read(self) -> Iterable[Metric]:
        states = self.store.feeds.feed_states()
        feeds = GaugeMetricFamily(
            "watchdesk_feeds",
            "Feeds by state (backing_off: active but failing, waiting out its retry delay)",
            labels=["state"],
        )
        for state in FEED_STATES:
            feeds.add_metric([state], states.counts.get(state, 0))
        yield feeds
        if states.last_polled_at is not None:
            last = GaugeMetricFamily(
                "watchdesk_feed_last_poll_timestamp_seconds", "When any feed was last polled"
            )
            last.add_metric([], states.last_polled_at.timestamp())
            yield last
        depth = GaugeMetricFamily(
            "watchdesk_outbox_depth",
            "Pending message intents by platform and kind (absent: none)",
            labels=["platform", "kind"],
        )
        oldest = GaugeMetricFamily(
            "watchdesk_outbox_oldest_pending_seconds",
            "Age of the oldest pending intent by platform and kind",
            labels=["platform", "kind"],
        )
        now = self.clock()
        for queue in self.store.outbox.queue_depths():
            depth.add_metric([queue.platform, queue.kind], queue.pending)
            age = max(0.0, now - queue.oldest_created_at.timestamp())
            oldest.add_metric([queue.platform, queue.kind], age)
        yield depth
        yield oldest
        stored = GaugeMetricFamily("watchdesk_articles_stored", "Articles in the store")
        stored.add_metric([], self.store.articles.count_articles())
        yield stored


class ModelsCollector(Collector):
    """``watchdesk_models_info``: the encoder and claim model in use, asked at scrape time
    (the analyser loads its models on the first match, and may fall back)."""

    def __init__(self, models: Callable[[], Mapping[str, str]]):
        self.models = models

    def collect(self) -> Iterable[Metric]:
        info = InfoMetricFamily("watchdesk_models", "The sentence encoder and claim model in use")
        info.add_metric([], dict(self.models()))
        return [info]


class Observer:
    """One app's metrics and heartbeat. ``clock`` is wall time in seconds (injected so tests
    can age the heartbeat without sleeping)."""

    def __init__(
        self,
        store: OpsStore,
        *,
        models: Callable[[], Mapping[str, str]] = dict,
        clock: Callable[[], float] = time.time,
    ):
        self.clock = clock
        self.started_at = clock()
        self.last_tick: float | None = None
        self.cycle_started: float | None = None
        self._lock = threading.Lock()
        r = self.registry = CollectorRegistry()
        self.polls = Counter("watchdesk_polls", "Feed polls by outcome", ["outcome"], registry=r)
        for outcome in POLL_OUTCOMES:
            self.polls.labels(outcome)
        self.fetch_seconds = Histogram(
            "watchdesk_fetch_seconds", "Time fetching one feed", buckets=FETCH_BUCKETS, registry=r
        )
        self.parse_seconds = Histogram(
            "watchdesk_parse_seconds", "Time parsing one feed", buckets=PARSE_BUCKETS, registry=r
        )
        self.new_articles = Counter(
            "watchdesk_articles_new", "New articles polls stored that may alert", registry=r
        )
        self.analysed_articles = Counter(
            "watchdesk_articles_analysed",
            "Articles analysed, by result (matched, not_matched, crashed)",
            ["result"],
            registry=r,
        )
        self.matches = Counter(
            "watchdesk_matches", "Watched-entity matches by entity", ["entity"], registry=r
        )
        self.analysis_seconds = Histogram(
            "watchdesk_analysis_seconds",
            "Time analysing one article (gate, and for a match summary and claims)",
            buckets=ANALYSIS_BUCKETS,
            registry=r,
        )
        self.alerts = Counter("watchdesk_alerts", "Alerts created", registry=r)
        self.deliveries = Counter(
            "watchdesk_deliveries",
            "Delivery attempts by platform, intent kind and outcome",
            ["platform", "kind", "outcome"],
            registry=r,
        )
        self.cycles = Counter("watchdesk_cycles", "Poll cycles run", registry=r)
        self.cycle_seconds = Histogram(
            "watchdesk_cycle_seconds", "Time of one poll cycle", buckets=CYCLE_BUCKETS, registry=r
        )
        self.tick_gauge = Gauge(
            "watchdesk_scheduler_last_tick_timestamp_seconds",
            "When the scheduler last ticked",
            registry=r,
        )
        r.register(StoreCollector(store, clock))
        r.register(ModelsCollector(models))

    # ------------------------------------------------------------------ hooks

    def polled(
        self, outcome: str, *, fetch_s: float | None, parse_s: float | None, new_articles: int
    ) -> None:
        """One feed's poll result (from the poller's `FeedResult`)."""
        self.polls.labels(outcome).inc()
        if fetch_s is not None:
            self.fetch_seconds.observe(fetch_s)
        if parse_s is not None:
            self.parse_seconds.observe(parse_s)
        if new_articles:
            self.new_articles.inc(new_articles)

    def analysed(self, seconds: float, entities: Iterable[str] | None) -> None:
        """One article analysed: ``entities`` matched (empty: no match; None: it crashed)."""
        self.analysis_seconds.observe(seconds)
        if entities is None:
            self.analysed_articles.labels("crashed").inc()
            return
        names = list(entities)
        self.analysed_articles.labels("matched" if names else "not_matched").inc()
        for name in names:
            self.matches.labels(name).inc()

    def alerted(self, count: int) -> None:
        if count:
            self.alerts.inc(count)

    def delivered(self, platform: str, kind: str, outcome: str) -> None:
        """One intent's attempt result (`bot.desk.outbox.Outbox`'s ``on_result``)."""
        self.deliveries.labels(platform, kind, outcome).inc()

    def ticked(self) -> None:
        """The scheduler's job ran (whether or not a cycle was due): the heartbeat."""
        now = self.clock()
        self.last_tick = now
        self.tick_gauge.set(now)

    def cycle_began(self) -> None:
        self.cycle_started = self.clock()

    def cycle_ended(self) -> None:
        with self._lock:
            started, self.cycle_started = self.cycle_started, None
        if started is not None:
            self.cycles.inc()
            self.cycle_seconds.observe(max(0.0, self.clock() - started))

    # ------------------------------------------------------------------ reading

    def heartbeat(self) -> tuple[float | None, float | None]:
        """(seconds since the last tick, None before the first; seconds the running cycle has
        taken, None when none runs)."""
        now = self.clock()
        tick, cycle = self.last_tick, self.cycle_started
        return (
            None if tick is None else max(0.0, now - tick),
            None if cycle is None else max(0.0, now - cycle),
        )
