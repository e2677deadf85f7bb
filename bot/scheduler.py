"""The clock: a one-second tick that runs a poll cycle as soon as the earliest feed is due, and
the per-platform delivery workers.

The schedule lives in the database (`next_poll_at`), so several workers on Postgres share it:
every second the tick asks the store when the earliest active feed is due (one indexed query)
and runs a cycle only then. A cycle is the feeds due when it started, and each batch of it is
alerted as soon as it is stored, so an item that appears in a feed is alerted within the feed's
interval plus one batch, however many feeds there are; a cycle that outlasts the interval ends
(logged at WARNING) and the next starts from what is due then. `stop` (SIGTERM) reaches the
running cycle: no batch is claimed after it, the one in flight is stored and alerted, the feeds
not polled stay due. A cycle also runs at least every `MAX_IDLE_S`, to finish
articles a crash left unanalysed. Cycles never overlap: a tick that comes while one is still
running returns at once (`DueTick`'s lock), so a long cycle neither queues ticks up nor makes
APScheduler warn every second that it skipped one. Delivery does not wait for the tick: each
connected platform's worker (`bot.desk.outbox.DeliveryWorker`) drains its own queue, woken
when a batch of a cycle wrote alerts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.app import CycleSummary, Watchdesk
from bot.retention import PruneJob

log = logging.getLogger(__name__)

TICK_S = 1.0
MAX_IDLE_S = 60.0


def poll_tick(app: Watchdesk, stop: threading.Event | None = None) -> CycleSummary:
    """One full cycle now (also `watchdesk run --once`), logged when it did anything; ``stop``
    ends it at the next batch boundary."""
    summary = app.run_cycle(stop)
    report = summary.polled
    if report.results:
        log.info(
            "polled %d feed(s): %d with new items, %d unchanged, %d not modified, %d same body, "
            "%d failed, %d disabled, %d crashed; %d alert(s); outbox sent %d, retrying %d",
            len(report.results),
            report.count("new"),
            report.count("unchanged"),
            report.count("not_modified"),
            report.count("same_body"),
            report.count("failed"),
            report.count("disabled"),
            report.count("crashed"),
            len(summary.alerts),
            summary.outbox.sent,
            summary.outbox.retrying,
        )
    return summary


class DueTick:
    """The scheduler's job: a cycle when a feed is due (or `max_idle_s` passed), else nothing;
    never two cycles at once."""

    def __init__(
        self,
        app: Watchdesk,
        *,
        max_idle_s: float = MAX_IDLE_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        stop: threading.Event | None = None,
    ):
        self.app = app
        self.stop = stop
        self.max_idle = timedelta(seconds=max_idle_s)
        self.clock = clock
        self.last_cycle: datetime | None = None
        self._running = threading.Lock()

    def due(self) -> bool:
        now = self.clock()
        if self.last_cycle is None or now - self.last_cycle >= self.max_idle:
            return True
        next_due = self.app.store.feeds.next_due_at()
        return next_due is not None and next_due <= now

    def __call__(self) -> CycleSummary | None:
        self.app.observer.ticked()  # the heartbeat `/healthz` reads, cycle or not
        if not self._running.acquire(blocking=False):
            return None  # the previous cycle is still running
        try:
            if (self.stop is not None and self.stop.is_set()) or not self.due():
                return None
            self.last_cycle = self.clock()
            return poll_tick(self.app, self.stop)
        finally:
            self._running.release()


def build_scheduler(
    app: Watchdesk, *, tick_s: float = TICK_S, stop: threading.Event | None = None
) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    scheduler.add_job(
        DueTick(app, stop=stop),
        "interval",
        seconds=tick_s,
        id="poll",
        next_run_time=datetime.now(UTC),
        max_instances=2,  # the second returns at once while a cycle runs: no skip warnings
        coalesce=True,
        misfire_grace_time=None,
    )
    # Retention on its own job (own thread of the pool), so a prune never delays a poll tick;
    # one at a time, missed runs coalesced into one; PruneJob logs its own errors.
    retention = app.settings.retention
    scheduler.add_job(
        PruneJob(app.store, retention),
        "interval",
        seconds=retention.interval_s,
        id="prune",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=None,
    )
    return scheduler


def run_forever(
    app: Watchdesk, stop: threading.Event | None = None, *, tick_s: float = TICK_S
) -> None:
    """Block running the tick and the delivery workers until interrupted (SIGINT/SIGTERM) or
    ``stop`` is set. Stopping waits for a running cycle and any send in flight to finish, so
    `run` never closes the store under them; ``stop`` also reaches the running cycle, which
    claims no further batch and returns once the batches in flight are stored and alerted,
    so stopping takes about one fetch, not one cycle."""
    stop = stop or threading.Event()
    if stop.is_set():  # asked to stop while chat connections were still starting
        return
    scheduler = build_scheduler(app, tick_s=tick_s, stop=stop)
    prune_job = scheduler.get_job("prune").func  # stopped first: ends after its current batch
    started = threading.Event()
    scheduler.add_listener(lambda _event: started.set(), EVENT_SCHEDULER_STARTED)

    def stop_when_asked() -> None:
        stop.wait()
        started.wait()
        prune_job.stop()
        if scheduler.running:
            scheduler.shutdown()

    threading.Thread(target=stop_when_asked, name="stopper", daemon=True).start()
    app.outbox.start_workers()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping: waiting for the batches in flight to be stored and alerted")
        stop.set()
        prune_job.stop()
        if scheduler.running:
            scheduler.shutdown()
    finally:
        app.outbox.stop_workers()
