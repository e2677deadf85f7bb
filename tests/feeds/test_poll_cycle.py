"""A cycle's bounds: the feeds due when it started, once each; a long cycle ends and says so;
a stop ends it at a batch boundary with every unpolled feed still due."""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from bot.feeds import poll
from bot.feeds.client import HttpClient
from bot.feeds.poll import CycleReport, Poller
from bot.settings import FetchSettings, PollSettings
from bot.store.repo import Store
from tests.feeds.test_poll import RSS, T0, rss
from tests.loopback import LoopbackServer

WEEK_S = 7 * 24 * 3600
HTTP = HttpClient(FetchSettings(timeout_s=3, allow_private_hosts=("127.0.0.1",)))


@pytest.fixture(scope="module", autouse=True)
def close_http() -> Iterator[None]:
    yield
    HTTP.close()


class RunningClock:
    """Each reading is ``step`` later than the last: a cycle that takes a long time."""

    def __init__(self, start: datetime = T0, step_s: float = 10.0) -> None:
        self.now = start - timedelta(seconds=step_s)
        self.step = timedelta(seconds=step_s)

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


@pytest.fixture
def server() -> LoopbackServer:
    with LoopbackServer() as srv:
        yield srv


def add_feeds(store: Store, server: LoopbackServer, count: int, **feed: object) -> list[str]:
    urls = []
    for i in range(count):
        url = server.add(
            f"/f{i}.xml",
            rss([(f"i{i}", f"Item {i}", f"https://news.example/{i}")]),
            headers=[("Content-Type", RSS)],
        )
        store.feeds.add_feed(url, **{"interval_s": 60, "now": T0, **feed})  # type: ignore[arg-type]
        urls.append(url)
    return urls


def poller(store: Store, clock: object, **config: object) -> Poller:
    settings = PollSettings(**{"interval_s": 60, "parse_workers": 0, "batch_size": 1, **config})
    return Poller(store, HTTP, settings, clock=clock)  # type: ignore[arg-type]


@pytest.mark.timeout(60)
def test_a_cycle_polls_the_feeds_due_at_its_start_once_each(
    store: Store, server: LoopbackServer
) -> None:
    """The clock runs 10 s a reading and the feeds' interval is 60 s: a cycle claiming by
    "now" would keep finding feeds it already polled due again (and never end), and would
    take the feed that falls due mid-cycle. Bounded by its start, it polls the three due
    feeds once each and leaves the late one for the next cycle."""
    due = add_feeds(store, server, 3)
    late = server.add(
        "/late.xml", rss([("l", "Late", "https://news.example/l")]), headers=[("Content-Type", RSS)]
    )
    store.feeds.add_feed(late, interval_s=60, now=T0 + timedelta(seconds=15))
    clock = RunningClock()
    report = poller(store, clock).poll_due()
    assert sorted(r.url for r in report.results) == sorted(due)
    assert [server.hits(f"/f{i}.xml") for i in range(3)] == [1, 1, 1]
    assert server.hits("/late.xml") == 0

    following = poller(store, clock).poll_due()  # starts from what is due now
    assert late in [r.url for r in following.results]
    assert server.hits("/late.xml") == 1


@pytest.mark.timeout(60)
def test_a_cycle_longer_than_the_interval_ends_and_says_by_how_much(
    store: Store, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    add_feeds(store, server, 4)
    with caplog.at_level(logging.WARNING, logger="bot.feeds.poll"):
        report = poller(store, RunningClock(step_s=30)).poll_due()
    assert len(report.results) == 4
    [warning] = [r for r in caplog.records if "ran long" in r.getMessage()]
    assert warning.levelno == logging.WARNING
    took, over = warning.args[0], warning.args[2]  # type: ignore[index]
    assert took > 60 and over == pytest.approx(took - 60)


def test_a_cycle_within_the_interval_does_not_warn(
    store: Store, server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    add_feeds(store, server, 2)
    with caplog.at_level(logging.WARNING, logger="bot.feeds.poll"):
        poller(store, RunningClock(step_s=1)).poll_due()
    assert not [r for r in caplog.records if "ran long" in r.getMessage()]


@pytest.mark.timeout(60)
def test_each_batch_is_handed_on_as_it_is_stored(store: Store, server: LoopbackServer) -> None:
    """The handler sees every batch once, in a thread other than the event loop's, with its
    feeds already stored."""
    urls = add_feeds(store, server, 5)
    seen: list[tuple[list[str], bool, str]] = []

    def on_batch(batch: CycleReport) -> None:
        stored = all((f := store.feeds.get_feed(r.url)) and f.primed for r in batch.results)
        seen.append(([r.url for r in batch.results], stored, threading.current_thread().name))

    report = poller(store, RunningClock(step_s=1), batch_size=2).poll_due(on_batch)
    assert sorted(u for urls_, _, _ in seen for u in urls_) == sorted(urls)
    assert [len(u) for u, _, _ in seen] == [2, 2, 1]
    assert all(stored for _, stored, _ in seen)
    assert all(name.startswith("watchdesk-batch") for _, _, name in seen)
    assert len(report.results) == 5


@pytest.mark.timeout(60)
def test_a_stop_ends_the_cycle_at_a_batch_boundary_and_loses_nothing(
    store: Store, server: LoopbackServer
) -> None:
    """Stop is asked once the first batch is stored: no batch is claimed after that, a
    claimed feed not yet started is given back, and every feed not polled is still due, so
    the next cycle polls exactly those."""
    urls = add_feeds(store, server, 8, interval_s=WEEK_S)  # no slot comes round again
    stop = threading.Event()
    clock = RunningClock(step_s=1)
    first = poller(store, clock, batch_size=2, concurrency=1).poll_due(
        lambda _batch: stop.set(), stop
    )
    polled = {r.url for r in first.results}
    assert 2 <= len(polled) <= 4  # the first batch, and at most the one claimed behind it
    for url in urls:
        feed = store.feeds.get_feed(url)
        assert feed is not None
        if url in polled:
            assert feed.primed and feed.next_poll_at > T0
        else:
            assert not feed.primed and feed.next_poll_at == T0
            assert feed.error_count == 0
    rest = poller(store, clock, batch_size=2, concurrency=1).poll_due()
    assert {r.url for r in rest.results} == set(urls) - polled
    assert Counter(r.path for r in server.requests()) == {f"/f{i}.xml": 1 for i in range(8)}
    assert {r.outcome for r in [*first.results, *rest.results]} == {"unchanged"}


@pytest.mark.timeout(60)
def test_a_batch_with_large_entries_is_stored_and_handed_on_in_parts(
    store: Store, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch holds at most `STORE_PART_CHARS` of entry text before storing what it has, so
    500 first polls of full-content feeds are never all in memory at once."""
    monkeypatch.setattr(poll, "STORE_PART_CHARS", 1)  # every parsed feed fills a part
    urls = add_feeds(store, server, 3)
    parts: list[list[str]] = []
    report = poller(store, RunningClock(step_s=1), batch_size=3, concurrency=1).poll_due(
        lambda part: parts.append([r.url for r in part.results])
    )
    assert [len(p) for p in parts] == [1, 1, 1]
    assert sorted(u for p in parts for u in p) == sorted(urls)
    assert sorted(r.url for r in report.results) == sorted(urls)
    assert all((f := store.feeds.get_feed(u)) and f.primed for u in urls)
