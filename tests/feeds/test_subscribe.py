"""FeedChecker: the one check a URL passes before it becomes a feed, alone or in a batch."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.feeds.client import HttpClient
from bot.feeds.subscribe import CheckedFeed, FeedChecker, FeedRefused
from bot.settings import FetchSettings
from tests.factories import build_app
from tests.loopback import LoopbackServer

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
    b"<item><title>One</title><link>https://example.com/1</link></item></channel></rss>"
)


@pytest.fixture
def checker() -> Iterator[FeedChecker]:
    settings = FetchSettings(timeout_s=5, allow_private_hosts=("127.0.0.1",), per_host_limit=8)
    with HttpClient(settings) as http:
        yield FeedChecker(http)


def test_a_batch_is_checked_concurrently_and_answered_in_order(checker: FeedChecker) -> None:
    with LoopbackServer() as site:
        urls = [site.add(f"/slow/{i}.xml", RSS, delay_s=0.4) for i in range(6)]
        urls.insert(2, "file:///etc/passwd")
        results = checker.check_many(urls)
        assert site.peak_concurrency > 1  # not one round trip after another
    assert [type(r) for r in results] == [CheckedFeed] * 2 + [FeedRefused] + [CheckedFeed] * 4
    assert [r.url for r in results] == urls
    refused = results[2]
    assert isinstance(refused, FeedRefused)
    assert refused.reason == "refused: scheme 'file' is not allowed (only http and https)"
    assert str(refused) == f"Could not add file:///etc/passwd: {refused.reason}."


def test_the_stored_url_is_the_normalised_one(checker: FeedChecker) -> None:
    with LoopbackServer() as site:
        site.add("/Feed.xml", RSS)
        checked = checker.check(f"feed:HTTP://127.0.0.1:{site.port}/Feed.xml")
    assert checked == CheckedFeed(url=site.url("/Feed.xml"), title="Wire", entries=1)


def test_polls_and_article_pages_share_one_client_and_its_host_limit(tmp_path: Path) -> None:
    """The poll cycle (scheduler thread) and a full-text page fetch (another thread) against
    one host with per_host_limit = 1: they take turns, because the app has one client."""
    app = build_app(f"sqlite:///{tmp_path / 'wd.db'}", extra_toml="[fetch]\nper_host_limit = 1\n")
    try:
        with LoopbackServer() as site:
            feed = site.add("/feed.xml", RSS, delay_s=0.5)
            page = site.add("/story.html", b"<html><body><p>Story.</p></body></html>", delay_s=0.5)
            app.store.feeds.add_feed(feed, interval_s=600)
            with ThreadPoolExecutor(max_workers=2) as pool:
                polled = pool.submit(app.poller.poll_due)
                fetched = pool.submit(app.checker.fetch_page, page)
                assert [r.outcome for r in polled.result().results] == ["unchanged"]
                assert b"Story." in fetched.result()
            assert site.hits("/feed.xml") == 1 and site.hits("/story.html") == 1
            assert site.peak_concurrency == 1
    finally:
        app.close()
    assert "watchdesk-http" not in {t.name for t in threading.enumerate()}
