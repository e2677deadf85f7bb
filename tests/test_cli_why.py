"""`watchdesk why URL|N`: the stored trace printed on the terminal, read-only."""

from __future__ import annotations

from pathlib import Path

from bot.desk.why import when
from bot.store import db
from bot.store.repo import Store
from tests.factories import stored_alert
from tests.loopback import LoopbackServer
from tests.test_cli import Cli, cli, config  # noqa: F401 - the fixtures

__all__ = ["cli", "config"]


def test_why_prints_the_trace_by_number_and_by_link(cli: Cli, tmp_path: Path) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}")
    db.upgrade(engine)
    store = Store(engine)
    alert_id = stored_alert(store, n=5, destinations=("slack:C0123ABCD",))
    [post] = store.outbox.intents_for_alert(alert_id)[:1]
    engine.dispose()
    by_number = cli("why", str(alert_id))
    assert by_number.code == 0, by_number.err
    lines = by_number.lines()
    assert lines[:2] == [
        "“Story 5” — https://news.example/a/5",
        "Alerted as #1; the deliveries are below.",
    ]
    assert lines[-2:] == [
        "Routed to slack:C0123ABCD:",
        f"• slack:C0123ABCD: queued, not tried yet (due {when(post.next_attempt_at)})",
    ]
    assert cli("why", "https://news.example/a/5").out == by_number.out


def test_why_an_unknown_number_or_a_bad_target_is_a_user_error(cli: Cli, tmp_path: Path) -> None:
    db.upgrade(db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}"))
    missing = cli("why", "99")
    assert (missing.code, missing.err) == (2, "watchdesk: There is no alert #99.\n")
    bad = cli("why", "yesterday")
    assert bad.code == 2 and "neither an article's web address" in bad.err


def test_why_an_unknown_url_suggests_the_feed_its_page_names(cli: Cli, tmp_path: Path) -> None:
    db.upgrade(db.make_engine(f"sqlite:///{tmp_path / 'wd.db'}"))
    with LoopbackServer() as site:
        site.add(
            "/story",
            b'<html><head><link rel="alternate" type="application/atom+xml" href="/atom">'
            b"</head></html>",
            headers=[("Content-Type", "text/html")],
        )
        url, feed = site.url("/story"), site.url("/atom")
        run = cli("why", url)
    assert run.code == 0
    assert run.lines() == [
        f"No feed Watchdesk polls has listed {url}: it was never stored, so it could not "
        "alert (0 feed(s) polled).",
        "Its site offers a feed; to poll it:",
        f"• {feed} — /feeds add {feed}",
    ]
