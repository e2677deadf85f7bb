"""Kill the real worker process (`watchdesk run`) with SIGKILL mid-cycle, restart it, and
check that every matching article was delivered exactly once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import pytest

from tests.loopback import LoopbackServer

ARTICLES = 80
RSS = "application/rss+xml; charset=utf-8"


def feed_body() -> bytes:
    when = format_datetime(datetime(2026, 5, 1, tzinfo=UTC))
    items = "".join(
        f"<item><title>Lukashenko meets delegation {i}</title>"
        f"<link>https://news.example/belarus/{i}</link><guid>belarus-{i}</guid>"
        f"<pubDate>{when}</pubDate><description>Alexander Lukashenko received delegation {i} "
        f"in Minsk on Tuesday. Officials said {i + 10} agreements worth $3{i} million were "
        f"signed. Critics said the figures could not be verified.</description></item>"
        for i in range(ARTICLES)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://news.example/</link>{items}</channel></rss>"
    ).encode()


def write_config(tmp: Path, feed_url: str, journal: Path) -> Path:
    config = tmp / "watchdesk.toml"
    config.write_text(
        f'''
database_url = "sqlite:///{tmp / "worker.db"}"
default_channels = ["console"]
console_journal = "{journal}"
[poll]
interval = "30s"
backfill = {ARTICLES}
lease = "5s"
[outbox]
lease = "11s"
request_timeout = "5s"
[fetch]
allow_private_hosts = ["127.0.0.1"]
timeout = "4s"
[analysis]
fetch_full_text = false
[stories]
# the 80 templated items are near copies of one story: keep them 80 alerts, as this test counts
text_threshold = 1.0
vector_threshold = 1.0
cross_language_threshold = 1.0
[[watch]]
name = "Lukashenko"
aliases = ["Lukashenka"]
[[feeds]]
url = "{feed_url}"
name = "Wire"
''',
        encoding="utf-8",
    )
    return config


def start_worker(config: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for key in ("SLACK_BOT_TOKEN", "DISCORD_TOKEN", "DATABASE_URL", "WATCHDESK_CONSOLE_JOURNAL"):
        env.pop(key, None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        env=env,
    )


def delivered(journal: Path) -> list[int]:
    if not journal.exists():
        return []
    lines = [json.loads(line) for line in journal.read_text().splitlines() if line.strip()]
    return [r["alert_id"] for r in lines if r["event"] == "alert"]


def wait_for(predicate, timeout: float) -> bool:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.timeout(240)
def test_sigkill_mid_cycle_then_restart_delivers_each_alert_exactly_once(tmp_path: Path) -> None:
    journal, log = tmp_path / "alerts.jsonl", tmp_path / "worker.log"
    with LoopbackServer() as server:
        url = server.add("/wire.xml", feed_body(), headers=[("Content-Type", RSS)])
        config = write_config(tmp_path, url, journal)
        worker = start_worker(config, log)
        try:
            assert wait_for(lambda: len(delivered(journal)) >= 1, 150), log.read_text()[-3000:]
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
        before = delivered(journal)
        assert len(before) < ARTICLES, "the worker finished before it was killed: nothing tested"
        restarted = start_worker(config, log)
        try:
            assert wait_for(lambda: len(set(delivered(journal))) >= ARTICLES, 150), log.read_text()[
                -3000:
            ]
            time.sleep(1.0)  # give a buggy outbox the chance to post something twice
        finally:
            restarted.send_signal(signal.SIGTERM)
            restarted.wait(30)
    after = delivered(journal)
    assert len(after) == len(set(after)) == ARTICLES, (before, after)
