"""Retention: what may be forgotten, counted (`plan`) or deleted in small batches (`prune`).

The rules, each a SQL predicate below so that `plan` counts exactly what `prune` deletes:

- **entries** (a feed's seen set, which dedupe relies on): forgotten once the feed no longer
  lists the entry (its `last_listed_at` is before the feed's `entries_listed_since`) and the
  feed last listed it more than ``entries_grace_days`` ago. An entry that drops out of a feed and
  comes back within the grace is still seen: it never alerts again. A feed that answers 304 or
  the same body keeps its entries however long, since nothing moves its `entries_listed_since`.
- **articles** that never alerted: deleted ``articles_days`` after they were stored, once none
  of their entries is kept (no feed still lists them nor did within the grace), and never while
  they wait for analysis.
- **alerts** (``alerts_days`` > 0; 0 keeps them for ever): deleted with their claims, verdicts,
  vectors and messages once older than that, and never while one of their messages is still to
  be sent. Their article then counts as never alerted.
- **intents**: sent or given-up notices, digests and thread posts older than ``outbox_days``.
  An alert's post and edit rows stay as long as the alert (they map thread replies to it and
  carry the message ids); keyed intents stay (the key is what keeps them at most once).

`prune` deletes in the order intents, alerts, entries, articles, each in transactions of at
most ``batch_size`` rows of that kind, so a poll's transaction never waits on a long delete.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, false, func, not_, select
from sqlalchemy.orm import Session, aliased

from bot.store.articles import MAX_ANALYSIS_FAILURES
from bot.store.base import Repository
from bot.store.schema import (
    AlertRow,
    ArticleRow,
    FeedEntryRow,
    FeedRow,
    OutboxRow,
)

FINISHED = ("sent", "failed")
PRUNABLE_INTENTS = ("notice", "digest", "thread_post")


@dataclass(frozen=True)
class RetentionRules:
    """The `[retention]` settings the store needs (days; ``alerts_days`` 0 = for ever)."""

    articles_days: int
    alerts_days: int
    entries_grace_days: int
    outbox_days: int


@dataclass(frozen=True)
class PrunePlan:
    """Rows per kind: what would go (`plan`) or what went (`prune`)."""

    intents: int = 0
    alerts: int = 0
    entries: int = 0
    articles: int = 0

    def total(self) -> int:
        return self.intents + self.alerts + self.entries + self.articles

    def items(self) -> list[tuple[str, int]]:
        return [(f.name, getattr(self, f.name)) for f in fields(self)]


@dataclass(frozen=True)
class PruneResult:
    deleted: PrunePlan
    batches: int  # transactions that deleted something
    largest_batch: int  # most rows of one kind deleted in one transaction
    stopped: bool = False  # asked to stop between batches; the rest waits for the next run


class _Rules:
    """The four predicates for one ``now``."""

    def __init__(self, rules: RetentionRules, now: datetime):
        self.rules = rules
        self.article_cutoff = now - timedelta(days=rules.articles_days)
        self.alert_cutoff = now - timedelta(days=rules.alerts_days) if rules.alerts_days else None
        self.entry_cutoff = now - timedelta(days=rules.entries_grace_days)
        self.intent_cutoff = now - timedelta(days=rules.outbox_days)

    def intent(self) -> Any:
        return and_(
            OutboxRow.kind.in_(PRUNABLE_INTENTS),
            OutboxRow.state.in_(FINISHED),
            OutboxRow.idempotency_key.is_(None),
            OutboxRow.created_at < self.intent_cutoff,
        )

    def alert(self, alert: Any = AlertRow) -> Any:
        if self.alert_cutoff is None:
            return false()
        unsent = exists().where(OutboxRow.alert_id == alert.id, OutboxRow.state.not_in(FINISHED))
        return and_(alert.created_at < self.alert_cutoff, not_(unsent))

    def entry(self, entry: Any = FeedEntryRow) -> Any:
        """Correlated on ``entry``: the feed no longer lists it, and did not within the grace."""
        since = (
            select(FeedRow.entries_listed_since)
            .where(FeedRow.id == entry.feed_id)
            .scalar_subquery()
        )
        return and_(
            since.is_not(None),
            entry.last_listed_at < since,
            entry.last_listed_at < self.entry_cutoff,
        )

    def article(self) -> Any:
        kept_entry = aliased(FeedEntryRow)
        kept_alert = aliased(AlertRow)
        awaiting = and_(
            ArticleRow.alertable.is_(True),
            ArticleRow.analysed_at.is_(None),
            ArticleRow.analysis_failures < MAX_ANALYSIS_FAILURES,
        )
        return and_(
            ArticleRow.created_at < self.article_cutoff,
            not_(awaiting),
            not_(
                exists().where(kept_alert.article_id == ArticleRow.id, not_(self.alert(kept_alert)))
            ),
            not_(
                exists().where(kept_entry.article_id == ArticleRow.id, not_(self.entry(kept_entry)))
            ),
        )


class RetentionRepository(Repository):
    def plan(self, now: datetime, rules: RetentionRules) -> PrunePlan:
        """What `prune` at ``now`` would delete, per kind; deletes nothing."""
        r = _Rules(rules, now)
        with self._tx() as s:
            return PrunePlan(
                intents=_count(s, OutboxRow, r.intent()),
                alerts=_count(s, AlertRow, r.alert()),
                entries=_count(s, FeedEntryRow, r.entry()),
                articles=_count(s, ArticleRow, r.article()),
            )

    def prune(
        self,
        now: datetime,
        rules: RetentionRules,
        batch_size: int,
        *,
        keep_going: Callable[[], bool] = lambda: True,
    ) -> PruneResult:
        """Delete what `plan` counts, kind by kind, at most ``batch_size`` rows of a kind per
        transaction. Each batch is one ``DELETE … WHERE id IN (SELECT … LIMIT n)``: the rules
        are checked in the statement that deletes, so a row a poll or a verdict just changed is
        judged as it is now; on Postgres ``SKIP LOCKED`` leaves rows a poll holds to the next
        run instead of waiting for them. An alert's claims, verdicts, vectors and messages and
        an article's last entries go with it by the schema's ON DELETE CASCADE. ``keep_going``
        is asked before every batch, so a shutdown never waits for more than one."""
        r = _Rules(rules, now)
        steps = (
            ("intents", OutboxRow, r.intent()),
            ("alerts", AlertRow, r.alert()),
            ("entries", FeedEntryRow, r.entry()),
            ("articles", ArticleRow, r.article()),
        )
        deleted: dict[str, int] = {}
        batches = largest = 0
        for kind, model, predicate in steps:
            deleted[kind] = 0
            if kind == "alerts" and r.alert_cutoff is None:
                continue  # alerts_days = 0: alerts are kept for ever
            batch = (
                select(model.id)
                .where(predicate)
                .order_by(model.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
            statement = delete(model).where(model.id.in_(batch.scalar_subquery()))
            while True:
                if not keep_going():
                    return PruneResult(PrunePlan(**deleted), batches, largest, stopped=True)
                with self._tx() as s:
                    gone = s.execute(statement.execution_options(synchronize_session=False))
                    n = gone.rowcount
                if n <= 0:
                    break
                batches += 1
                largest = max(largest, n)
                deleted[kind] += n
                if n < batch_size:
                    break
        return PruneResult(PrunePlan(**deleted), batches, largest)


def _count(s: Session, model: Any, predicate: Any) -> int:
    return s.scalar(select(func.count()).select_from(model).where(predicate)) or 0
