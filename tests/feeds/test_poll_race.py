"""Two workers on one Postgres database, two feeds carrying the same article, polled at the
same moment: the article is stored once, both feeds record the entry as seen, one of them may
alert, and neither is a crash or a failure."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.feeds.client import HttpClient
from bot.feeds.poll import CycleReport, Poller
from bot.settings import FetchSettings, PollSettings
from bot.store import db
from bot.store.repo import Store
from bot.store.schema import ArticleRow
from tests.conftest import _postgres_schema_url
from tests.feeds.test_poll import RSS, T0, Clock, rss
from tests.loopback import LoopbackServer

ROUNDS = 5
pytestmark = pytest.mark.postgres


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_schema_url()


def worker(url: str, clock: Clock) -> tuple[Store, Poller, HttpClient]:
    """One `watchdesk run` worker's store and poller: its own engine, client and loop."""
    store = Store(db.make_engine(url))
    http = HttpClient(FetchSettings(timeout_s=20, allow_private_hosts=("127.0.0.1",)))
    settings = PollSettings(interval_s=600, parse_workers=0, batch_size=1)
    return store, Poller(store, http, settings, clock=clock), http


@pytest.mark.timeout(120)
def test_two_workers_storing_the_same_article_at_once(postgres_url: str) -> None:
    engine = db.make_engine(postgres_url)
    db.upgrade(engine)
    engine.dispose()
    clocks = (Clock(), Clock())
    (store_a, poller_a, http_a), (store_b, poller_b, http_b) = (
        worker(postgres_url, c) for c in clocks
    )
    base = [("old", "Old story", "https://news.example/old")]
    try:
        with LoopbackServer() as server:
            url_a = server.add("/a.xml", rss(base), headers=[("Content-Type", RSS)])
            url_b = server.add("/b.xml", rss(base), headers=[("Content-Type", RSS)])
            feed_a = store_a.feeds.add_feed(url_a, interval_s=600, now=T0)
            feed_b = store_a.feeds.add_feed(url_b, interval_s=600, now=T0)
            poller_a.poll_due()  # primes both: what they hold now is history
            for n in range(1, ROUNDS + 1):
                start = T0 + timedelta(hours=n)
                gate = threading.Event()
                items = [
                    *base,
                    *(
                        (f"s{k}", f"Shared {k}", f"https://news.example/s{k}")
                        for k in range(1, n + 1)
                    ),
                ]
                for path in ("/a.xml", "/b.xml"):
                    server.add(path, rss(items), headers=[("Content-Type", RSS)], hold=gate)
                # Feed a is due for worker A only, feed b for worker B only (a second later),
                # so each worker claims one; their answers are released together.
                store_a.feeds.enable_feed(url_a, start)
                store_a.feeds.enable_feed(url_b, start + timedelta(seconds=1))
                clocks[0].now, clocks[1].now = start, start + timedelta(seconds=1)
                reports = race(server, gate, n + 1, poller_a, poller_b)
                results = [r for report in reports for r in report.results]
                assert sorted(r.feed_id for r in results) == [feed_a.id, feed_b.id], results
                assert {r.outcome for r in results} <= {"new", "unchanged"}, results
                assert len([a for r in results for a in r.new_articles]) == 1, results
                with store_a.engine.connect() as conn:
                    shared = conn.scalar(
                        select(func.count()).where(ArticleRow.key.like("%news.example/s%"))
                    )
                assert shared == n
                assert store_a.articles.count_feed_entries(feed_a.id) == n + 1
                assert store_a.articles.count_feed_entries(feed_b.id) == n + 1
                for feed in (feed_a, feed_b):
                    stored = store_a.feeds.feed_by_id(feed.id)
                    assert stored is not None and stored.error_count == 0
    finally:
        for store, poller, http in ((store_a, poller_a, http_a), (store_b, poller_b, http_b)):
            poller.close()
            http.close()
            store.engine.dispose()


def race(
    server: LoopbackServer, gate: threading.Event, hits: int, a: Poller, b: Poller
) -> list[CycleReport]:
    """Start A, then B once A's request is held, then release both answers at once."""
    reports: list[CycleReport] = []
    threads = [threading.Thread(target=lambda p=p: reports.append(p.poll_due())) for p in (a, b)]
    threads[0].start()
    assert _wait(lambda: server.hits("/a.xml") == hits)
    threads[1].start()
    assert _wait(lambda: server.hits("/b.xml") == hits)
    gate.set()
    for thread in threads:
        thread.join(60)
    return reports


def _wait(predicate, timeout: float = 20.0) -> bool:  # noqa: ANN001
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return False
