"""The one place that chooses real adapters (store, fetch policy, analysis, sinks) from settings.

Tests build the same `Watchdesk` with loopback servers and their own sinks; `watchdesk run`
and `watchdesk demo` build it from the config file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.desk.alerts import AlertMaker, Routing
from bot.desk.commands import Actor, Desk
from bot.desk.digest import DigestSchedule
from bot.desk.memory import Recall, release_stale
from bot.desk.outbox import Outbox, OutboxReport
from bot.desk.sinks import Sink
from bot.desk.stories import Stories
from bot.errors import ConfigError
from bot.feeds.client import HttpClient
from bot.feeds.poll import CycleReport, Poller
from bot.feeds.subscribe import FeedChecker
from bot.models import Analysis, Destination, Entity
from bot.settings import Settings, destination_texts
from bot.startup import open_store
from bot.store.repo import Store

if TYPE_CHECKING:
    # spaCy and scikit-learn load with the analyser: only commands that analyse pay for them
    # (`watchdesk feeds list` must start in well under two seconds; see bench/cold_start.py).
    from bot.analysis.pipeline import Analyser, PageFetcher
    from bot.doctor import Checklist
    from bot.ops.observer import Observer
    from bot.ops.server import OpsServer

log = logging.getLogger(__name__)

CYCLE_DELIVERIES = 50

OPERATOR = Actor(platform="cli", user_id="operator", name="operator", is_platform_admin=True)
"""The person at the terminal: the CLI's `feeds` and `watch` commands act as an admin."""


def build_analyser(
    settings: Settings, entities: Sequence[Entity], page_fetcher: PageFetcher | None = None
) -> Analyser:
    from bot.analysis.pipeline import Analyser

    a = settings.analysis
    return Analyser(
        entities,
        spacy_model=a.spacy_model,
        min_salience=a.min_salience,
        summary_sentences=a.summary_sentences,
        summary_max_chars=a.summary_max_chars,
        claims_top_k=a.claims_top_k,
        claims_threshold=a.claims_threshold,
        claims_encode_top=a.claims_encode_top,
        encoder=a.encoder,
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
        # One client for polling, feed checks and article pages; a fetch waiting for a pooled
        # connection spends its deadline, so never fewer connections than fetches in flight.
        self.http = HttpClient(settings.fetch, max_connections=max(100, settings.poll.concurrency))
        self.checker = FeedChecker(self.http)
        self._entities = store.watchlist.active_entities()
        self.analyser = build_analyser(
            settings,
            self._entities,
            self.checker.fetch_page if settings.analysis.fetch_full_text else None,
        )
        # one story per alert; the encoder is the analyser's, loaded with it on the first match
        self.stories = Stories(
            store.stories, settings.stories, store.clock, lambda: self.analyser.scorer.encoder
        )

        # The operator's metrics and heartbeat: one per app, fed by the hooks below.
        # (prometheus_client loads here, not at import: `watchdesk check` imports this module.)
        from bot.ops.observer import Observer

        self.observer: Observer = Observer(store, models=self.analyser.models_in_use)
        o = settings.outbox
        self.outbox = Outbox(
            store,
            sinks,
            lease=o.lease_s,
            max_attempts=o.max_attempts,
            base_backoff=o.base_backoff_s,
            max_backoff=o.max_backoff_s,
            request_timeout=o.request_timeout_s,
            on_result=self.observer.delivered,
        )
        self.poller = Poller(
            store,
            self.http,
            settings.poll,
            notice_channels=destination_texts(settings.notice_channels),
            default_channels=destination_texts(settings.default_channels),
        )
        self.digest = DigestSchedule(
            settings.memory.digest_times,
            settings.memory.timezone,
            destination_texts(settings.default_channels),
        )
        self.desk = Desk(
            store,
            self.outbox,
            self.analyser,
            self.checker,
            settings.permissions,
            settings.poll.interval_s,
            default_channels=destination_texts(settings.default_channels),
            verdict_groups=settings.permissions.verdict_groups,
            digest=self.digest,
        )

    @classmethod
    def build(
        cls,
        settings: Settings,
        sinks: Mapping[str, Sink],
        *,
        migrate: bool = True,
    ) -> Watchdesk:
        """Open the store and wire everything up. With ``migrate`` (the worker, the demo and
        the commands that write) the schema is upgraded and the config's feeds and watchlist
        seeded, under the schema lock; without it (read-only commands) nothing is changed and
        a database that is not at the current schema is a clear error."""
        return cls(settings, open_store(settings, migrate=migrate), sinks)

    @property
    def routing(self) -> Routing:
        return Routing(destination_texts(self.settings.default_channels))

    def refresh_watchlist(self) -> None:
        """Pick up watchlist changes made from chat, possibly by another worker."""
        entities = self.store.watchlist.active_entities()
        if entities != self._entities:
            self.analyser.reload(entities)
            self._entities = entities

    def register_sink(self, sink: Sink) -> None:
        self.outbox.register(sink)

    def run_cycle(self, stop: threading.Event | None = None) -> CycleSummary:
        """One cycle: the feeds due now, a batch at a time; each batch's new articles are
        analysed and alerted (and the delivery workers woken) as soon as it is stored, while
        later batches are polled, so an alert waits for its batch, not for the whole cycle.
        Then the articles a crash left waiting are finished. With the delivery workers running
        (`watchdesk run`) they are only woken; otherwise (CLI, demo, tests) a bounded delivery
        pass runs at the end. ``stop`` ends the cycle at the next batch boundary (SIGTERM)."""
        self.observer.cycle_began()
        try:
            return self._cycle(stop)
        finally:
            self.observer.cycle_ended()

    def _cycle(self, stop: threading.Event | None) -> CycleSummary:
        self.refresh_watchlist()
        maker = AlertMaker(self.store, self._analyse, self.routing, stories=self.stories)
        recall = Recall(self.store, self.settings.memory)
        alerts: list[int] = []

        def alert_batch(batch: CycleReport) -> None:
            for result in batch.results:
                self.observer.polled(
                    result.outcome,
                    fetch_s=result.fetch_s,
                    parse_s=result.parse_s,
                    new_articles=len(result.new_articles),
                )
            made = maker.process(batch.new_articles, waiting=False) if batch.new_articles else []
            self.observer.alerted(len(made))
            alerts.extend(made)
            recall.run(made)
            if made and self.outbox.workers_running:
                self.outbox.wake()

        polled = self.poller.poll_due(alert_batch, stop)
        if stop is None or not stop.is_set():
            made = set(alerts)
            finished = [a for a in maker.process() if a not in made]
            self.observer.alerted(len(finished))
            recall.run(finished)
            alerts.extend(finished)
            release_stale(
                self.store.memory,
                self.store.outbox,
                now=self.store.clock(),
                timeout_s=self.settings.memory.assignment_timeout_s,
            )
            self.digest.run(self.store.memory, self.store.outbox, self.store.clock())
        if self.outbox.workers_running:
            self.outbox.wake()
            return CycleSummary(polled, alerts)
        return CycleSummary(polled, alerts, self.outbox.deliver_due(max_rows=CYCLE_DELIVERIES))

    def _analyse(self, title: str, text: str, url: str | None) -> Analysis:
        """The analyser, timed and counted for the metrics."""
        started = time.perf_counter()
        try:
            analysis = self.analyser.analyse(title, text, url)
        except Exception:
            self.observer.analysed(time.perf_counter() - started, None)
            raise
        entities = [m.name for m in analysis.entities] if analysis.matched else []
        self.observer.analysed(time.perf_counter() - started, entities)
        return analysis

    def run_outbox_once(self) -> OutboxReport:
        return self.outbox.deliver_due()

    def close(self) -> None:
        self.outbox.stop_workers()
        self.poller.close()
        self.http.close()
        self.store.engine.dispose()


class ChatConnections:
    """The chat platforms `watchdesk run` started; `stop()` closes them all, `states()` says
    which are connected now (`/healthz`)."""

    def __init__(self) -> None:
        self._stops: list[tuple[str, Callable[[], None]]] = []
        self._probes: dict[str, Callable[[], bool]] = {}

    def add(self, name: str, stop: Callable[[], None], connected: Callable[[], bool]) -> None:
        self._stops.append((name, stop))
        self._probes[name] = connected

    def states(self) -> dict[str, bool]:
        """{platform: connected}; a probe that fails counts as disconnected."""
        states = {}
        for name, probe in self._probes.items():
            try:
                states[name] = bool(probe())
            except Exception:
                log.exception("asking whether %s is connected failed", name)
                states[name] = False
        return states

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
        *(Destination.parse(c) for e in app.store.watchlist.active_entities() for c in e.channels),
        *(Destination.parse(c) for f in app.store.feeds.list_feeds() for c in f.channels),
    }
    for platform in sorted({d.platform for d in destinations} - set(app.outbox.sinks)):
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
    client = build_web_client(s.bot_token, s.api_url, timeout=app.outbox.request_timeout)
    app.register_sink(SlackSink(client))
    bolt = build_app(
        app.desk, client, signing_secret=s.signing_secret, group_ids=app.settings.permissions.groups
    )
    running = runner.start(
        bolt, mode=s.mode, app_token=s.app_token, host=s.http_host, port=s.http_port
    )
    connections.add("slack", running.close, lambda: runner.is_running(running))
    log.info("Slack connected (%s mode)", s.mode)


def _start_discord(app: Watchdesk, connections: ChatConnections) -> None:
    from bot.chat.discord.runner import DiscordRunner
    from bot.chat.discord.sink import DiscordSink

    discord_runner = DiscordRunner(
        app.settings.discord,
        app.desk,
        sink=DiscordSink(timeout=app.settings.outbox.request_timeout_s),
    )
    app.register_sink(discord_runner.sink)
    discord_runner.start()
    connections.add("discord", discord_runner.stop, lambda: discord_runner.connected)
    log.info("Discord connected")


def start_ops(app: Watchdesk, chat: ChatConnections) -> OpsServer | None:
    """Serve `/metrics` and `/healthz` on ``[ops] metrics_host:metrics_port`` (None when the
    port is 0, the default): the scheduler's heartbeat, the database and ``chat``'s states."""
    ops = app.settings.ops
    if not ops.metrics_port:
        return None
    return serve_ops(app, chat, ops.metrics_host, ops.metrics_port)


def serve_ops(app: Watchdesk, chat: ChatConnections, host: str, port: int) -> OpsServer:
    """The ops endpoint on ``host:port`` (0: any free port)."""
    from bot.ops.health import HealthCheck
    from bot.ops.server import OpsServer

    health = HealthCheck(
        app.store.engine,
        app.observer,
        chat.states,
        stall_after_s=app.settings.ops.stall_after_s,
        cycle_limit_s=app.settings.poll.lease_s,
    )
    try:
        return OpsServer(host, port, app.observer.registry, health)
    except OSError as exc:
        raise ConfigError(
            f"[ops] metrics_port: cannot serve on {host}:{port} ({exc.strerror or exc}); "
            f"pick a free port, or 0 to turn /metrics and /healthz off"
        ) from None


def chat_checks(settings: Settings) -> list[Callable[[Settings, Checklist], None]]:
    """`watchdesk doctor`'s per-platform checks for the platforms that are configured."""
    checks: list[Callable[[Settings, Checklist], None]] = [_check_routing]
    if settings.slack.enabled:
        checks.append(_check_slack)
    if settings.discord.enabled:
        checks.append(_check_discord)
    return checks


def configured_destinations(settings: Settings) -> list[Destination]:
    """Every destination the config names, once each, in order."""
    return sorted(
        {
            *settings.default_channels,
            *settings.notice_channels,
            *(c for w in settings.watchlist for c in w.channels),
            *(c for f in settings.feeds for c in f.channels),
        }
    )


def _check_routing(settings: Settings, checks: Checklist) -> None:
    checks.section("Chat")
    enabled = {
        "console": True,
        "slack": settings.slack.enabled,
        "discord": settings.discord.enabled,
    }
    for destination in configured_destinations(settings):
        platform = destination.platform
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
    destinations = configured_destinations(settings)
    channels = [d.channel for d in destinations if d.platform == "slack"]
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
