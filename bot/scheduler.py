"""The clock: APScheduler runs the poll tick and the outbox retry job.

The tick only claims feeds that are due in the store (`next_poll_at <= now`), so the schedule
lives in the database and several workers on Postgres share it; each job runs at most once at a
time and missed runs coalesce into one.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from apscheduler.events import EVENT_SCHEDULER_STARTED
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.app import Watchdesk

log = logging.getLogger(__name__)

TICK_S = 30
OUTBOX_S = 15


def poll_tick(app: Watchdesk) -> None:
    summary = app.run_cycle()
    report = summary.polled
    if report.results:
        log.info(
            "polled %d feed(s): %d with new items, %d unchanged, %d not modified, %d failed, "
            "%d disabled; %d alert(s); outbox sent %d, retrying %d",
            len(report.results),
            report.count("new"),
            report.count("unchanged"),
            report.count("not_modified"),
            report.count("failed"),
            report.count("disabled"),
            len(summary.alerts),
            summary.outbox.sent,
            summary.outbox.retrying,
        )


def outbox_tick(app: Watchdesk) -> None:
    app.run_outbox_once()


def build_scheduler(
    app: Watchdesk, *, tick_s: float = TICK_S, outbox_s: float = OUTBOX_S
) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(
        poll_tick,
        "interval",
        seconds=tick_s,
        args=[app],
        id="poll",
        next_run_time=datetime.now(UTC),
        **common,
    )
    scheduler.add_job(outbox_tick, "interval", seconds=outbox_s, args=[app], id="outbox", **common)
    return scheduler


def run_forever(app: Watchdesk, stop: threading.Event | None = None) -> None:
    """Block running the schedule until interrupted (SIGINT/SIGTERM) or ``stop`` is set.
    Stopping waits for a running cycle to finish, so `run` never closes the store under it."""
    stop = stop or threading.Event()
    if stop.is_set():  # asked to stop while chat connections were still starting
        return
    scheduler = build_scheduler(app)
    started = threading.Event()
    scheduler.add_listener(lambda _event: started.set(), EVENT_SCHEDULER_STARTED)

    def stop_when_asked() -> None:
        stop.wait()
        started.wait()
        if scheduler.running:
            scheduler.shutdown()

    threading.Thread(target=stop_when_asked, name="stopper", daemon=True).start()
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        log.info("stopping: waiting for the running cycle to finish")
        if scheduler.running:
            scheduler.shutdown()
