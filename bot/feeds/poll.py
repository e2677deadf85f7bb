"""One poll cycle: claim due feeds → fetch → parse → decide new → store → alert.

`Poller._poll_feed` reads top to bottom as the whole story for one feed. One bad feed is one
failed result: a feed failure (the fetch failed, the document is no feed we can read) is counted,
backed off with the one `RetryPolicy` and eventually disabled with a notice; a crash in our own
parsing or deciding code is a bug: logged with its traceback, the feed polled again at its next
slot, never counted against the feed nor reported as the feed's fault. Neither stops the cycle.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
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

    def claim_due_feeds(self, now: datetime, limit: int, lease_s: int) -> list[FeedInfo]: ...

    def record_poll_successes(self, successes: Sequence[PollSuccess]) -> None: ...

    def record_poll_failure(
        self, feed_id: int, *, now: datetime, error: str, next_poll_at: datetime, disable_after: int
    ) -> tuple[int, bool]: ...

    def record_poll_crash(self, feed_id: int, *, now: datetime, next_poll_at: datetime) -> None: ...


class PollArticles(Protocol):
    """What polling needs of the articles repository: the decider's input, and applying it."""

    def stored_state(self, feed_id: int, entries: Sequence[NewEntry]) -> StoredState: ...

    def apply_decision(self, feed_id: int, decision: Decision) -> list[int]: ...


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

    def poll_due(self) -> CycleReport:
        """Poll every feed that is due now (in batches), from a synchronous caller."""
        return self.http.run(self.poll_due_async())

    async def poll_due_async(self) -> CycleReport:
        """Claim due feeds a batch at a time and poll them with ``concurrency`` workers.

        Batches overlap: the next one is claimed as soon as every feed of the current one has
        started, so one slow parse at the end of a batch never leaves the other workers idle.
        Successes are written once per batch claimed, in one transaction.
        """
        results: list[FeedResult | None] = []
        successes: list[PollSuccess] = []
        queue: asyncio.Queue[tuple[int, FeedInfo] | None] = asyncio.Queue()
        all_started = asyncio.Event()

        async def worker(fetcher: GuardedFetcher) -> None:
            while (item := await queue.get()) is not None:
                if queue.empty():
                    all_started.set()
                index, feed = item
                timings: dict[str, float] = {}
                try:
                    result = await self._poll_feed(fetcher, feed, successes, timings)
                    results[index] = replace(result, **timings)
                except Exception:  # e.g. the store failed while recording a failure
                    log.exception(
                        "polling feed %s (%s) failed; its lease will expire and it "
                        "will be polled again",
                        feed.id,
                        feed.url,
                        extra={"feed_id": feed.id},
                    )

        async with self.http.fetcher() as fetcher:
            workers = [
                asyncio.create_task(worker(fetcher)) for _ in range(self.settings.concurrency)
            ]
            try:
                while True:
                    self._record(successes)
                    feeds = self.store.feeds.claim_due_feeds(
                        self.clock(), self.settings.batch_size, self.settings.lease_s
                    )
                    all_started.clear()
                    for feed in feeds:
                        queue.put_nowait((len(results), feed))
                        results.append(None)
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
                self._record(successes)
        return CycleReport([r for r in results if r is not None])

    def _record(self, successes: list[PollSuccess]) -> None:
        """Write the successes gathered so far (the list is emptied first: a failed write
        leaves those feeds leased, and they are polled again once the lease runs out)."""
        done = successes[:]
        successes.clear()
        self.store.feeds.record_poll_successes(done)

    async def _poll_feed(
        self,
        fetcher: GuardedFetcher,
        feed: FeedInfo,
        successes: list[PollSuccess],
        timings: dict[str, float],
    ) -> FeedResult:
        """The whole story of one feed's poll; ``timings`` gets fetch_s and parse_s."""
        started = time.perf_counter()
        fetched = await fetcher.fetch(feed.url, etag=feed.etag, last_modified=feed.last_modified)
        timings["fetch_s"] = time.perf_counter() - started
        if fetched.status == "error":
            return self._failed(feed, RemoteError(fetched.error or "fetch failed"))
        if fetched.status == "not_modified":
            return self._succeeded(successes, feed, fetched, "not_modified")
        digest = body_hash(fetched.body or b"")
        if feed.primed and digest == feed.body_hash:  # a server that ignores conditional GET
            return self._succeeded(successes, feed, fetched, "same_body", body=digest)
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
            new_ids = record_entries(
                self.store.articles,
                feed.id,
                identify(parsed.entries),
                primed=feed.primed,
                backfill=self.settings.backfill,
            )
        except Exception:
            return self._crashed(feed, "deciding what is new in")
        return self._succeeded(
            successes, feed, fetched, "new" if new_ids else "unchanged", new_ids, body=digest
        )

    async def _parse(self, fetched: FetchResult) -> ParsedFeed:
        # The subscribed URL, not the redirect target: feedparser resolves relative guids against
        # it, and a moved redirect target must not give old entries new identities.
        return await self._parse_pool.parse(fetched.body or b"", fetched.headers, fetched.url)

    def _succeeded(
        self,
        successes: list[PollSuccess],
        feed: FeedInfo,
        fetched: FetchResult,
        outcome: str,
        new_ids: Sequence[int] = (),
        *,
        body: str | None = None,
    ) -> FeedResult:
        """Remember what the feed answered; ``body`` is the hash of a body that was parsed and
        stored (a 304 keeps the one from before)."""
        now = self.clock()
        ok = fetched.status == "ok"
        successes.append(
            PollSuccess(
                feed.id,
                now=now,
                next_poll_at=next_slot(feed.url, feed.interval_s, now),
                etag=fetched.etag if ok else feed.etag,
                last_modified=fetched.last_modified if ok else feed.last_modified,
                primed=True if ok else feed.primed,
                body_hash=body if body is not None else feed.body_hash,
            )
        )
        return FeedResult(feed.id, feed.url, outcome, tuple(new_ids))

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
