"""The observer's hooks where the data already is: the outbox's attempt results and the
pipeline's log lines with their ids (JSON)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.desk.alerts import AlertMaker, Routing
from bot.desk.outbox import Outbox
from bot.errors import RemoteError
from bot.models import Analysis
from bot.ops.logs import configure_logging
from bot.ops.observer import Observer
from bot.store.repo import Store
from tests.desk.test_outbox import Clock, FlakyPlatform
from tests.factories import entry, stored_alert


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    out = io.StringIO()
    handler = configure_logging(
        logging.INFO, env={"WATCHDESK_LOG_FORMAT": "json"}, stream=out, force=True
    )
    try:
        yield out
    finally:
        logging.getLogger().removeHandler(handler)  # type: ignore[arg-type]


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def deliveries(observer: Observer, outcome: str) -> float | None:
    return observer.registry.get_sample_value(
        "watchdesk_deliveries_total",
        {"platform": "console", "kind": "post_alert", "outcome": outcome},
    )


def test_every_attempt_result_is_counted_and_logged_with_its_ids(
    store: Store, tmp_path: Path, json_log: io.StringIO
) -> None:
    observer = Observer(store)
    first = stored_alert(store, 1)
    clock = Clock()
    sink = FlakyPlatform(
        tmp_path / "j",
        [RemoteError("HTTP 503"), RemoteError("channel_not_found", permanent=True)],
    )
    outbox = Outbox(store, {"console": sink}, clock=clock, on_result=observer.delivered)
    assert outbox.deliver_due().retrying == 1
    second = stored_alert(store, 2)
    clock.advance(3600)
    report = outbox.deliver_due()  # the first alert's retry gives up, the second is sent
    assert (report.failed, report.sent) == (1, 1)
    assert deliveries(observer, "retrying") == 1
    assert deliveries(observer, "failed") == 1
    assert deliveries(observer, "sent") == 1
    logged = lines(json_log)
    retry = next(r for r in logged if "retrying in" in r["message"])
    gave_up = next(r for r in logged if r["message"].startswith("giving up"))
    sent = next(r for r in logged if r["message"].endswith(": sent"))
    assert retry["level"] == "WARNING" and retry["alert_id"] == first
    assert gave_up["level"] == "ERROR" and gave_up["alert_id"] == first
    assert sent["alert_id"] == second and sent["delivery_id"] != retry["delivery_id"]
    assert retry["delivery_id"] == gave_up["delivery_id"]


def test_a_failing_metrics_hook_never_fails_a_delivery(store: Store, tmp_path: Path) -> None:
    def broken(platform: str, kind: str, outcome: str) -> None:
        raise ZeroDivisionError("a bug in the metrics")

    stored_alert(store)
    outbox = Outbox(store, {"console": FlakyPlatform(tmp_path / "j", [])}, on_result=broken)
    report = outbox.deliver_due()
    assert report.sent == 1 and report.retrying == 0
    assert outbox.deliver_due().handled == 0  # marked sent: not sent again


def test_an_analysis_crash_is_logged_with_the_article_and_feed_ids(
    store: Store, json_log: io.StringIO
) -> None:
    from bot.feeds.poll import record_entries
    from bot.models import NewEntry

    feed = store.feeds.add_feed("https://feeds.example/x.xml", interval_s=600)
    [article] = record_entries(
        store.articles, feed.id, [NewEntry("g:1", "l:1", entry(1))], primed=True, backfill=0
    )

    def poison(title: str, text: str, url: str | None) -> Analysis:
        raise ValueError("a bug in the analyser")

    assert AlertMaker(store, poison, Routing(("console",))).process([article]) == []
    [crash] = [r for r in lines(json_log) if r["message"].startswith("analysing article")]
    assert crash["article_id"] == article and crash["feed_id"] == feed.id
    assert "ValueError: a bug in the analyser" in crash["exception"]


def test_the_heartbeat_ages_with_the_clock(store: Store) -> None:
    now = [1000.0]
    observer = Observer(store, clock=lambda: now[0])
    assert observer.heartbeat() == (None, None)
    observer.ticked()
    observer.cycle_began()
    now[0] += 7
    assert observer.heartbeat() == (7.0, 7.0)
    observer.cycle_ended()
    assert observer.heartbeat() == (7.0, None)
    assert observer.registry.get_sample_value("watchdesk_cycle_seconds_sum") == 7.0


def test_a_new_alert_is_logged_with_its_alert_article_and_feed_ids(
    store: Store, json_log: io.StringIO
) -> None:
    from bot.feeds.poll import record_entries
    from bot.models import NewEntry
    from tests.factories import analysis

    feed = store.feeds.add_feed("https://feeds.example/y.xml", interval_s=600)
    [article] = record_entries(
        store.articles, feed.id, [NewEntry("g:2", "l:2", entry(2))], primed=True, backfill=0
    )

    def matched(title: str, text: str, url: str | None) -> Analysis:
        return analysis()

    [alert] = AlertMaker(store, matched, Routing(("console",))).process([article])
    [line] = [r for r in lines(json_log) if r["message"].startswith("alert ")]
    assert (line["alert_id"], line["article_id"], line["feed_id"]) == (alert, article, feed.id)
    assert line["message"].endswith("to console")
