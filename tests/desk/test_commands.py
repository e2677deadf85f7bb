"""Desk commands end to end through a real app: watchlist, feeds (over loopback HTTP),
claims and verdicts from thread replies, with permissions."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from bot.app import Watchdesk
from bot.chat.console import ConsoleSink
from bot.desk.commands import Actor
from bot.models import Verdict
from tests.factories import build_app, stored_alert
from tests.loopback import LoopbackServer

EDITOR = Actor("slack", "U_EDITOR", "Edna Editor", channel="C1", is_platform_admin=True)
MEMBER = Actor("slack", "U_MEMBER", "Max Member", channel="C1")
RSS = "application/rss+xml"
FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Minsk Wire</title>'
    b"<link>https://wire.example/</link><item><title>Lukashenko signs decree</title>"
    b"<link>https://wire.example/1</link><guid>1</guid><description>Text.</description>"
    b"</item></channel></rss>"
)


@pytest.fixture
def app(database_url: str) -> Watchdesk:
    out = io.StringIO()
    app = build_app(database_url, {"console": ConsoleSink(out)})
    app.out = out  # type: ignore[attr-defined]
    yield app
    app.close()


def test_watch_add_list_remove_and_variants(app: Watchdesk) -> None:
    reply = app.desk.run_text_command(EDITOR, "watch", 'add "Viktor Khrenin" Хренин')
    assert reply.ok and "Now watching Viktor Khrenin" in reply.text
    assert "Other spellings you may want" in reply.text
    assert "Viktor Khrenin — also Хренин" in app.desk.watch_list(MEMBER).text
    # the matcher was rebuilt: the new term matches at once, in Russian declension too
    test = app.desk.run_text_command(MEMBER, "watch", "test Министр Хренина встретил делегацию.")
    assert test.text.startswith("Would alert") and "Viktor Khrenin" in test.text
    assert app.desk.run_text_command(EDITOR, "watch", "remove Viktor Khrenin").ok
    assert "Viktor Khrenin" not in app.desk.watch_list(MEMBER).text


def test_watch_add_warns_about_a_name_that_mixes_scripts(app: Watchdesk) -> None:
    cyrillic_o = "\u043e"
    reply = app.desk.run_text_command(EDITOR, "watch", f"add Lukashenk{cyrillic_o} Минск")
    assert reply.ok and "Warning:" in reply.text
    assert "has Cyrillic “о” among Latin letters" in reply.text
    assert "it will match as “Lukashenko”" in reply.text
    clean = app.desk.run_text_command(EDITOR, "watch", "add Zapad Запад")
    assert clean.ok and "Warning:" not in clean.text
    # a mixed spelling added to a name already watched is warned about too
    extend = app.desk.run_text_command(EDITOR, "watch", f"add Zapad Zap{cyrillic_o}d")
    assert "Added spellings" in extend.text and "Warning:" in extend.text


def test_members_without_rights_get_a_clear_refusal(app: Watchdesk) -> None:
    reply = app.desk.run_text_command(MEMBER, "watch", "add Minsk")
    assert not reply.ok and "only the desk's editors can" in reply.text and "U_MEMBER" in reply.text
    assert not app.desk.run_text_command(MEMBER, "feeds", "add https://wire.example/rss").ok
    assert "Minsk" not in app.desk.watch_names()


def test_malformed_commands_get_usage_not_silence(app: Watchdesk) -> None:
    for command, text in [
        ("watch", ""),
        ("watch", "ad Lukashenko"),
        ("feeds", "add"),
        ("watch", 'add "unclosed'),
    ]:
        reply = app.desk.run_text_command(EDITOR, command, text)
        assert not reply.ok and "/" + command in reply.text, (command, text, reply.text)


def test_watch_test_explains_why_not(app: Watchdesk) -> None:
    reply = app.desk.run_text_command(MEMBER, "watch", "test Ветер дует с запада, на запад.")
    assert reply.text.startswith("Would NOT alert")


def test_feeds_add_checks_the_url_and_suggests_feeds_for_html(app: Watchdesk) -> None:
    with LoopbackServer() as server:
        feed_url = server.add("/rss.xml", FEED, headers=[("Content-Type", RSS)])
        page = server.add(
            "/",
            b'<html><head><link rel="alternate" type="application/rss+xml" '
            b'title="All news" href="/rss.xml"></head><body>Hi</body></html>',
            headers=[("Content-Type", "text/html")],
        )
        html_reply = app.desk.feeds_add(EDITOR, page)
        assert (
            not html_reply.ok and "Did you mean" in html_reply.text and feed_url in html_reply.text
        )
        added = app.desk.feeds_add(EDITOR, feed_url)
        assert added.ok and "Minsk Wire" in added.text
        again = app.desk.feeds_add(EDITOR, feed_url)
        assert not again.ok and "already watched" in again.text
        listing = app.desk.feeds_list(MEMBER).text
        assert feed_url in listing and "next poll" in listing
        assert app.desk.feeds_remove(EDITOR, feed_url).ok
    assert app.desk.feeds_list(MEMBER).text.startswith("No feeds")


def test_feeds_add_refuses_internal_addresses(app: Watchdesk) -> None:
    for url, reason in [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://10.0.0.5/feed", "private"),
        ("file:///etc/passwd", "file"),
    ]:
        reply = app.desk.feeds_add(EDITOR, url)
        assert not reply.ok and reason in reply.text, reply.text
    assert app.store.feeds.list_feeds() == []


def test_thread_reply_records_verdict_and_updates_the_alert(app: Watchdesk) -> None:
    alert_id = stored_alert(app.store)
    app.run_outbox_once()
    ref = f"console-{alert_id}"
    reply = app.desk.handle_thread_reply(MEMBER, "console", ref, "2 false https://src.example/r")
    assert reply is not None and reply.ok and "claim 2 → false" in reply.text
    view = app.store.alerts.alert_view(alert_id)
    assert view is not None and view.claims[1].verdict is Verdict.FALSE
    assert view.claims[1].source_url == "https://src.example/r"
    assert "(updated)" in app.out.getvalue()  # type: ignore[attr-defined]
    assert app.desk.handle_thread_reply(MEMBER, "console", ref, "thanks, looking into it") is None
    hint = app.desk.handle_thread_reply(MEMBER, "console", ref, "7 false")
    assert hint is not None and not hint.ok and "7" in hint.text
    assert app.desk.handle_thread_reply(MEMBER, "console", "not-an-alert", "2 false") is None


def test_all_true_and_open_claims(app: Watchdesk) -> None:
    first = stored_alert(app.store, 1, claims=2)
    stored_alert(app.store, 2, claims=1)
    app.run_outbox_once()
    assert "alert #1" in app.desk.claims_open(MEMBER).text
    app.desk.handle_thread_reply(MEMBER, "console", f"console-{first}", "all true")
    text = app.desk.claims_open(MEMBER).text
    assert f"alert #{first} " not in text and "claim 1" in text
    refused = app.desk.record_verdict(MEMBER, first, [9], Verdict.TRUE)
    assert not refused.ok and "no claim 9" in refused.text


def test_end_to_end_feed_to_console_alert(database_url: str, tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "bot" / "demo" / "data" / "zapad-visit.txt"
    headline, _, body = sample.read_text(encoding="utf-8").partition("\n")
    paragraphs = "".join(f"<p>{p}</p>" for p in body.splitlines() if p.strip())
    item = (
        f"<item><title>{headline}</title><link>https://news.example/zapad</link>"
        f"<guid>zapad</guid><description><![CDATA[{paragraphs}]]></description></item>"
    )
    out = io.StringIO()
    journal = tmp_path / "alerts.jsonl"
    app = build_app(
        database_url,
        {"console": ConsoleSink(out, journal)},
        extra_toml="[poll]\nbackfill = 5\n[analysis]\nfetch_full_text = false",
    )
    try:
        with LoopbackServer() as server:
            url = server.add(
                "/feed.xml",
                (
                    '<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
                    f"<link>https://news.example/</link>{item}</channel></rss>"
                ).encode(),
                headers=[("Content-Type", RSS)],
            )
            app.store.feeds.add_feed(url, interval_s=600, name="Wire")
            summary = app.run_cycle()
    finally:
        app.close()
    assert len(summary.alerts) == 1 and summary.outbox.sent == 1
    text = out.getvalue()
    for needle in (
        "ALERT #1",
        "Zapad",
        "Lukashenko",
        "Belarus",
        "23 countries",
        "52 political prisoners",
        "Belavia",
        "twice-impeached",
    ):
        assert needle in text, needle
    assert "should ring alarm bells" not in text.split("Claims to check:")[1]
