"""The clock: APScheduler jobs that run at most once at a time and coalesce missed runs."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.retention import PruneJob
from bot.scheduler import DueTick, build_scheduler
from bot.store import db
from bot.store.repo import Store
from tests.factories import build_app


def test_the_tick_runs_every_second_never_overlaps_and_coalesces(tmp_path: Path) -> None:
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        scheduler = build_scheduler(app)
        job = scheduler.get_job("poll")
        assert job.id == "poll" and job.coalesce is True
        assert job.trigger.interval.total_seconds() == 1
    finally:
        app.close()


def test_the_tick_follows_the_earliest_due_feed(tmp_path: Path) -> None:
    """A cycle runs the first tick after a feed falls due, and not on the ticks before."""
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}")
    now = [datetime(2026, 5, 1, 8, 0, tzinfo=UTC)]
    tick = DueTick(app, max_idle_s=3600, clock=lambda: now[0])
    try:
        assert tick() is not None  # the first tick always runs a cycle (catch-up after a crash)
        assert tick() is None  # no feeds at all: nothing is due
        app.store.feeds.add_feed(
            "http://127.0.0.1:9/f.xml", interval_s=600, now=now[0] + timedelta(seconds=90)
        )
        now[0] += timedelta(seconds=89)
        assert tick() is None
        now[0] += timedelta(seconds=1)
        assert tick() is not None  # due now: polled (it fails: nothing listens on port 9)
    finally:
        app.close()


def test_a_tick_during_a_running_cycle_returns_at_once(tmp_path: Path) -> None:
    """Cycles never overlap: while one runs (here: blocked on its lock), a tick does nothing."""
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}")
    tick = DueTick(app)
    try:
        with tick._running:  # a cycle in progress
            assert tick() is None and tick.last_cycle is None
        assert tick() is not None and tick.last_cycle is not None
    finally:
        app.close()


def test_a_tick_polls_due_feeds_and_delivers(tmp_path: Path) -> None:
    """One tick is one full cycle: the scheduler job is the same code path as `run --once`."""
    import io

    from bot.chat.console import ConsoleSink
    from bot.scheduler import poll_tick
    from tests.loopback import LoopbackServer

    out = io.StringIO()
    app = build_app(
        f"sqlite:///{tmp_path / 'w.db'}",
        {"console": ConsoleSink(out)},
        extra_toml="[poll]\nbackfill = 1\n[analysis]\nfetch_full_text = false",
    )
    body = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
        b"<link>https://w.example/</link><item><title>Lukashenko pardons 52 prisoners</title>"
        b"<link>https://w.example/1</link><guid>1</guid><description>Alexander Lukashenko "
        b"pardoned 52 prisoners on Tuesday, state media said.</description></item>"
        b"</channel></rss>"
    )
    try:
        with LoopbackServer() as server:
            app.store.feeds.add_feed(
                server.add("/f.xml", body, headers=[("Content-Type", "application/rss+xml")]),
                interval_s=600,
            )
            poll_tick(app)
    finally:
        app.close()
    assert "ALERT #1: Lukashenko pardons 52 prisoners" in out.getvalue()


def test_the_prune_job_has_its_own_id_runs_alone_and_coalesces(tmp_path: Path) -> None:
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}", extra_toml='[retention]\ninterval = "2h"')
    try:
        job = build_scheduler(app).get_job("prune")
        assert isinstance(job.func, PruneJob)
        assert job.max_instances == 1 and job.coalesce is True
        assert job.trigger.interval == timedelta(hours=2)
    finally:
        app.close()


def test_the_scheduler_runs_the_prune_job(tmp_path: Path) -> None:
    """Started for real: the prune job runs (here made due at once) beside the poll tick."""
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}")
    scheduler = build_scheduler(app)
    scheduler.modify_job("prune", next_run_time=datetime.now(UTC))
    job = scheduler.get_job("prune").func
    thread = threading.Thread(target=scheduler.start, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while job.runs == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert job.runs == 1
    finally:
        while not scheduler.running and thread.is_alive():
            time.sleep(0.01)
        scheduler.shutdown()
        thread.join(10)
        app.close()


def test_a_failing_prune_is_logged_with_its_traceback_and_runs_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database without the tables (here: not migrated yet) makes the prune fail; the job
    logs it and returns, and the next run (after the upgrade) works."""
    from bot.settings import RetentionSettings

    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    job = PruneJob(Store(engine), RetentionSettings())
    try:
        with caplog.at_level(logging.ERROR, logger="bot.retention"):
            assert job() is None
        [record] = caplog.records
        assert "the prune failed" in record.getMessage() and record.exc_info is not None
        db.upgrade(engine)
        report = job()
        assert report is not None and report.counts.total() == 0 and job.runs == 2
    finally:
        engine.dispose()


def test_a_stopped_prune_job_deletes_nothing_more_and_says_so(tmp_path: Path) -> None:
    """`run_forever` stops the prune job before shutting the scheduler down: a run that starts
    (or is between batches) after that returns at once instead of holding the shutdown."""
    from bot.settings import RetentionSettings

    engine = db.make_engine(f"sqlite:///{tmp_path / 'w.db'}")
    db.upgrade(engine)
    job = PruneJob(Store(engine), RetentionSettings())
    try:
        job.stop()
        report = job()
        assert report is not None and report.stopped and report.batches == 0
        assert report.lines()[-1].endswith("(stopped early: the rest goes next time)")
    finally:
        engine.dispose()
