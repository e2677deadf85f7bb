"""The clock: APScheduler jobs that run at most once at a time and coalesce missed runs."""

from __future__ import annotations

from pathlib import Path

from bot.scheduler import build_scheduler
from tests.factories import build_app


def test_poll_and_outbox_jobs_never_overlap_and_coalesce(tmp_path: Path) -> None:
    app = build_app(f"sqlite:///{tmp_path / 'w.db'}")
    try:
        scheduler = build_scheduler(app, tick_s=30, outbox_s=15)
        jobs = {job.id: job for job in scheduler.get_jobs()}
        assert set(jobs) == {"poll", "outbox"}
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce is True
        assert jobs["poll"].trigger.interval.total_seconds() == 30
        assert jobs["outbox"].trigger.interval.total_seconds() == 15
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
            app.store.add_feed(
                server.add("/f.xml", body, headers=[("Content-Type", "application/rss+xml")]),
                interval_s=600,
            )
            poll_tick(app)
    finally:
        app.close()
    assert "ALERT #1: Lukashenko pardons 52 prisoners" in out.getvalue()
