"""SIGTERM to the real worker (`watchdesk run`) mid-cycle: it exits within seconds at a batch
boundary, the feeds it did not poll are still due, and a restart alerts every item once."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from bot.store import db
from bot.store.repo import Store
from tests.loopback import LoopbackServer
from tests.test_cycle import story
from tests.test_worker_kill import delivered, start_worker, wait_for

FEEDS = 10
RSS = "application/rss+xml; charset=utf-8"


def write_config(tmp: Path, urls: list[str], journal: Path) -> Path:
    feeds = "".join(f'[[feeds]]\nurl = "{url}"\nname = "Wire {n}"\n' for n, url in enumerate(urls))
    config = tmp / "watchdesk.toml"
    config.write_text(
        f'''
database_url = "sqlite:///{tmp / "worker.db"}"
default_channels = ["console"]
console_journal = "{journal}"
[poll]
interval = "7d"
backfill = 1
batch_size = 1
concurrency = 1
[fetch]
allow_private_hosts = ["127.0.0.1"]
timeout = "10s"
[analysis]
fetch_full_text = false
[stories]
# the templated items are near copies of one story: each must stay its own alert
text_threshold = 1.0
vector_threshold = 1.0
cross_language_threshold = 1.0
[[watch]]
name = "Lukashenko"
{feeds}''',
        encoding="utf-8",
    )
    return config


@pytest.mark.timeout(300)
def test_sigterm_mid_cycle_stops_at_a_batch_boundary_and_loses_nothing(tmp_path: Path) -> None:
    journal, log = tmp_path / "alerts.jsonl", tmp_path / "worker.log"
    with LoopbackServer() as server:
        urls = [
            server.add(f"/{n}.xml", story(n), headers=[("Content-Type", RSS)], delay_s=2.0)
            for n in range(FEEDS)
        ]
        # A week's interval: a polled feed's next slot (anywhere in the interval) never comes
        # round before the restart, so every feed is fetched exactly once over both runs.
        config = write_config(tmp_path, urls, journal)
        worker = start_worker(config, log)
        try:
            assert wait_for(lambda: len(delivered(journal)) >= 1, 150), log.read_text()[-3000:]
            worker.send_signal(signal.SIGTERM)
            asked = time.monotonic()
            assert worker.wait(30) == 0, log.read_text()[-3000:]
            took = time.monotonic() - asked
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait(10)
        assert took < 15, f"SIGTERM took {took:.1f} s: it waited for the whole cycle"
        store = Store(db.make_engine(f"sqlite:///{tmp_path / 'worker.db'}"))
        try:
            feeds = store.feeds.list_feeds()
            polled = [f for f in feeds if f.primed]
            assert 1 <= len(polled) < FEEDS
            now = store.clock()
            for feed in feeds:
                if not feed.primed:
                    assert feed.next_poll_at <= now and feed.error_count == 0
        finally:
            store.engine.dispose()
        restarted = start_worker(config, log)
        try:
            assert wait_for(lambda: len(set(delivered(journal))) >= FEEDS, 150), log.read_text()[
                -3000:
            ]
            time.sleep(1.0)
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(30)
        hits = [server.hits(f"/{n}.xml") for n in range(FEEDS)]
    after = delivered(journal)
    assert len(after) == len(set(after)) == FEEDS, after
    assert hits == [1] * FEEDS
