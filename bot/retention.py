"""The retention use case: `[retention]` settings applied to the store, for `watchdesk db prune`
and the scheduled prune job in `watchdesk run`.

The rules themselves (what may go, and what never goes) live in `bot.store.retention`; this
module turns settings into those rules, runs a plan or a prune, and words the report.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.settings import RetentionSettings
from bot.store.repo import Store
from bot.store.retention import PrunePlan, RetentionRules

log = logging.getLogger(__name__)

KIND_WORDS = {
    "intents": "sent or given-up notices and thread posts",
    "alerts": "alerts (with their claims, verdicts and messages)",
    "entries": "feed entries no feed lists any more",
    "articles": "articles that never alerted",
}


def rules(settings: RetentionSettings) -> RetentionRules:
    return RetentionRules(
        articles_days=settings.articles_days,
        alerts_days=settings.alerts_days,
        entries_grace_days=settings.entries_grace_days,
        outbox_days=settings.outbox_days,
    )


@dataclass(frozen=True)
class PruneReport:
    dry_run: bool
    counts: PrunePlan
    batches: int = 0
    seconds: float = 0.0
    stopped: bool = False

    def lines(self) -> list[str]:
        """One line per kind, then a total: what would go (dry run) or what went."""
        verb = "would delete" if self.dry_run else "deleted"
        width = max(len(str(n)) for _, n in self.counts.items())
        out = [f"{verb} {n:>{width}} {KIND_WORDS[kind]}" for kind, n in self.counts.items()]
        total = f"{verb} {self.counts.total()} row(s) in all"
        if not self.dry_run:
            total += f", in {self.batches} batch(es), {self.seconds:.2f}s"
        if self.stopped:
            total += " (stopped early: the rest goes next time)"
        out.append(total)
        return out


def prune(
    store: Store,
    settings: RetentionSettings,
    *,
    dry_run: bool,
    now: datetime | None = None,
    keep_going: Callable[[], bool] = lambda: True,
) -> PruneReport:
    """What retention would delete now (``dry_run``) or delete it, in `batch_size` batches
    (stopping between two when ``keep_going`` says so)."""
    now = now or store.clock()
    if dry_run:
        return PruneReport(True, store.retention.plan(now, rules(settings)))
    started = time.perf_counter()
    result = store.retention.prune(now, rules(settings), settings.batch_size, keep_going=keep_going)
    return PruneReport(
        False, result.deleted, result.batches, time.perf_counter() - started, result.stopped
    )


class PruneJob:
    """The scheduler's retention job: one prune, logged; an error is logged with its traceback
    and the job runs again at the next interval (it never stops the scheduler). `stop` (at
    shutdown) ends a running prune after its current batch, so stopping never waits for a
    long backlog."""

    def __init__(self, store: Store, settings: RetentionSettings):
        self.store = store
        self.settings = settings
        self.runs = 0
        self._stop = threading.Event()

    def stop(self) -> None:
        self._stop.set()

    def __call__(self) -> PruneReport | None:
        self.runs += 1
        try:
            report = prune(
                self.store,
                self.settings,
                dry_run=False,
                keep_going=lambda: not self._stop.is_set(),
            )
        except Exception:
            log.exception("retention: the prune failed; it runs again in the next interval")
            return None
        if report.counts.total():
            log.info("retention: %s", "; ".join(report.lines()))
        return report
