"""The one place that chooses real adapters (store, fetch policy, analysis, sinks) from settings.

Tests build the same `Watchdesk` with loopback servers and their own sinks; `watchdesk run`
and `watchdesk demo` build it from the config file.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.analysis.pipeline import Analyser, PageFetcher
from bot.desk.alerts import AlertMaker, Routing
from bot.desk.commands import Actor, Desk
from bot.desk.outbox import Outbox, OutboxReport
from bot.desk.sinks import Sink
from bot.feeds.fetch import FetchPolicy
from bot.feeds.poll import CycleReport, PollConfig, Poller
from bot.feeds.subscribe import FeedChecker
from bot.models import Entity
from bot.settings import Settings
from bot.store import db
from bot.store.repo import Store

if TYPE_CHECKING:
    from bot.doctor import Checklist

log = logging.getLogger(__name__)

CYCLE_DELIVERIES = 50

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
        # a fetch waiting for a pooled connection spends its deadline: never fewer than in flight
        max_connections=max(100, settings.poll.concurrency),
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


def build_analyser(
    settings: Settings, entities: Sequence[Entity], page_fetcher: PageFetcher | None = None
) -> Analyser:
    a = settings.analysis
    return Analyser(
        entities,
        spacy_model=a.spacy_model,
        min_salience=a.min_salience,
        summary_sentences=a.summary_sentences,
        summary_max_chars=a.summary_max_chars,
        claims_top_k=a.claims_top_k,
        claims_threshold=a.claims_threshold,
        page_fetcher=page_fetcher,
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
        self._entities = store.active_entities()
        self.analyser = build_analyser(
            settings,
            self._entities,
            self.checker.fetch_page if settings.analysis.fetch_full_text else None,
        )
        self.outbox = Outbox(store, sinks, in_flight_s=settings.poll.lease_s)
        self.poller = Poller(store, policy, poll_config(settings))
        self.desk = Desk(
            store,
            self.outbox,
            self.analyser,
            self.checker,
            settings.permissions,
            settings.poll.interval_s,
            default_channels=settings.default_channels,
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
        return Routing(self.settings.default_channels)

    def refresh_watchlist(self) -> None:
        """Pick up watchlist changes made from chat, possibly by another worker."""
        entities = self.store.active_entities()
        if entities != self._entities:
            self.analyser.reload(entities)
            self._entities = entities

    def register_sink(self, sink: Sink) -> None:
        self.outbox.register(sink)

    def run_cycle(self) -> CycleSummary:
        """One full pass: poll due feeds, alert on new matching articles, deliver the outbox."""
        self.refresh_watchlist()
        polled = self.poller.poll_due()
        alerts = AlertMaker(self.store, self.analyser.analyse, self.routing).process(
            polled.new_articles
        )
        # A bounded delivery pass, so a long queue (Slack: 1 msg/s) never holds up polling;
        # the outbox job drains the rest.
        return CycleSummary(polled, alerts, self.outbox.deliver_due(max_rows=CYCLE_DELIVERIES))

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


class ChatConnections:
    """The chat platforms `watchdesk run` started; `stop()` closes them all."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []

    def add(self, name: str, stop: Callable[[], None]) -> None:
        self._stops.append((name, stop))

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._stops]

    def stop(self) -> None:
        for name, stop in reversed(self._stops):
            try:
                stop()
            except Exception:
                log.exception("stopping %s failed", name)


def start_chat(app: Watchdesk) -> ChatConnections:
    """Start every chat platform whose token is set, registering its sink with the outbox.
    With none set, alerts keep going to the console."""
    connections = ChatConnections()
    if app.settings.slack.enabled:
        _start_slack(app, connections)
    if app.settings.discord.enabled:
        _start_discord(app, connections)
    if not connections.names:
        log.info("no chat tokens set (SLACK_BOT_TOKEN, DISCORD_TOKEN): alerts go to the console")
    _warn_unconnected(app)
    return connections


def _warn_unconnected(app: Watchdesk) -> None:
    s = app.settings
    destinations = {
        *s.default_channels,
        *s.notice_channels,
        *(c for e in app.store.active_entities() for c in e.channels),
        *(c for f in app.store.list_feeds() for c in f.channels),
    }
    for platform in sorted({d.partition(":")[0] for d in destinations} - set(app.outbox.sinks)):
        log.warning(
            "alerts are routed to %s but this worker is not connected to it: they wait "
            "in the outbox until a worker with its token runs (see `watchdesk doctor`)",
            platform,
        )


def _start_slack(app: Watchdesk, connections: ChatConnections) -> None:
    from bot.chat.slack import runner
    from bot.chat.slack.app import build_app
    from bot.chat.slack.client import build_web_client
    from bot.chat.slack.sink import SlackSink

    s = app.settings.slack
    client = build_web_client(s.bot_token, s.api_url)
    app.register_sink(SlackSink(client))
    bolt = build_app(
        app.desk, client, signing_secret=s.signing_secret, group_ids=app.settings.permissions.groups
    )
    running = runner.start(
        bolt, mode=s.mode, app_token=s.app_token, host=s.http_host, port=s.http_port
    )
    connections.add("slack", running.close)
    log.info("Slack connected (%s mode)", s.mode)


def _start_discord(app: Watchdesk, connections: ChatConnections) -> None:
    from bot.chat.discord.runner import DiscordRunner

    discord_runner = DiscordRunner(app.settings.discord, app.desk)
    app.register_sink(discord_runner.sink)
    discord_runner.start()
    connections.add("discord", discord_runner.stop)
    log.info("Discord connected")


def chat_checks(settings: Settings) -> list[Callable[[Settings, Checklist], None]]:
    """`watchdesk doctor`'s per-platform checks for the platforms that are configured."""
    checks: list[Callable[[Settings, Checklist], None]] = [_check_routing]
    if settings.slack.enabled:
        checks.append(_check_slack)
    if settings.discord.enabled:
        checks.append(_check_discord)
    return checks


def _check_routing(settings: Settings, checks: Checklist) -> None:
    checks.section("Chat")
    enabled = {
        "console": True,
        "slack": settings.slack.enabled,
        "discord": settings.discord.enabled,
    }
    destinations = {
        *settings.default_channels,
        *settings.notice_channels,
        *(c for e in settings.watchlist for c in e.channels),
        *(c for f in settings.feeds for c in f.channels),
    }
    for destination in sorted(destinations):
        platform = destination.partition(":")[0]
        if not enabled[platform]:
            token = "SLACK_BOT_TOKEN" if platform == "slack" else "DISCORD_TOKEN"
            checks.bad(
                f"alerts are routed to {destination} but {token} is not set: they wait "
                f"in the outbox until it is"
            )
    if not settings.slack.enabled and not settings.discord.enabled:
        checks.good(
            'no chat tokens set: alerts for "console" print on the terminal (set '
            "SLACK_BOT_TOKEN and/or DISCORD_TOKEN to connect; see README)"
        )


def _check_slack(settings: Settings, checks: Checklist) -> None:
    from bot.chat.slack.client import build_web_client
    from bot.chat.slack.doctor import run_doctor

    s = settings.slack
    destinations = [
        *settings.default_channels,
        *settings.notice_channels,
        *(c for e in settings.watchlist for c in e.channels),
        *(c for f in settings.feeds for c in f.channels),
    ]
    channels = [d.partition(":")[2] for d in destinations if d.startswith("slack:")]
    report = run_doctor(
        build_web_client(s.bot_token, s.api_url),
        channels,
        mode=s.mode,
        app_token=s.app_token,
        signing_secret=s.signing_secret,
        group_ids=settings.permissions.groups,
    )
    checks.section("Slack")
    for line in report.lines:
        (checks.good if line.startswith("✓") else checks.bad)(line.lstrip("✓✗ "))


def _check_discord(settings: Settings, checks: Checklist) -> None:
    from bot.chat.discord.doctor import check_discord

    checks.section("Discord")
    for ok, line in check_discord(settings.discord):
        (checks.good if ok else checks.bad)(line)
