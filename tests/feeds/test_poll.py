"""The poll cycle over real HTTP on loopback: dedupe, first-poll priming, conditional GET,
failure counting, backoff, disabling with a notice, and slot spreading."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from bot.feeds.client import HttpClient
from bot.feeds.poll import Poller, next_slot
from bot.models import Decision, PollSuccess
from bot.settings import FetchSettings, PollSettings
from bot.store.articles import ArticleRepository
from bot.store.repo import Store
from tests.loopback import LoopbackServer

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


def rss(items: list[tuple[str, str, str]], *, guid: bool = True) -> bytes:
    """items: (id, title, link)."""
    body = "".join(
        f"<item><title>{title}</title><link>{link}</link>"
        + (f'<guid isPermaLink="false">{ident}</guid>' if guid else "")
        + f"<description>About {title}.</description>"
        f"<pubDate>{format_datetime(T0)}</pubDate></item>"
        for ident, title, link in items
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Test feed</title>'
        f"<link>https://news.example/</link>{body}</channel></rss>"
    ).encode()


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def after(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def server() -> LoopbackServer:
    with LoopbackServer() as srv:
        yield srv


HTTP = HttpClient(FetchSettings(timeout_s=3, allow_private_hosts=("127.0.0.1",)))


@pytest.fixture(scope="module", autouse=True)
def close_http() -> Iterator[None]:
    yield
    HTTP.close()


def make_poller(store: Store, clock: Clock, **config: object) -> Poller:
    return Poller(
        store, HTTP, PollSettings(**{"interval_s": 600, "parse_workers": 0, **config}), clock=clock
    )


def test_first_poll_primes_then_only_new_items_count_and_restart_never_repeats(
    store: Store, server: LoopbackServer
) -> None:
    items = [(f"id-{i}", f"Story {i}", f"https://news.example/{i}") for i in range(3)]
    url = server.add("/feed.xml", rss(items), headers=[("Content-Type", RSS)])
    clock = Clock()
    store.feeds.add_feed(url, interval_s=600, now=T0)
    first = make_poller(store, clock).poll_due()
    assert [r.outcome for r in first.results] == ["unchanged"] and first.new_articles == []

    server.add(
        "/feed.xml",
        rss([*items, ("id-3", "Story 3", "https://news.example/3")]),
        headers=[("Content-Type", RSS)],
    )
    clock.after(601)
    second = make_poller(store, clock).poll_due()
    assert len(second.new_articles) == 1

    clock.after(601)  # a restarted worker (new Poller) sees the same feed again
    third = make_poller(store, clock).poll_due()
    assert third.new_articles == [] and [r.outcome for r in third.results] == ["same_body"]


def test_the_same_body_without_conditional_get_is_not_parsed_again(
    store: Store, server: LoopbackServer
) -> None:
    """A server that sends no ETag/Last-Modified and the same bytes every poll costs a hash:
    the poll is recorded as a success without a parse; a changed body is parsed as usual."""
    items = [("a", "A", "https://news.example/a")]
    url = server.add("/same.xml", rss(items), headers=[("Content-Type", RSS)])
    clock = Clock()
    store.feeds.add_feed(url, interval_s=600, now=T0)
    first = make_poller(store, clock).poll_due()
    assert [r.outcome for r in first.results] == ["unchanged"]  # priming parses it
    stored = store.feeds.get_feed(url)
    assert stored is not None and stored.body_hash is not None

    clock.after(601)
    again = make_poller(store, clock).poll_due()
    assert [r.outcome for r in again.results] == ["same_body"]
    assert server.requests("/same.xml")[-1].headers.get("if-none-match") is None
    after = store.feeds.get_feed(url)
    assert after is not None and after.error_count == 0 and after.next_poll_at > stored.next_poll_at

    server.add(
        "/same.xml",
        rss([*items, ("b", "B", "https://news.example/b")]),
        headers=[("Content-Type", RSS)],
    )
    clock.after(601)
    changed = make_poller(store, clock).poll_due()
    assert [r.outcome for r in changed.results] == ["new"] and len(changed.new_articles) == 1


def test_a_body_that_failed_to_parse_is_parsed_again(store: Store, server: LoopbackServer) -> None:
    """Only a body that was parsed and stored is remembered: a feed that failed keeps failing
    (and counting), it is never waved through as "the same body"."""
    url = server.add("/bad.xml", b"<rss><channel></channel></rss>", headers=[("Content-Type", RSS)])
    clock = Clock()
    store.feeds.add_feed(url, interval_s=600, now=T0)
    make_poller(store, clock).poll_due()
    clock.after(10_000)
    report = make_poller(store, clock).poll_due()
    assert [r.outcome for r in report.results] == ["failed"]
    feed = store.feeds.get_feed(url)
    assert feed is not None and feed.error_count == 2 and feed.body_hash is None


def test_backfill_setting_allows_n_alerts_from_first_poll(
    store: Store, server: LoopbackServer
) -> None:
    items = [(f"id-{i}", f"Story {i}", f"https://news.example/{i}") for i in range(5)]
    store.feeds.add_feed(
        server.add("/f", rss(items), headers=[("Content-Type", RSS)]), interval_s=600, now=T0
    )
    report = make_poller(store, Clock(), backfill=2).poll_due()
    assert len(report.new_articles) == 2


def test_conditional_get_304_skips_parsing(store: Store, server: LoopbackServer) -> None:
    url = server.add(
        "/feed.xml",
        rss([("a", "A", "https://news.example/a")]),
        headers=[
            ("Content-Type", RSS),
            ("ETag", '"v1"'),
            ("Last-Modified", "Fri, 01 May 2026 07:00:00 GMT"),
        ],
    )
    clock = Clock()
    store.feeds.add_feed(url, interval_s=600, now=T0)
    make_poller(store, clock).poll_due()
    clock.after(601)
    report = make_poller(store, clock).poll_due()
    assert [r.outcome for r in report.results] == ["not_modified"]
    last = server.requests("/feed.xml")[-1]
    assert last.headers.get("if-none-match") == '"v1"'
    assert last.headers.get("if-modified-since") == "Fri, 01 May 2026 07:00:00 GMT"


def test_same_article_through_two_feeds_is_one_article(
    store: Store, server: LoopbackServer
) -> None:
    base = [("x", "Old", "https://news.example/old")]
    a = server.add("/a", rss(base), headers=[("Content-Type", RSS)])
    b = server.add("/b", rss(base, guid=False), headers=[("Content-Type", RSS)])
    clock = Clock()
    for url in (a, b):
        store.feeds.add_feed(url, interval_s=600, now=T0)
    make_poller(store, clock).poll_due()
    story = ("a-guid-1", "Big story", "https://news.example/big?utm_source=rss#top")
    server.add("/a", rss([*base, story]), headers=[("Content-Type", RSS)])
    server.add(
        "/b",
        rss([*base, ("b-guid-9", "Big story", "https://NEWS.example/big")], guid=False),
        headers=[("Content-Type", RSS)],
    )
    clock.after(601)
    report = make_poller(store, clock).poll_due()
    assert len(report.new_articles) == 1


def test_one_bad_feed_never_stops_the_cycle(store: Store, server: LoopbackServer) -> None:
    good = server.add(
        "/good", rss([("g", "Good", "https://news.example/g")]), headers=[("Content-Type", RSS)]
    )
    missing = server.url("/missing")
    html = server.add(
        "/page", b"<html><body>Not a feed</body></html>", headers=[("Content-Type", "text/html")]
    )
    empty = server.add("/empty", rss([]), headers=[("Content-Type", RSS)])
    junk = server.add("/junk", raw=b"NOT HTTP AT ALL\r\n\r\n")
    for url in (good, missing, html, empty, junk):
        store.feeds.add_feed(url, interval_s=600, now=T0)
    report = make_poller(store, Clock()).poll_due()
    outcomes = {r.url: r for r in report.results}
    assert outcomes[good].outcome == "unchanged"
    for url in (missing, html, empty, junk):
        assert outcomes[url].outcome == "failed", url
    assert "404" in (outcomes[missing].error or "")
    assert "no items" in (outcomes[empty].error or "")
    feeds = {f.url: f for f in store.feeds.list_feeds()}
    assert feeds[missing].error_count == 1 and feeds[good].error_count == 0
    assert feeds[missing].last_error == outcomes[missing].error


def test_failing_feed_backs_off_exponentially_then_is_disabled_with_a_notice(
    store: Store, server: LoopbackServer
) -> None:
    url = server.url("/gone")
    store.feeds.add_feed(url, interval_s=600, now=T0)
    clock = Clock()
    poller = make_poller(store, clock, disable_after_failures=3, max_backoff_s=3600)
    waits = []
    for _ in range(3):
        report = poller.poll_due()
        assert len(report.results) == 1
        feed = store.feeds.get_feed(url)
        assert feed is not None
        waits.append((feed.next_poll_at - clock.now).total_seconds())
        clock.now = feed.next_poll_at
    assert waits[:2] == [600, 1200]
    assert report.results[0].outcome == "disabled"
    assert store.feeds.get_feed(url).state == "disabled"  # type: ignore[union-attr]
    [notice] = store.outbox.pending("console")
    assert "disabled after 3 consecutive failures" in (notice.text or "") and url in notice.text
    assert str(notice.destination) == "console"
    clock.after(86400)
    assert poller.poll_due().results == []


def test_polls_are_spread_over_the_interval() -> None:
    now = T0
    slots = [next_slot(f"https://site{i}.example/feed", 600, now) for i in range(2000)]
    assert all(now < s <= now + timedelta(seconds=600) for s in slots)
    buckets = Counter(int(((s - now).total_seconds() - 0.5) // 60) for s in slots)
    assert len(buckets) == 10 and max(buckets.values()) < 2 * 2000 / 10
    # the slot is stable: the same feed comes back at the same offset each interval
    later = next_slot("https://site1.example/feed", 600, slots[1])
    assert (later - slots[1]).total_seconds() == 600


def test_parsing_in_a_process_pool_gives_the_same_result(
    store: Store, server: LoopbackServer
) -> None:
    items = [(f"id-{i}", f"Story {i}", f"https://news.example/{i}") for i in range(4)]
    url = server.add("/pool.xml", rss(items), headers=[("Content-Type", RSS)])
    store.feeds.add_feed(url, interval_s=600, now=T0)
    poller = make_poller(store, Clock(), parse_workers=1, backfill=10)
    try:
        report = poller.poll_due()
    finally:
        poller.close()
    assert len(report.new_articles) == 4


class BrokenArticles(ArticleRepository):
    """The real articles repository with a bug planted in the step after deciding, for the
    feeds whose id is in ``broken`` (all of them when empty)."""

    broken: frozenset[int] = frozenset()

    def apply_decisions(
        self, decisions: Sequence[tuple[int, Decision]], successes: Sequence[PollSuccess] = ()
    ) -> dict[int, list[int]]:
        if not self.broken or any(feed_id in self.broken for feed_id, _ in decisions):
            raise ZeroDivisionError("a bug in our code, not the feed's fault")
        return super().apply_decisions(decisions, successes)


def test_a_crash_in_our_code_is_logged_not_counted_against_the_feed(
    store: Store, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    url = server.add(
        "/ok.xml", rss([("a", "A", "https://news.example/a")]), headers=[("Content-Type", RSS)]
    )
    store.feeds.add_feed(url, interval_s=600, now=T0)
    clock = Clock()
    store.articles = BrokenArticles(store.engine, store.clock)
    poller = make_poller(store, clock, disable_after_failures=1)
    [result] = poller.poll_due().results
    assert result.outcome == "crashed" and "fix the URL" not in (result.error or "")
    feed = store.feeds.get_feed(url)
    assert feed is not None and feed.state == "active" and feed.error_count == 0
    assert feed.next_poll_at == next_slot(url, 600, clock.now)
    [crash] = [r for r in caplog.records if "crashed" in r.getMessage()]
    assert crash.exc_info is not None and crash.exc_info[0] is ZeroDivisionError
    assert store.outbox.pending() == []  # no "feed disabled" notice


def test_a_feed_the_store_refuses_crashes_alone_not_its_batch(
    store: Store, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A batch is stored in one transaction; when that fails the feeds are stored one by one,
    so only the feed whose entries the store refuses is a crash."""
    urls = [
        server.add(
            f"/f{i}.xml",
            rss([(f"i{i}", f"Item {i}", f"https://news.example/{i}")]),
            headers=[("Content-Type", RSS)],
        )
        for i in range(3)
    ]
    feeds = [store.feeds.add_feed(url, interval_s=600, now=T0) for url in urls]
    broken = BrokenArticles(store.engine, store.clock)
    broken.broken = frozenset({feeds[1].id})
    store.articles = broken
    report = make_poller(store, Clock(), batch_size=10).poll_due()
    outcomes = {r.feed_id: r.outcome for r in report.results}
    assert outcomes == {feeds[0].id: "unchanged", feeds[1].id: "crashed", feeds[2].id: "unchanged"}
    assert store.articles.count_feed_entries(feeds[0].id) == 1
    assert store.articles.count_feed_entries(feeds[1].id) == 0
    assert store.articles.count_feed_entries(feeds[2].id) == 1
    assert all(f.primed for f in (store.feeds.get_feed(u) for u in urls[::2]) if f)
