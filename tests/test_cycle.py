"""The streaming cycle end to end, with the real analyser: a batch's alerts are in the outbox
while later batches still poll, and a stop mid-cycle (SIGTERM) ends at a batch boundary
without losing an item."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import Watchdesk
from bot.scheduler import run_forever
from bot.store.outbox import IntentKind
from bot.store.schema import OutboxRow
from tests.factories import build_app
from tests.loopback import LoopbackServer

RSS = "application/rss+xml; charset=utf-8"
WEEK_S = 7 * 24 * 3600


def story(n: int) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire {n}</title>'
        f"<link>https://w{n}.example/</link><item><title>Lukashenko meets delegation {n}</title>"
        f"<link>https://w{n}.example/story</link><guid>story-{n}</guid><description>Alexander "
        f"Lukashenko received delegation {n} in Minsk on Tuesday, state media said."
        f"</description></item></channel></rss>"
    ).encode()


def wait_for(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def alert_posts(app: Watchdesk) -> list[int]:
    """Every alert's post intents, sent or not (one per alert: one destination)."""
    with app.store.engine.connect() as conn:
        return list(
            conn.scalars(
                select(OutboxRow.alert_id).where(OutboxRow.kind == str(IntentKind.POST_ALERT))
            )
        )


def app_for(tmp_path: Path, poll: str) -> Watchdesk:
    return build_app(
        f"sqlite:///{tmp_path / 'w.db'}",
        extra_toml=(
            f"[poll]\nbackfill = 1\nparse_workers = 0\n{poll}\n"
            '[fetch]\ntimeout = "120s"\n[analysis]\nfetch_full_text = false\n'
            # the templated items are near copies of one story: each must stay its own alert
            "[stories]\ntext_threshold = 1.0\nvector_threshold = 1.0\ncross_language_threshold = 1.0"
        ),
    )


@pytest.mark.timeout(240)
def test_a_batch_is_alerted_while_the_next_batch_is_still_polling(tmp_path: Path) -> None:
    """The second feed's server holds its answer until the first feed's alert is in the
    outbox: if alerts waited for the whole cycle, they would never meet."""
    app = app_for(tmp_path, "batch_size = 1\nconcurrency = 1")
    gate = threading.Event()
    try:
        with LoopbackServer() as server:
            first = server.add("/1.xml", story(1), headers=[("Content-Type", RSS)])
            second = server.add("/2.xml", story(2), headers=[("Content-Type", RSS)], hold=gate)
            app.store.feeds.add_feed(first, interval_s=600)
            app.store.feeds.add_feed(second, interval_s=600)
            app.analyser.analyse("warm-up", "Lukashenko spoke.", None)  # load the models
            done: list[object] = []
            cycle = threading.Thread(target=lambda: done.append(app.run_cycle()))
            cycle.start()
            try:
                alerted = wait_for(lambda: len(alert_posts(app)) == 1, 90)
                held = server.hits("/2.xml") == 1 and not done
            finally:
                gate.set()
                cycle.join(120)
            assert alerted and held, "the first batch's alert waited for the second batch"
            assert len(done) == 1
    finally:
        app.close()
    summary = done[0]
    assert len(summary.alerts) == 2  # type: ignore[attr-defined]


@pytest.mark.timeout(240)
def test_stop_mid_cycle_ends_at_a_batch_boundary_and_loses_nothing(tmp_path: Path) -> None:
    """`run_forever` with ten slow feeds (2 s each, one at a time: a 20 s cycle) is stopped
    once the first alert is written: it returns within a few seconds, every feed it did not
    poll is still due and unleased, and the next cycle alerts each remaining item exactly
    once."""
    app = app_for(tmp_path, "batch_size = 1\nconcurrency = 1")
    stop = threading.Event()
    try:
        with LoopbackServer() as server:
            urls = [
                server.add(f"/{n}.xml", story(n), headers=[("Content-Type", RSS)], delay_s=2.0)
                for n in range(10)
            ]
            for url in urls:  # a week: no polled feed's next slot comes round during the test
                app.store.feeds.add_feed(url, interval_s=WEEK_S)
            app.analyser.analyse("warm-up", "Lukashenko spoke.", None)
            worker = threading.Thread(target=run_forever, args=(app, stop), kwargs={"tick_s": 0.2})
            worker.start()
            assert wait_for(lambda: len(alert_posts(app)) >= 1, 60)
            stop.set()
            asked = time.monotonic()
            worker.join(30)
            assert not worker.is_alive()
            assert time.monotonic() - asked < 12, "stopping waited for the whole cycle"
            polled = [u for u in urls if (f := app.store.feeds.get_feed(u)) and f.primed]
            assert 1 <= len(polled) <= 4
            now = app.store.clock()
            for url in set(urls) - set(polled):
                feed = app.store.feeds.get_feed(url)
                assert feed is not None and feed.next_poll_at <= now and feed.error_count == 0
            assert len(set(alert_posts(app))) == len(polled)  # every polled item alerted

            app.run_cycle()  # the restart: the rest of the feeds, once each
            assert Counter(r.path for r in server.requests()) == {f"/{n}.xml": 1 for n in range(10)}
            posts = alert_posts(app)
            assert len(posts) == len(set(posts)) == 10
    finally:
        app.close()
