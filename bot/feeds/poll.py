"""One poll cycle: claim due feeds → fetch → parse → decide new → store → alert.

`Poller.poll_feed` reads top to bottom as the whole story for one feed. One bad feed is one
failed result: it is counted, backed off and eventually disabled with a notice, and never stops
the cycle for the others.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.feeds.fetch import FetchPolicy, GuardedFetcher
from bot.feeds.identity import article_key, entry_identity
from bot.feeds.parse import FeedParseError
from bot.feeds.parse_pool import ParsePool
from bot.models import FeedEntry, FetchResult, ParsedFeed
from bot.store.repo import FeedInfo, NewEntry, PollSuccess, Store
from bot.store.schema import utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollConfig:
    interval_s: int = 600
    concurrency: int = 64
    batch_size: int = 500
    disable_after_failures: int = 8
    max_backoff_s: int = 6 * 3600
    backfill: int = 0
    lease_s: int = 300
    parse_workers: int = 0
    notice_channels: tuple[str, ...] = ()
    default_channels: tuple[str, ...] = ("console",)


@dataclass(frozen=True)
class FeedResult:
    feed_id: int
    url: str
    outcome: str  # "new", "unchanged", "not_modified", "failed", "disabled"
    new_articles: tuple[int, ...] = ()
    error: str | None = None


@dataclass
class CycleReport:
    results: list[FeedResult] = field(default_factory=list)

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.results if r.outcome == outcome)

    @property
    def new_articles(self) -> list[int]:
        return [a for r in self.results for a in r.new_articles]


def next_slot(url: str, interval_s: int, now: datetime) -> datetime:
    """The feed's next poll time: a stable slot within the interval derived from its URL, so
    10,000 feeds spread over the interval instead of all firing at once."""
    offset = int.from_bytes(hashlib.sha256(url.encode()).digest()[:8], "big") % interval_s
    epoch = now.timestamp()
    slot = ((epoch - offset) // interval_s + 1) * interval_s + offset
    return datetime.fromtimestamp(slot, UTC)


def backoff_until(error_count: int, interval_s: int, max_backoff_s: int, now: datetime) -> datetime:
    """Exponential backoff for a failing feed: interval × 2^(failures−1), capped."""
    delay = min(interval_s * 2 ** max(0, error_count - 1), max_backoff_s)
    return now + timedelta(seconds=delay)


def decide_new(entries: Sequence[FeedEntry]) -> list[NewEntry]:
    """Give every entry its per-feed identity and its cross-feed article key (pure)."""
    decided = []
    for entry in entries:
        identity = entry_identity(entry)
        decided.append(NewEntry(identity=identity, key=article_key(entry) or identity, entry=entry))
    return decided


class Poller:
    def __init__(
        self,
        store: Store,
        policy: FetchPolicy,
        config: PollConfig,
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.policy = policy
        self.config = config
        self.clock = clock
        self._parse_pool = ParsePool(config.parse_workers)

    def close(self) -> None:
        self._parse_pool.close()

    def poll_due(self) -> CycleReport:
        """Poll every feed that is due now (in batches), from a synchronous caller."""
        return asyncio.run(self.poll_due_async())

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
                try:
                    results[index] = await self._poll_feed(fetcher, feed, successes)
                except Exception:  # e.g. the store failed while recording a failure
                    log.exception(
                        "polling feed %s (%s) failed; its lease will expire and it "
                        "will be polled again",
                        feed.id,
                        feed.url,
                    )

        async with GuardedFetcher(self.policy) as fetcher:
            workers = [asyncio.create_task(worker(fetcher)) for _ in range(self.config.concurrency)]
            try:
                while True:
                    self._record(successes)
                    feeds = self.store.claim_due_feeds(
                        self.clock(), self.config.batch_size, self.config.lease_s
                    )
                    all_started.clear()
                    for feed in feeds:
                        queue.put_nowait((len(results), feed))
                        results.append(None)
                    if len(feeds) < self.config.batch_size:
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
        self.store.record_poll_successes(done)

    async def _poll_feed(
        self, fetcher: GuardedFetcher, feed: FeedInfo, successes: list[PollSuccess]
    ) -> FeedResult:
        try:
            fetched = await fetcher.fetch(
                feed.url, etag=feed.etag, last_modified=feed.last_modified
            )
            if fetched.status == "error":
                return self._failed(feed, fetched.error or "fetch failed")
            if fetched.status == "not_modified":
                return self._succeeded(successes, feed, fetched, "not_modified")
            parsed = await self._parse(fetched)
            if not parsed.entries:
                return self._failed(
                    feed,
                    "the feed answered but has no items (a dead feed "
                    "often looks like this); check the URL in a browser",
                )
            limit = None if feed.primed else self.config.backfill
            new_ids = self.store.store_entries(
                feed.id, decide_new(parsed.entries), alertable_limit=limit
            )
            return self._succeeded(
                successes, feed, fetched, "new" if new_ids else "unchanged", new_ids
            )
        except FeedParseError as exc:
            return self._failed(feed, str(exc))
        except Exception as exc:
            log.exception("polling feed %s (%s) crashed", feed.id, feed.url)
            return self._failed(feed, f"unexpected error: {exc!r}")

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
    ) -> FeedResult:
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
            )
        )
        return FeedResult(feed.id, feed.url, outcome, tuple(new_ids))

    def _failed(self, feed: FeedInfo, error: str) -> FeedResult:
        now = self.clock()
        count, disabled = self.store.record_poll_failure(
            feed.id,
            now=now,
            error=error,
            next_poll_at=backoff_until(
                feed.error_count + 1, feed.interval_s, self.config.max_backoff_s, now
            ),
            disable_after=self.config.disable_after_failures,
        )
        log.warning("feed %s (%s) failed (%d in a row): %s", feed.id, feed.url, count, error)
        if not disabled:
            return FeedResult(feed.id, feed.url, "failed", error=error)
        for destination in self._notice_destinations(feed):
            self.store.add_notice(
                destination,
                (
                    f"Feed disabled after {count} consecutive failures: {feed.name or feed.url} "
                    f"({feed.url}). Last error: {error}. Fix the URL or the site, then re-enable it "
                    f"with `watchdesk feeds enable {feed.url}`."
                ),
                now=now,
            )
        return FeedResult(feed.id, feed.url, "disabled", error=error)

    def _notice_destinations(self, feed: FeedInfo) -> tuple[str, ...]:
        return self.config.notice_channels or feed.channels or self.config.default_channels
