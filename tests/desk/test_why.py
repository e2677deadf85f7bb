"""`/why`: each way an article can fail to alert, traced from what the store recorded, through
the real pipeline (loopback feeds, the real poller, analyser, alert maker and outbox)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import OPERATOR, Watchdesk
from bot.chat.console import ConsoleSink
from bot.desk.why import AlertNumber, ArticleUrl, parse_target
from bot.errors import UserError
from tests.factories import settings_for_test
from tests.loopback import LoopbackServer

RSS = "application/rss+xml"
WATCH = """
[poll]
disable_after_failures = 2
[analysis]
min_salience = 0.3
fetch_full_text = false
[[watch]]
name = "Lukashenko"
aliases = ["Lukashenka"]
exclusions = ["Viktor Lukashenko"]
[[watch]]
name = "Viktor Khrenin"
aliases = ["Хренин"]
"""
FILLER = (
    "The ministry published its weekly figures on Monday morning. "
    "Officials said the numbers were broadly in line with forecasts. "
    "Analysts expect more detail later this month. "
)


def rss(*items: str, title: str = "Wire") -> bytes:
    body = "".join(f"<item>{i}</item>" for i in items)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        f"<link>https://wire.example/</link><description>d</description>{body}</channel></rss>"
    ).encode()


def item(title: str, text: str, *, link: str | None = None, guid: str | None = None) -> str:
    out = f"<title>{title}</title><description>{text}</description>"
    if link:
        out += f"<link>{link}</link>"
    if guid:
        out += f'<guid isPermaLink="false">{guid}</guid>'
    return out


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


@pytest.fixture
def app(database_url: str) -> Iterator[Watchdesk]:
    settings = settings_for_test(database_url, WATCH)
    app = Watchdesk.build(settings, {"console": ConsoleSink(io.StringIO())})
    app.poller.clock = Clock()
    yield app
    app.close()


def serve(site: LoopbackServer, path: str, body: bytes, status: int = 200) -> str:
    site.add(path, body, status=status, headers=[("Content-Type", RSS)])
    return site.url(path)


def primed_feed(app: Watchdesk, site: LoopbackServer, path: str, name: str) -> str:
    """A feed polled once (its one item is history), so what it shows next may alert."""
    old = item("Old story", "Old.", link=f"https://old.example{path}")
    url = serve(site, path, rss(old, title=name))
    app.store.feeds.add_feed(url, interval_s=600, name=name)
    poll(app)
    return url


def poll(app: Watchdesk) -> None:
    """One cycle a day after the last: every feed is due (backoffs are shorter than that)."""
    app.poller.clock.now += timedelta(days=1)
    app.run_cycle()


def why(app: Watchdesk, target: str) -> str:
    reply = app.desk.why(OPERATOR, target)
    assert reply.ok, reply.text
    return reply.text


def lines_of(text: str) -> list[str]:
    return text.split("\n")


# --------------------------------------------------------------------------- the target


def test_a_target_is_an_alert_number_or_a_web_address() -> None:
    assert parse_target("42") == AlertNumber(42)
    assert parse_target("#7") == AlertNumber(7)
    assert parse_target(" https://wire.example/a?b=1 ") == ArticleUrl("https://wire.example/a?b=1")
    for bad in ("wire.example/a", "ftp://wire.example/a", "forty-two", "https://"):
        with pytest.raises(UserError):
            parse_target(bad)


def test_no_alert_with_that_number(app: Watchdesk) -> None:
    reply = app.desk.why(OPERATOR, "99")
    assert not reply.ok and reply.text == "There is no alert #99."


def test_the_text_command_without_a_target_shows_usage(app: Watchdesk) -> None:
    reply = app.desk.run_text_command(OPERATOR, "why", "")
    assert not reply.ok
    assert reply.text.startswith("/why needs an article's address or an alert number.\nUsage:")


# --------------------------------------------------------------------------- never stored


def test_a_url_no_feed_lists_with_no_feed_to_discover(app: Watchdesk, site: LoopbackServer) -> None:
    site.add("/", b"<html><head><title>Home</title></head><body>hi</body></html>")
    site.add("/story", b"<html><head><title>Story</title></head><body>text</body></html>")
    url = site.url("/story")
    assert lines_of(why(app, url)) == [
        f"No feed Watchdesk polls has listed {url}: it was never stored, so it could not "
        "alert (0 feed(s) polled).",
        "Its page and its site's home page name no feed to add.",
    ]


def test_a_url_no_feed_lists_suggests_the_feed_its_page_links(
    app: Watchdesk, site: LoopbackServer
) -> None:
    page = (
        b'<html><head><link rel="alternate" type="application/rss+xml" title="Wire news" '
        b'href="/news.xml"></head><body>story</body></html>'
    )
    site.add("/story", page)
    url = site.url("/story")
    reply = app.desk.why(OPERATOR, url)
    feed = site.url("/news.xml")
    assert lines_of(reply.text)[1:] == [
        "Its site offers a feed; to poll it:",
        f"• {feed} (Wire news) — /feeds add {feed}",
    ]
    from bot.desk.replies import Arg, CommandRef

    assert CommandRef("feeds", "add", (Arg("url", feed),)) in reply.parts


def test_an_unreachable_page_says_why_no_feed_was_suggested(app: Watchdesk) -> None:
    text = why(app, "http://127.0.0.1:9/story")
    assert lines_of(text)[1].startswith("Looking for its site's feed: Could not fetch ")


def test_a_backing_off_then_disabled_feed_of_the_same_site_is_named(
    app: Watchdesk, site: LoopbackServer
) -> None:
    url = serve(site, "/broken.xml", b"oops", status=503)
    app.store.feeds.add_feed(url, interval_s=600, name="Broken")
    site.add("/", b"<html><body>home</body></html>")
    story = site.url("/2026/story")
    poll(app)
    text = why(app, story)
    assert "Feeds from 127.0.0.1 (the article is not in them):" in text
    assert f"• Broken ({url}) — backing off after 1 failed poll(s) (last: " in text
    assert "; next poll 20" in text
    poll(app)
    text = why(app, story)
    assert f"• Broken ({url}) — DISABLED: 2 consecutive failures; last: " in text


# --------------------------------------------------------------------------- stored, no alert


def test_what_a_new_feed_holds_is_history(app: Watchdesk, site: LoopbackServer) -> None:
    link = "https://wire.example/old"
    url = serve(site, "/feed.xml", rss(item("Lukashenko speaks", "Old news.", link=link)))
    app.store.feeds.add_feed(url, interval_s=600, name="Wire")
    poll(app)
    text = lines_of(why(app, link))
    assert text[0] == f"“Lukashenko speaks” — {link}"
    assert text[1].startswith("Not alerted: it was already in the feed when Watchdesk first polled")
    assert text[3] == "Feeds that list it:"
    assert text[4].startswith(f"• Wire ({url}) listed it first (")
    assert "this entry stored the article — active; last success " in text[4]
    assert len(text) == 5  # never analysed: nothing about matching


def test_no_watched_term(app: Watchdesk, site: LoopbackServer) -> None:
    primed_feed(app, site, "/feed.xml", "Wire")
    link = "https://wire.example/weather"
    serve(site, "/feed.xml", rss(item("Rain in Minsk", FILLER, link=link)))
    poll(app)
    text = lines_of(why(app, link + "?utm_source=x"))
    assert text[1] == "Not alerted: no watched name matched it."
    assert text[-1] == "Matching: no watched name, spelling or part of a name appears in it."


def test_near_miss_below_the_salience_threshold(app: Watchdesk, site: LoopbackServer) -> None:
    primed_feed(app, site, "/feed.xml", "Wire")
    link = "https://wire.example/figures"
    text = FILLER + "Lukashenka was mentioned once at the end of the report."
    serve(site, "/feed.xml", rss(item("Weekly figures", text, link=link)))
    poll(app)
    assert lines_of(why(app, link))[-1] == (
        "Closest: Lukashenko as “Lukashenka” — salience 0.18 below min_salience 0.30."
    )


def test_near_miss_by_an_exclusion(app: Watchdesk, site: LoopbackServer) -> None:
    primed_feed(app, site, "/feed.xml", "Wire")
    link = "https://wire.example/chess"
    serve(site, "/feed.xml", rss(item("Viktor Lukashenko wins the chess final", FILLER, link=link)))
    poll(app)
    assert lines_of(why(app, link))[-1] == (
        "Closest: Lukashenko — 'Lukashenko': inside exclusion 'Viktor Lukashenko'."
    )


def test_near_miss_by_part_of_a_name(app: Watchdesk, site: LoopbackServer) -> None:
    primed_feed(app, site, "/feed.xml", "Wire")
    link = "https://wire.example/khrenin"
    serve(site, "/feed.xml", rss(item("Khrenin inspects the troops", FILLER, link=link)))
    poll(app)
    assert lines_of(why(app, link))[-1] == (
        "Closest: Viktor Khrenin — only part of the name: 'Khrenin'."
    )


# --------------------------------------------------------------------------- duplicates


def two_feeds(app: Watchdesk, site: LoopbackServer, a: str, b: str) -> tuple[str, str]:
    """Feed A shows item ``a`` first (it alerts), then feed B shows ``b`` (the same article)."""
    url_a = primed_feed(app, site, "/a.xml", "Feed A")
    url_b = primed_feed(app, site, "/b.xml", "Feed B")
    serve(site, "/a.xml", rss(a, title="Feed A"))
    poll(app)
    serve(site, "/b.xml", rss(b, title="Feed B"))
    poll(app)
    return url_a, url_b


def assert_duplicate(text: str, url_a: str, url_b: str, identity: str) -> None:
    rows = lines_of(text)
    assert rows[1] == "Alerted as #1; the deliveries are below."
    assert rows[2].startswith("Stored 20") and rows[2].endswith(f" from Feed A ({url_a}).")
    assert rows[4].startswith(f"• Feed A ({url_a}) listed it first (")
    assert rows[5].startswith(f"• Feed B ({url_b}) listed it 20")
    assert f" as a duplicate: recognised by {identity} as this article, so it did not " in rows[5]


def test_duplicate_by_canonical_link(app: Watchdesk, site: LoopbackServer) -> None:
    story = "Lukashenko meets the observers"
    url_a, url_b = two_feeds(
        app,
        site,
        item(story, FILLER, link="https://wire.example/obs?utm_source=a", guid="a-1"),
        item(story, FILLER, link="http://wire.example/obs#top", guid="b-77"),
    )
    text = why(app, "https://wire.example/obs")
    assert_duplicate(text, url_a, url_b, "the same canonical link")
    assert lines_of(text)[6] == "Matched: Lukashenko (salience 0.63)."


def test_duplicate_by_guid(app: Watchdesk, site: LoopbackServer) -> None:
    shared = item("Lukashenko meets the observers", FILLER, guid="tag:wire.example,2026:obs")
    url_a, url_b = two_feeds(app, site, shared, shared)
    assert_duplicate(why(app, "1"), url_a, url_b, "the same guid")


def test_duplicate_by_content(app: Watchdesk, site: LoopbackServer) -> None:
    shared = item("Lukashenko meets the observers", FILLER)
    url_a, url_b = two_feeds(app, site, shared, shared)
    assert_duplicate(why(app, "#1"), url_a, url_b, "the same title and text (content hash)")


def test_duplicate_by_guid_under_a_new_link(app: Watchdesk, site: LoopbackServer) -> None:
    """The feed republishes a story with a new address and the same guid: asked about the new
    address, `/why` names the article it was folded into, not "never stored"."""
    url = primed_feed(app, site, "/feed.xml", "Wire")
    old, new = "https://wire.example/obs-draft", "https://wire.example/obs-final"
    story = "Lukashenko meets the observers"
    serve(site, "/feed.xml", rss(item(story, FILLER, link=old, guid="wire-obs")))
    poll(app)
    serve(site, "/feed.xml", rss(item(story, FILLER, link=new, guid="wire-obs")))
    poll(app)
    poll(app)  # still there next time: recorded once
    rows = lines_of(why(app, new))
    assert rows[0] == f"“{story}” — {old}"
    assert rows[1] == "Alerted as #1; the deliveries are below."
    assert rows[4].startswith(f"• Wire ({url}) listed it first (")
    assert rows[5].startswith(f"• Wire ({url}) listed it again 20")
    assert (
        f" under another address ({new}) with the same guid: recognised as this article"
        in (rows[5])
    )
    assert rows[6] == "Matched: Lukashenko (salience 0.63)."


# --------------------------------------------------------------------------- alerted


def test_alerted_routing_and_delivery_states(database_url: str, site: LoopbackServer) -> None:
    """Routed to the console (delivered: a link to the message) and to a Slack channel this
    worker has no token for (queued, never tried)."""
    extra = WATCH.replace(
        'aliases = ["Lukashenka"]',
        'aliases = ["Lukashenka"]\nchannels = ["console", "slack:C0DESK01"]',
    )
    app = Watchdesk.build(
        settings_for_test(database_url, extra), {"console": ConsoleSink(io.StringIO())}
    )
    app.poller.clock = Clock()
    try:
        primed_feed(app, site, "/feed.xml", "Wire")
        link = "https://wire.example/obs"
        serve(site, "/feed.xml", rss(item("Lukashenka greets observers", FILLER, link=link)))
        poll(app)
        rows = lines_of(app.desk.why(OPERATOR, link).text)
        assert rows[1] == "Alerted as #1; the deliveries are below."
        assert rows[-4] == "Matched: Lukashenko as “Lukashenka” (salience 0.63)."
        assert rows[-3] == "Routed to console, slack:C0DESK01:"
        assert rows[-2].startswith("• console: sent 20") and rows[-2].endswith(
            " (1 attempt) · open the alert (console message console-1)"
        )
        assert rows[-1].startswith("• slack:C0DESK01: queued, not tried yet (due 20")
        assert app.desk.why(OPERATOR, "1") == app.desk.why(OPERATOR, link)
    finally:
        app.close()


def test_waiting_for_analysis_and_given_up_after_crashes(app: Watchdesk) -> None:
    """A crash between storing and analysing leaves an article waiting; an article whose
    analysis keeps crashing is given up on (`MAX_ANALYSIS_FAILURES`)."""
    from bot.feeds.decide import identify
    from bot.feeds.poll import record_entries
    from tests.factories import entry

    store = app.store
    feed = store.feeds.add_feed("https://wire.example/rss", interval_s=600, name="Wire").id
    link = "https://news.example/a/1"
    [article] = record_entries(store.articles, feed, identify([entry(1)]), primed=True, backfill=0)
    assert (
        lines_of(why(app, link))[1] == "Not alerted yet: it waits for analysis in the next cycle."
    )
    store.articles.count_analysis_failure(article)
    assert lines_of(why(app, link))[1] == (
        "Not alerted yet: it waits for analysis in the next cycle (failed 1 time(s) so far)."
    )
    store.articles.count_analysis_failure(article)
    store.articles.count_analysis_failure(article)
    assert lines_of(why(app, link))[1] == (
        "Not alerted: analysing it failed 3 times (a bug, logged with its traceback), so it is "
        "no longer retried."
    )


def test_a_url_whose_site_feed_is_polled_but_does_not_list_it(
    app: Watchdesk, site: LoopbackServer
) -> None:
    feed = site.url("/news.xml")
    app.store.feeds.add_feed(feed, interval_s=600, name="Wire news")
    page = b'<html><head><link rel="alternate" type="application/rss+xml" href="/news.xml"></head>'
    site.add("/story", page)
    rows = lines_of(why(app, site.url("/story")))
    assert rows[1:] == [
        "Feeds from 127.0.0.1 (the article is not in them):",
        rows[2],
        "Its site's feed is already polled, and it does not list this article.",
    ]
    assert rows[2].startswith(f"• Wire news ({feed}) — active; last success never, next poll ")


def test_a_copy_that_joined_a_story_names_the_story_and_its_thread_post(
    app: Watchdesk, site: LoopbackServer
) -> None:
    """The second outlet's report of a story alerted already is no alert of its own: `/why`
    says which alert's story it joined and how its thread post went; the alert's own trace
    counts the story's sources."""
    wire = primed_feed(app, site, "/wire.xml", "Wire")
    other = primed_feed(app, site, "/other.xml", "Other Daily")
    story = "Lukashenka greets the observers of the drills in Minsk. " + FILLER
    first, second = "https://wire.example/drills", "https://other.example/drills"
    serve(site, "/wire.xml", rss(item("Lukashenka greets observers", story, link=first)))
    poll(app)
    serve(site, "/other.xml", rss(item("Lukashenka greets drill observers", story, link=second)))
    poll(app)
    assert wire and other
    rows = lines_of(why(app, second))
    assert rows[1].startswith("Not alerted on its own: it reports the story of alert #1 (")
    assert "as Other Daily), so it was posted into that alert's thread" in rows[1]
    assert rows[-2] == "Thread post in alert #1:"
    assert rows[-1].startswith("• console: sent 20")
    assert rows[-1].endswith("· open the thread post (console message console-1-reply-1)")
    alerted = why(app, first)
    assert "Its story has 2 sources: Wire, Other Daily; later copies were posted" in alerted
