"""One poll cycle: claim due feeds in batches → fetch → parse → (per batch) decide new → store
in one transaction → hand the batch to the caller (who alerts) while later batches poll.

A cycle is the feeds due when it started, once each, so it always ends; `stop` ends it at a
batch boundary. `Poller._poll_feed` reads top to bottom as the whole story for one feed. One bad feed is one
failed result: a feed failure (the fetch failed, the document is no feed we can read) is counted,
backed off with the one `RetryPolicy` and eventually disabled with a notice; a crash in our own
parsing or deciding code is a bug: logged with its traceback, the feed polled again at its next
slot, never counted against the feed nor reported as the feed's fault. Neither stops the cycle.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from bot.errors import RemoteError
from bot.feeds.client import HttpClient
from bot.feeds.decide import decide, identify
from bot.feeds.fetch import GuardedFetcher
from bot.feeds.parse import FeedParseError
from bot.feeds.parse_pool import ParsePool
from bot.models import (
    Decision,
    FeedInfo,
    FetchResult,
    NewEntry,
    ParsedFeed,
    PollSuccess,
    StoredState,
)
from bot.retry import RetryPolicy
from bot.settings import PollSettings

log = logging.getLogger(__name__)


class PollFeeds(Protocol):
    """What polling needs of the feeds repository."""

    def claim_due_feeds(
        self, now: datetime, limit: int, lease_s: int, *, due_by: datetime | None = None
    ) -> list[FeedInfo]: ...

    def release_feeds(self, feed_ids: Sequence[int]) -> None: ...

    def record_poll_successes(self, successes: Sequence[PollSuccess]) -> None: ...

    def record_poll_failure(
        self, feed_id: int, *, now: datetime, error: str, next_poll_at: datetime, disable_after: int
    ) -> tuple[int, bool]: ...

    def record_poll_crash(self, feed_id: int, *, now: datetime, next_poll_at: datetime) -> None: ...


class PollArticles(Protocol):
    """What polling needs of the articles repository: the decider's input, and applying it."""

    def stored_state(self, feed_id: int, entries: Sequence[NewEntry]) -> StoredState: ...

    def stored_states(
        self, polls: Sequence[tuple[int, Sequence[NewEntry]]]
    ) -> dict[int, StoredState]: ...

    def apply_decision(self, feed_id: int, decision: Decision) -> list[int]: ...

    def apply_decisions(
        self, decisions: Sequence[tuple[int, Decision]], successes: Sequence[PollSuccess] = ()
    ) -> dict[int, list[int]]: ...


class NoticeQueue(Protocol):
    def add_notice(self, destination: str, text: str, now: datetime | None = None) -> None: ...


class PollStore(Protocol):
    feeds: PollFeeds
    articles: PollArticles
    outbox: NoticeQueue


def record_entries(
    articles: PollArticles,
    feed_id: int,
    entries: Sequence[NewEntry],
    *,
    primed: bool,
    backfill: int,
) -> list[int]:
    """Decide what these identified entries add to ``feed_id`` and store it; returns the ids of
    new articles that may alert."""
    decision = decide(
        entries, articles.stored_state(feed_id, entries), primed=primed, backfill=backfill
    )
    return articles.apply_decision(feed_id, decision)


@dataclass(frozen=True)
class FeedResult:
    feed_id: int
    url: str
    # "new", "unchanged", "not_modified", "same_body" (200 with the bytes parsed last time),
    # "failed", "disabled", "crashed"
    outcome: str
    new_articles: tuple[int, ...] = ()
    error: str | None = None
    fetch_s: float | None = None  # time fetching (None: not fetched), for the metrics
    parse_s: float | None = None  # time parsing (None: not parsed: 304, same body, fetch failed)


@dataclass
class CycleReport:
    results: list[FeedResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def new_articles(self) -> list[int]:
        return [a for r in self.results for a in r.new_articles]


BatchHandler = Callable[[CycleReport], object]
"""Called with each stored batch's report while later batches are polled (in a thread of the
poller's, one batch at a time): `Watchdesk.run_cycle` analyses, alerts and wakes delivery there.
"""


_STORED_OUTCOMES = frozenset({"not_modified", "same_body"})  # a success waiting to be written
STORE_PART_CHARS = 1_000_000
"""Entry text (titles, summaries, contents) a batch may hold before what it has is stored: a
batch of 500 first polls of full-content feeds would otherwise hold every entry at once."""


@dataclass(frozen=True)
class _Parsed:
    """A feed fetched and parsed: its entries wait for the batch store, its success with it."""

    feed: FeedInfo
    entries: list[NewEntry]
    success: PollSuccess
    fetch_s: float | None = None
    parse_s: float | None = None

    @property
    def chars(self) -> int:
        return sum(
            len(e.entry.title) + len(e.entry.summary) + len(e.entry.content) for e in self.entries
        )


@dataclass(frozen=True)
class _Succeeded:
    """A feed that answered with nothing to parse (304, the same body)."""

    result: FeedResult
    success: PollSuccess


@dataclass
class _Part:
    """What a batch polled since its last store: stored together, in one transaction."""

    indices: list[int] = field(default_factory=list)
    parsed: list[tuple[int, _Parsed]] = field(default_factory=list)
    successes: list[PollSuccess] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    chars: int = 0


class _Batch:
    """The feeds of one claim and what became of each, in claim order. Normally stored in one
    transaction when its last feed is done; a batch whose entries outgrow `STORE_PART_CHARS`
    is stored in parts as it goes, to bound the memory it holds."""

    def __init__(self, feeds: list[FeedInfo]) -> None:
        self.feeds = feeds
        self.results: list[FeedResult | None] = [None] * len(feeds)
        self.part = _Part()
        self.released = 0
        self._pending = len(feeds)
        self.done = asyncio.Event()

    def take(self, index: int, outcome: FeedResult | _Parsed | _Succeeded) -> None:
        self.part.indices.append(index)
        if isinstance(outcome, _Parsed):
            self.part.parsed.append((index, outcome))
            self.part.chars += outcome.chars
        elif isinstance(outcome, _Succeeded):
            self.results[index] = outcome.result
            self.part.successes.append(outcome.success)
        else:
            self.results[index] = outcome

    def release(self, feed_id: int) -> None:
        self.part.released.append(feed_id)
        self.released += 1

    @property
    def full(self) -> bool:
        return self.part.chars >= STORE_PART_CHARS

    def cut(self) -> _Part:
        part, self.part = self.part, _Part()
        return part

    def finish_one(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self.done.set()


class _Handoff:
    """Runs the batch handler in one thread of its own, one report after another, so analysis
    and alerting never block the event loop that fetches the next batches."""

    def __init__(self, handler: BatchHandler | None) -> None:
        self.handler = handler
        self._executor: ThreadPoolExecutor | None = None
        self._pending: list[asyncio.Future[None]] = []

    def submit(self, report: CycleReport) -> None:
        if self.handler is None:
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="watchdesk-batch")
        loop = asyncio.get_running_loop()
        self._pending.append(loop.run_in_executor(self._executor, self._run, report))

    def _run(self, report: CycleReport) -> None:
        assert self.handler is not None
        try:
            self.handler(report)
        except Exception:  # its articles stay waiting for analysis: the next cycle retries
            log.exception("handling a polled batch failed; its articles wait for the next cycle")

    async def drain(self) -> None:
        if self._pending:
            await asyncio.gather(*self._pending)
        if self._executor is not None:
            self._executor.shutdown(wait=False)


def body_hash(body: bytes) -> str:
    """The identity of a response body: the same bytes are the same feed, already parsed."""
    return hashlib.sha256(body).hexdigest()


def next_slot(url: str, interval_s: int, now: datetime) -> datetime:
    """The feed's next poll time: a stable slot within the interval derived from its URL, so
    10,000 feeds spread over the interval instead of all firing at once."""
    offset = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big") % interval_s
    epoch = now.timestamp()
    slot = ((epoch - offset) // interval_s + 1) * interval_s + offset
    return datetime.fromtimestamp(slot, UTC)


class Poller:
    """Polls due feeds. ``settings`` is the `[poll]` section; notices about disabled feeds go to
    ``notice_channels``, else the feed's own channels, else ``default_channels``."""

    def __init__(
        self,
        store: PollStore,
        http: HttpClient,
        settings: PollSettings,
        *,
        notice_channels: Sequence[str] = (),
        default_channels: Sequence[str] = ("console",),
        clock: Callable[[], datetime] | None = None,
    ):
        self.store = store
        self.http = http
        self.settings = settings
        self.notice_channels = tuple(notice_channels)
        self.default_channels = tuple(default_channels)
        self.clock = clock or (lambda: datetime.now(UTC))
        self._parse_pool = ParsePool(settings.parse_workers)

    def retry_policy(self, feed: FeedInfo) -> RetryPolicy:
        """The one backoff curve, in a feed's units: from its interval up to ``max_backoff_s``,
        disabled after ``disable_after_failures`` failures in a row."""
        return RetryPolicy(
            base_s=feed.interval_s,
            max_s=max(self.settings.max_backoff_s, feed.interval_s),
            max_attempts=self.settings.disable_after_failures,
        )

    def close(self) -> None:
        self._parse_pool.close()

    def poll_due(
        self, on_batch: BatchHandler | None = None, stop: threading.Event | None = None
    ) -> CycleReport:
        """One cycle (see `poll_due_async`), from a synchronous caller."""
        return self.http.run(self.poll_due_async(on_batch, stop))

    async def poll_due_async(
        self, on_batch: BatchHandler | None = None, stop: threading.Event | None = None
    ) -> CycleReport:
        """One cycle: the feeds due when it started, once each, claimed a batch at a time and
        polled with ``concurrency`` workers; returns every polled feed's result.

        A feed that falls due while the cycle runs (or is polled in it and comes due again)
        waits for the next cycle, so a cycle always ends, however long it runs; one that ran
        past the interval says so at WARNING. Batches overlap: the next is claimed as soon as
        every feed of the current one has started, so one slow parse never idles the other
        workers. Each batch is stored in one transaction as soon as its last feed is done (in
        parts as it goes when its entries are large, see `STORE_PART_CHARS`) and its report
        handed to ``on_batch`` in a thread of its own, one after another, while later batches
        are polled. Once ``stop`` is set no batch is claimed, claimed feeds not yet started are
        given back still due, and the cycle returns when the ones in flight are stored and
        handed on.
        """
        cycle_start = self.clock()
        queue: asyncio.Queue[tuple[_Batch, int] | None] = asyncio.Queue()
        all_started = asyncio.Event()
        batches: list[_Batch] = []
        finishing: list[asyncio.Task[None]] = []
        handler = _Handoff(on_batch)
        # One thread stores the parts, one after another: memory one thread allocates is
        # kept in its own malloc arena, and a pool of threads each doing big inserts would
        # each keep one; SQLite takes one writer at a time anyway.
        storer = ThreadPoolExecutor(1, thread_name_prefix="watchdesk-store")

        async def worker(fetcher: GuardedFetcher) -> None:
            while (item := await queue.get()) is not None:
                if queue.empty():
                    all_started.set()
                batch, index = item
                feed = batch.feeds[index]
                try:
                    if stop is not None and stop.is_set():
                        batch.release(feed.id)
                    else:
                        batch.take(index, await self._poll_feed(fetcher, feed))
                        if batch.full:
                            store = self._store_part(batch, batch.cut(), storer, handler)
                            finishing.append(asyncio.create_task(store))
                except Exception:  # e.g. the store failed while recording a failure
                    log.exception(
                        "polling feed %s (%s) failed; its lease will expire and it "
                        "will be polled again",
                        feed.id,
                        feed.url,
                        extra={"feed_id": feed.id},
                    )
                finally:
                    batch.finish_one()

        async with self.http.fetcher() as fetcher:
            workers = [
                asyncio.create_task(worker(fetcher)) for _ in range(self.settings.concurrency)
            ]
            try:
                while not (stop is not None and stop.is_set()):
                    feeds = self.store.feeds.claim_due_feeds(
                        self.clock(),
                        self.settings.batch_size,
                        self.settings.lease_s,
                        due_by=cycle_start,
                    )
                    if not feeds:
                        break
                    batch = _Batch(feeds)
                    batches.append(batch)
                    all_started.clear()
                    for index in range(len(feeds)):
                        queue.put_nowait((batch, index))
                    finishing.append(asyncio.create_task(self._finish(batch, storer, handler)))
                    if len(feeds) < self.settings.batch_size:
                        break
                    await all_started.wait()
                for _ in workers:
                    queue.put_nowait(None)
                await asyncio.gather(*workers)
            finally:
                for task in workers:
                    task.cancel()
                await asyncio.gather(*workers, return_exceptions=True)
                for batch in batches:  # after a failure: store what was polled
                    batch.done.set()
                await asyncio.gather(*finishing, return_exceptions=True)
                await handler.drain()
                storer.shutdown(wait=False)
        report = CycleReport([r for batch in batches for r in batch.results if r is not None])
        self._log_cycle(cycle_start, report, batches)
        return report

    async def _finish(self, batch: _Batch, storer: ThreadPoolExecutor, handoff: _Handoff) -> None:
        """Once every feed of ``batch`` is done, store what it has not stored yet."""
        await batch.done.wait()
        await self._store_part(batch, batch.cut(), storer, handoff)

    async def _store_part(
        self, batch: _Batch, part: _Part, storer: ThreadPoolExecutor, handoff: _Handoff
    ) -> None:
        """Store ``part`` (off the event loop, so fetching goes on), then hand its report on."""
        if not part.indices and not part.released:
            return
        try:
            await asyncio.get_running_loop().run_in_executor(storer, self._store, batch, part)
        except Exception:
            log.exception(
                "storing %d polled feed(s) failed; their leases will expire and they will be "
                "polled again",
                len(part.indices),
            )
            unstored = {i for i, _ in part.parsed}
            for index in part.indices:
                result = batch.results[index]
                if index in unstored or (result and result.outcome in _STORED_OUTCOMES):
                    batch.results[index] = None
            return
        handoff.submit(CycleReport([r for i in part.indices if (r := batch.results[i])]))

    def _store(self, batch: _Batch, part: _Part) -> None:
        """Decide what each parsed feed adds and store the part (new articles, seen entries,
        every success) in one transaction; a crash deciding one feed is that feed's crash."""
        if part.released:
            self.store.feeds.release_feeds(part.released)
        states = (
            self.store.articles.stored_states([(p.feed.id, p.entries) for _, p in part.parsed])
            if part.parsed
            else {}
        )
        decided: list[tuple[int, _Parsed, Decision]] = []
        for index, item in part.parsed:
            try:
                decision = decide(
                    item.entries,
                    states[item.feed.id],
                    primed=item.feed.primed,
                    backfill=self.settings.backfill,
                )
            except Exception:
                batch.results[index] = self._crashed(item.feed, "deciding what is new in")
                continue
            decided.append((index, item, decision))
        try:
            added = self.store.articles.apply_decisions(
                [(item.feed.id, decision) for _, item, decision in decided],
                [*part.successes, *(item.success for _, item, _ in decided)],
            )
        except Exception:
            log.warning(
                "storing %d polled feed(s) in one transaction failed; storing them one by one",
                len(part.indices),
                exc_info=True,
            )
            added = self._store_one_by_one(batch, part, decided)
        for index, item, _ in decided:
            if batch.results[index] is not None:  # crashed while stored on its own
                continue
            new_ids = added.get(item.feed.id, [])
            batch.results[index] = FeedResult(
                item.feed.id,
                item.feed.url,
                "new" if new_ids else "unchanged",
                tuple(new_ids),
                fetch_s=item.fetch_s,
                parse_s=item.parse_s,
            )

    def _store_one_by_one(
        self, batch: _Batch, part: _Part, decided: list[tuple[int, _Parsed, Decision]]
    ) -> dict[int, list[int]]:
        """The part without the one transaction: a feed whose entries the store refuses (a
        bug, or a value no column holds) is that feed's crash, not its batch's."""
        self.store.feeds.record_poll_successes(part.successes)
        added: dict[int, list[int]] = {}
        for index, item, decision in decided:
            try:
                added.update(
                    self.store.articles.apply_decisions([(item.feed.id, decision)], [item.success])
                )
            except Exception:
                batch.results[index] = self._crashed(item.feed, "storing what is new in")
        return added

    def _log_cycle(self, cycle_start: datetime, report: CycleReport, batches: list[_Batch]) -> None:
        released = sum(b.released for b in batches)
        if released:
            log.info("stopping: %d claimed feed(s) given back unpolled, still due", released)
        took = (self.clock() - cycle_start).total_seconds()
        interval = self.settings.interval_s
        if took > interval:
            log.warning(
                "the poll cycle ran long: %.1f s for %d feed(s), %.1f s over the %d s interval; "
                "feeds that fell due meanwhile are polled in the next cycle (more parse workers, "
                "concurrency or another worker would shorten it)",
                took,
                len(report.results),
                took - interval,
                interval,
            )

    async def _poll_feed(self, fetcher: GuardedFetcher, feed: FeedInfo) -> FeedResult | _Parsed:
        """Fetch and parse one feed: its final result, or its entries for the batch store; with
        the time each step took (``fetch_s``, ``parse_s``), for the metrics."""
        timings: dict[str, float] = {}
        outcome = await self._fetch_and_parse(fetcher, feed, timings)
        if isinstance(outcome, _Succeeded):
            return replace(outcome, result=replace(outcome.result, **timings))
        return replace(outcome, **timings)

    async def _fetch_and_parse(
        self, fetcher: GuardedFetcher, feed: FeedInfo, timings: dict[str, float]
    ) -> FeedResult | _Parsed:
        started = time.perf_counter()
        fetched = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        timings["fetch_s"] = time.perf_counter() - started
        if fetched.status == "error":
            return self._failed(feed, RemoteError(fetched.error or "fetch failed"))
        if fetched.status == "not_modified":
            return self._succeeded(feed, fetched, "not_modified")
        digest = body_hash(fetched.body or b"")
        if feed.primed and digest == feed.body_hash:  # a server that ignores conditional GET
            return self._succeeded(feed, fetched, "same_body", body=digest)
        started = time.perf_counter()
        try:
            parsed = await self._parse(fetched)
        except (FeedParseError, RemoteError) as exc:  # the document is no feed we can read
            return self._failed(
                feed, exc if isinstance(exc, RemoteError) else RemoteError(str(exc))
            )
        except Exception:
            return self._crashed(feed, "parsing")
        finally:
            timings["parse_s"] = time.perf_counter() - started
        if not parsed.entries:
            return self._failed(
                feed,
                RemoteError(
                    "the feed answered but has no items (a dead feed often looks like this); "
                    "check the URL in a browser"
                ),
            )
        try:
            entries = identify(parsed.entries)
        except Exception:
            return self._crashed(feed, "identifying the entries of")
        return _Parsed(feed, entries, self._success(feed, fetched, body=digest))

    async def _parse(self, fetched: FetchResult) -> ParsedFeed:
        # The subscribed URL, not the redirect target: feedparser resolves relative guids against
        # it, and a moved redirect target must not give old entries new identities.
        return await self._parse_pool.parse(fetched.body or b"", fetched.headers, fetched.url)

    def _succeeded(
        self, feed: FeedInfo, fetched: FetchResult, outcome: str, *, body: str | None = None
    ) -> _Succeeded:
        return _Succeeded(
            FeedResult(feed.id, feed.url, outcome), self._success(feed, fetched, body=body)
        )

    def _success(
        self, feed: FeedInfo, fetched: FetchResult, *, body: str | None = None
    ) -> PollSuccess:
        """What to remember of a feed that answered; ``body`` is the hash of a body that was
        parsed and stored (a 304 keeps the one from before)."""
        now = self.clock()
        ok = fetched.status == "ok"
        return PollSuccess(
            feed.id,
            now=now,
            next_poll_at=next_slot(feed.url, feed.interval_s, now),
            etag=fetched.etag if ok else feed.etag,
            last_modified=fetched.last_modified if ok else feed.last_modified,
            primed=True if ok else feed.primed,
            body_hash=body if body is not None else feed.body_hash,
        )

    def _failed(self, feed: FeedInfo, error: RemoteError) -> FeedResult:
        """A feed failure: counted, backed off, and after the policy's bound disabled with a
        notice saying how to fix it."""
        now = self.clock()
        policy = self.retry_policy(feed)
        attempt = feed.error_count + 1
        count, disabled = self.store.feeds.record_poll_failure(
            feed.id,
            now=now,
            error=str(error),
            next_poll_at=now + timedelta(seconds=policy.delay_s(attempt, error.retry_after)),
            disable_after=1 if error.permanent else policy.max_attempts,
        )
        log.warning(
            "feed %s (%s) failed (%d in a row): %s",
            feed.id,
            feed.url,
            count,
            error,
            extra={"feed_id": feed.id},
        )
        if not disabled:
            return FeedResult(feed.id, feed.url, "failed", error=str(error))
        for destination in self._notice_destinations(feed):
            self.store.outbox.add_notice(
                destination,
                (
                    f"Feed disabled after {count} consecutive failures: {feed.name or feed.url} "
                    f"({feed.url}). Last error: {error}. Fix the URL or the site, then re-enable it "
                    f"with `watchdesk feeds enable {feed.url}`."
                ),
                now=now,
            )
        return FeedResult(feed.id, feed.url, "disabled", error=str(error))

    def _crashed(self, feed: FeedInfo, stage: str) -> FeedResult:
        """A bug in our own code on this feed: logged once with its traceback (call from an
        ``except`` block); the feed keeps its failure count and is polled at its next slot."""
        log.exception(
            "%s feed %s (%s) crashed: a bug, not the feed's fault",
            stage,
            feed.id,
            feed.url,
            extra={"feed_id": feed.id},
        )
        now = self.clock()
        self.store.feeds.record_poll_crash(
            feed.id, now=now, next_poll_at=next_slot(feed.url, feed.interval_s, now)
        )
        return FeedResult(feed.id, feed.url, "crashed", error="internal error (see the log)")

    def _notice_destinations(self, feed: FeedInfo) -> tuple[str, ...]:
        return self.notice_channels or feed.channels or self.default_channels
