"""The queries the rest of the bot needs, named for what they do; the only user of the ORM.

Everything returns plain dataclasses so no session ever leaks out of this module.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, false, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.errors import UserError
from bot.models import (
    AlertView,
    Analysis,
    CheckerVerdict,
    ClaimView,
    Entity,
    EntityView,
    FeedEntry,
    MessageRef,
    Verdict,
)
from bot.store.schema import (
    AlertClaimRow,
    AlertRow,
    ArticleRow,
    DeliveryRow,
    FeedEntryRow,
    FeedRow,
    NoticeRow,
    VerdictRow,
    WatchEntityRow,
    utcnow,
)


@dataclass(frozen=True)
class FeedInfo:
    id: int
    url: str
    name: str | None
    label: str | None
    interval_s: int
    state: str
    channels: tuple[str, ...]
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    error_count: int
    disabled_reason: str | None
    primed: bool


@dataclass(frozen=True)
class NewEntry:
    """An entry the poll decided to store: its per-feed identity and the cross-feed key."""

    identity: str
    key: str
    entry: FeedEntry


@dataclass(frozen=True)
class PollSuccess:
    """A feed that answered (200 or 304): what to remember about it until the next poll."""

    feed_id: int
    now: datetime
    next_poll_at: datetime
    etag: str | None
    last_modified: str | None
    primed: bool = True


@dataclass(frozen=True)
class StoredArticle:
    id: int
    feed_id: int | None
    title: str
    link: str | None
    summary: str
    content: str
    published: datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    alert_id: int
    destination: str
    idempotency_key: str
    attempts: int
    state: str
    message_id: str | None
    thread_id: str | None
    revision: int = 0


@dataclass(frozen=True)
class Notice:
    id: int
    destination: str
    text: str
    attempts: int


@dataclass(frozen=True)
class OpenClaim:
    alert_id: int
    alert_title: str
    alert_url: str | None
    created_at: datetime
    n: int
    text: str


def _feed_info(row: FeedRow) -> FeedInfo:
    return FeedInfo(
        id=row.id,
        url=row.url,
        name=row.name,
        label=row.label,
        interval_s=row.interval_s,
        state=row.state,
        channels=tuple(row.channels or ()),
        etag=row.etag,
        last_modified=row.last_modified,
        next_poll_at=row.next_poll_at,
        last_success_at=row.last_success_at,
        last_error=row.last_error,
        last_error_at=row.last_error_at,
        error_count=row.error_count,
        disabled_reason=row.disabled_reason,
        primed=row.primed,
    )


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id,
        alert_id=row.alert_id,
        destination=row.destination,
        idempotency_key=row.idempotency_key,
        attempts=row.attempts,
        state=row.state,
        message_id=row.message_id,
        thread_id=row.thread_id,
        revision=row.revision,
    )


def _on_platforms(column: Any, platforms: Sequence[str]) -> Any:
    """SQL: the destination in ``column`` is on one of ``platforms`` ("console" has no colon)."""
    return or_(
        *(column == p if p == "console" else column.like(f"{p}:%") for p in platforms), false()
    )


# Bound parameters per IN (…) list: far below SQLite's and Postgres's limits, large enough
# that a feed of a thousand entries is a handful of queries.
_IN_CHUNK = 500


def _checker_verdict(row: VerdictRow) -> CheckerVerdict:
    return CheckerVerdict(Verdict(row.verdict), row.user_name, row.created_at, row.source_url)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    unique = list(dict.fromkeys(values))
    for start in range(0, len(unique), _IN_CHUNK):
        yield unique[start : start + _IN_CHUNK]


def _article_id(article: int | ArticleRow) -> int:
    return article if isinstance(article, int) else article.id


MAX_ANALYSIS_FAILURES = 3


class Store:
    def __init__(self, engine: Engine):
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @contextmanager
    def _tx(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ feeds

    def add_feed(
        self,
        url: str,
        *,
        interval_s: int,
        name: str | None = None,
        label: str | None = None,
        channels: Sequence[str] = (),
        added_by: str | None = None,
        now: datetime | None = None,
    ) -> FeedInfo:
        """Add a feed, due at once so its first poll records what is there. A feed removed
        earlier comes back with its history (so its old entries still never re-alert)."""
        if self._revive_feed(url, interval_s, name, added_by, now or utcnow()):
            info = self.get_feed(url)
            assert info is not None
            return info
        row = FeedRow(
            url=url,
            name=name,
            label=label,
            interval_s=interval_s,
            channels=list(channels),
            next_poll_at=now or utcnow(),
            added_by=added_by,
            state="active",
            error_count=0,
            primed=False,
        )
        try:
            with self._tx() as s:
                s.add(row)
                s.flush()
                return _feed_info(row)
        except IntegrityError as exc:
            raise UserError(f"{url} is already watched; `feeds list` shows its state") from exc

    def seed_feeds(
        self, feeds: Sequence[tuple[str, str | None, str | None, int, Sequence[str]]]
    ) -> int:
        """Insert config feeds that the store has never seen; one a user removed stays removed."""
        added = 0
        with self._tx() as s:
            known = set(s.scalars(select(FeedRow.url)))
            for url, name, label, interval_s, channels in feeds:
                if url in known:
                    continue
                s.add(
                    FeedRow(
                        url=url,
                        name=name,
                        label=label,
                        interval_s=interval_s,
                        channels=list(channels),
                        next_poll_at=utcnow(),
                        state="active",
                        error_count=0,
                        primed=False,
                        added_by="config",
                    )
                )
                known.add(url)
                added += 1
        return added

    def _claim(
        self,
        model: Any,
        conditions: list[Any],
        order_by: list[Any],
        limit: int,
        values: dict[str, Any],
    ) -> list[Any]:
        """Take up to ``limit`` rows matching ``conditions`` and set ``values`` on them (a lease)
        in one atomic UPDATE … RETURNING: on SQLite it runs under the write lock, on Postgres the
        subquery's SKIP LOCKED keeps concurrent workers off each other's rows."""
        due = (
            select(model.id)
            .where(*conditions)
            .order_by(*order_by)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        claim = (
            update(model)
            .where(model.id.in_(due.scalar_subquery()))
            .values(**values)
            .returning(model)
            .execution_options(synchronize_session=False)
        )
        with self._tx() as s:
            return list(s.scalars(claim))

    def _revive_feed(
        self, url: str, interval_s: int, name: str | None, added_by: str | None, now: datetime
    ) -> bool:
        with self._tx() as s:
            result = s.execute(
                update(FeedRow)
                .where(FeedRow.url == url, FeedRow.state == "removed")
                .values(
                    state="active",
                    interval_s=interval_s,
                    name=name,
                    added_by=added_by,
                    next_poll_at=now,
                    error_count=0,
                    disabled_reason=None,
                    leased_until=None,
                    # polled afresh: what the feed holds now is recorded, not alerted
                    primed=False,
                    etag=None,
                    last_modified=None,
                )
            )
            return result.rowcount > 0

    def remove_feed(self, url: str) -> bool:
        """Remove a feed, keeping a tombstone: the config's seeding must not bring it back."""
        with self._tx() as s:
            result = s.execute(
                update(FeedRow)
                .where(FeedRow.url == url, FeedRow.state != "removed")
                .values(state="removed", leased_until=None)
            )
            return result.rowcount > 0

    def get_feed(self, url: str) -> FeedInfo | None:
        with self._tx() as s:
            row = s.scalar(select(FeedRow).where(FeedRow.url == url, FeedRow.state != "removed"))
            return _feed_info(row) if row else None

    def feed_by_id(self, feed_id: int) -> FeedInfo | None:
        with self._tx() as s:
            row = s.get(FeedRow, feed_id)
            return _feed_info(row) if row else None

    def list_feeds(self) -> list[FeedInfo]:
        with self._tx() as s:
            query = select(FeedRow).where(FeedRow.state != "removed").order_by(FeedRow.id)
            return [_feed_info(r) for r in s.scalars(query)]

    def enable_feed(self, url: str, now: datetime) -> bool:
        with self._tx() as s:
            result = s.execute(
                update(FeedRow)
                .where(FeedRow.url == url, FeedRow.state != "removed")
                .values(state="active", error_count=0, disabled_reason=None, next_poll_at=now)
            )
            return result.rowcount > 0

    def claim_due_feeds(self, now: datetime, limit: int, lease_s: int) -> list[FeedInfo]:
        """Take up to ``limit`` due feeds and lease them so no other worker polls them too.
        On Postgres the rows are locked with SKIP LOCKED so workers never wait on each other."""
        rows = self._claim(
            FeedRow,
            [
                FeedRow.state == "active",
                FeedRow.next_poll_at <= now,
                or_(FeedRow.leased_until.is_(None), FeedRow.leased_until < now),
            ],
            [FeedRow.next_poll_at, FeedRow.id],
            limit,
            {"leased_until": now + timedelta(seconds=lease_s)},
        )
        rows.sort(key=lambda r: (r.next_poll_at, r.id))
        return [_feed_info(r) for r in rows]

    def record_poll_successes(self, successes: Sequence[PollSuccess]) -> None:
        """Record many successful polls in one transaction (one UPDATE per feed, sent as a
        batch): a cycle of 10,000 feeds, most of them 304s, is otherwise 10,000 commits."""
        if not successes:
            return
        rows = [
            {
                "id": p.feed_id,
                "etag": p.etag,
                "last_modified": p.last_modified,
                "last_polled_at": p.now,
                "last_success_at": p.now,
                "error_count": 0,
                "next_poll_at": p.next_poll_at,
                "leased_until": None,
                "primed": p.primed,
            }
            for p in successes
        ]
        with self._tx() as s:
            s.execute(update(FeedRow), rows)

    def record_poll_failure(
        self,
        feed_id: int,
        *,
        now: datetime,
        error: str,
        next_poll_at: datetime,
        disable_after: int,
    ) -> tuple[int, bool]:
        """Count a failure; returns (consecutive failures, whether the feed is now disabled)."""
        with self._tx() as s:
            row = s.get(FeedRow, feed_id, with_for_update=True)
            if row is None:
                return 0, False
            row.error_count += 1
            row.last_error, row.last_error_at, row.last_polled_at = error, now, now
            row.next_poll_at, row.leased_until = next_poll_at, None
            disabled = row.error_count >= disable_after and row.state == "active"
            if disabled:
                row.state = "disabled"
                row.disabled_reason = f"{row.error_count} consecutive failures; last: {error}"
            return row.error_count, disabled

    # ------------------------------------------------------------------ articles

    def store_entries(
        self, feed_id: int, entries: Sequence[NewEntry], *, alertable_limit: int | None
    ) -> list[int]:
        """Record entries the feed has not shown before; returns ids of NEW articles that may
        alert. ``alertable_limit`` None = all may alert; 0 = none (a feed's first poll).

        A handful of statements whatever the number of entries: one lookup of the seen
        identities, one of the existing articles, then batched inserts."""
        unseen: dict[str, NewEntry] = {}
        with self._tx() as s:
            seen = self._seen_identities(s, feed_id, [e.identity for e in entries])
            for item in entries:
                if item.identity not in seen:
                    unseen.setdefault(item.identity, item)
            if not unseen:
                return []
            articles = self._article_ids(s, [e.key for e in unseen.values()])
            new_rows: list[ArticleRow] = []
            alertable = 0
            for item in unseen.values():
                if item.key not in articles:
                    may_alert = alertable_limit is None or alertable < alertable_limit
                    alertable += may_alert
                    row = self._article_row(feed_id, item, may_alert)
                    new_rows.append(row)
                    articles[item.key] = row
            s.add_all(new_rows)
            s.flush()  # one batched INSERT … RETURNING gives every new article its id
            s.add_all(
                FeedEntryRow(
                    feed_id=feed_id,
                    identity=item.identity,
                    article_id=_article_id(articles[item.key]),
                )
                for item in unseen.values()
            )
            return [r.id for r in new_rows if r.alertable]

    @staticmethod
    def _seen_identities(s: Session, feed_id: int, identities: Sequence[str]) -> set[str]:
        seen: set[str] = set()
        for chunk in _chunks(identities):
            seen.update(
                s.scalars(
                    select(FeedEntryRow.identity).where(
                        FeedEntryRow.feed_id == feed_id, FeedEntryRow.identity.in_(chunk)
                    )
                )
            )
        return seen

    @staticmethod
    def _article_ids(s: Session, keys: Sequence[str]) -> dict[str, int | ArticleRow]:
        found: dict[str, int | ArticleRow] = {}
        for chunk in _chunks(keys):
            rows = s.execute(select(ArticleRow.key, ArticleRow.id).where(ArticleRow.key.in_(chunk)))
            found.update((key, article_id) for key, article_id in rows)
        return found

    @staticmethod
    def _article_row(feed_id: int, item: NewEntry, alertable: bool) -> ArticleRow:
        e = item.entry
        return ArticleRow(
            key=item.key,
            feed_id=feed_id,
            title=e.title,
            link=e.link,
            summary=e.summary,
            content=e.content,
            author=e.author,
            published=e.published,
            alertable=alertable,
            analysed_at=None if alertable else utcnow(),
            matched=None,
        )

    def count_feed_entries(self, feed_id: int) -> int:
        with self._tx() as s:
            return s.scalar(select(func.count()).where(FeedEntryRow.feed_id == feed_id)) or 0

    def article(self, article_id: int) -> StoredArticle | None:
        with self._tx() as s:
            r = s.get(ArticleRow, article_id)
            if r is None:
                return None
            return StoredArticle(
                r.id, r.feed_id, r.title, r.link, r.summary, r.content, r.published
            )

    def articles_awaiting_analysis(self, limit: int = 200) -> list[int]:
        """Alertable articles stored but never analysed: a crash between storing and alerting
        leaves them here, and the next cycle finishes the job."""
        with self._tx() as s:
            query = (
                select(ArticleRow.id)
                .where(
                    ArticleRow.alertable.is_(True),
                    ArticleRow.analysed_at.is_(None),
                    ArticleRow.analysis_failures < MAX_ANALYSIS_FAILURES,
                )
                .order_by(ArticleRow.id)
                .limit(limit)
            )
            return list(s.scalars(query))

    def count_analysis_failure(self, article_id: int) -> int:
        """An article whose analysis keeps crashing is retried a few times, then left (logged);
        returns its failures so far."""
        with self._tx() as s:
            s.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(analysis_failures=ArticleRow.analysis_failures + 1)
            )
            return (
                s.scalar(select(ArticleRow.analysis_failures).where(ArticleRow.id == article_id))
                or 0
            )

    def mark_not_matched(self, article_id: int) -> None:
        with self._tx() as s:
            s.execute(
                update(ArticleRow)
                .where(ArticleRow.id == article_id)
                .values(analysed_at=utcnow(), matched=False)
            )

    # ------------------------------------------------------------------ alerts and outbox

    def create_alert(
        self, article_id: int, *, source: str, analysis: Analysis, destinations: Sequence[str]
    ) -> int:
        """Write the alert, its claims and one outbox row per destination in one transaction,
        before anything is sent: a crash after this re-delivers, never loses."""
        try:
            return self._create_alert(article_id, source, analysis, destinations)
        except IntegrityError:  # another worker alerted on this article a moment ago
            with self._tx() as s:
                existing = s.scalar(select(AlertRow.id).where(AlertRow.article_id == article_id))
            if existing is None:
                raise
            return existing

    def _create_alert(
        self, article_id: int, source: str, analysis: Analysis, destinations: Sequence[str]
    ) -> int:
        with self._tx() as s:
            existing = s.scalar(select(AlertRow.id).where(AlertRow.article_id == article_id))
            if existing is not None:
                return existing
            article = s.get(ArticleRow, article_id)
            if article is None:
                raise LookupError(f"article {article_id} does not exist")
            alert = AlertRow(
                article_id=article_id,
                title=article.title or "(untitled)",
                url=article.link,
                source=source,
                published=article.published,
                entities=[
                    {"name": m.name, "why": m.hits[0].sentence if m.hits else ""}
                    for m in analysis.entities
                ],
                summary=list(analysis.summary),
            )
            s.add(alert)
            s.flush()
            for claim in analysis.claims:
                s.add(
                    AlertClaimRow(
                        alert_id=alert.id,
                        n=claim.n,
                        text=claim.text,
                        score=claim.score,
                        kinds=[str(k) for k in claim.kinds],
                    )
                )
            for destination in dict.fromkeys(destinations):
                s.add(
                    DeliveryRow(
                        alert_id=alert.id,
                        destination=destination,
                        idempotency_key=f"alert-{alert.id}@{destination}",
                        state="pending",
                        attempts=0,
                        next_attempt_at=utcnow(),
                        needs_update=False,
                    )
                )
            article.analysed_at, article.matched = utcnow(), True
            return alert.id

    def alert_view(self, alert_id: int) -> AlertView | None:
        with self._tx() as s:
            alert = s.get(AlertRow, alert_id)
            if alert is None:
                return None
            claims = s.scalars(
                select(AlertClaimRow)
                .where(AlertClaimRow.alert_id == alert_id)
                .order_by(AlertClaimRow.n)
            )
            latest = self._latest_verdicts(s, alert_id)
            by_checker = self._checker_rows(s, alert_id)
            return AlertView(
                alert_id=alert.id,
                title=alert.title,
                url=alert.url,
                source=alert.source,
                published=alert.published,
                entities=tuple(EntityView(e["name"], e.get("why", "")) for e in alert.entities),
                summary=tuple(alert.summary),
                claims=tuple(
                    self._claim_view(c, latest.get(c.n), by_checker.get(c.n, [])) for c in claims
                ),
            )

    @staticmethod
    def _latest_verdicts(s: Session, alert_id: int) -> dict[int, VerdictRow]:
        rows = s.scalars(
            select(VerdictRow)
            .where(VerdictRow.alert_id == alert_id)
            .order_by(VerdictRow.created_at, VerdictRow.id)
        )
        return {row.claim_n: row for row in rows}

    @staticmethod
    def _checker_rows(s: Session, alert_id: int) -> dict[int, list[VerdictRow]]:
        """Each checker's latest verdict per claim (a checker is a platform + user id)."""
        rows = s.scalars(
            select(VerdictRow)
            .where(VerdictRow.alert_id == alert_id)
            .order_by(VerdictRow.created_at, VerdictRow.id)
        )
        latest: dict[tuple[int, str, str], VerdictRow] = {}
        for row in rows:
            latest.pop((row.claim_n, row.platform, row.user_id), None)
            latest[(row.claim_n, row.platform, row.user_id)] = row
        out: dict[int, list[VerdictRow]] = {}
        for (claim_n, _, _), row in latest.items():
            out.setdefault(claim_n, []).append(row)
        return out

    def checker_verdicts(self, alert_id: int) -> dict[int, list[tuple[str, str, CheckerVerdict]]]:
        """Per claim, every checker's current verdict as (platform, user id, verdict), oldest
        first; a checker who reset their verdict counts as UNCHECKED."""
        with self._tx() as s:
            return {
                n: [(r.platform, r.user_id, _checker_verdict(r)) for r in rows]
                for n, rows in self._checker_rows(s, alert_id).items()
            }

    @staticmethod
    def _claim_view(
        claim: AlertClaimRow, verdict: VerdictRow | None, checkers: Sequence[VerdictRow] = ()
    ) -> ClaimView:
        if verdict is None:
            return ClaimView(claim.n, claim.text, tuple(claim.kinds))
        disagreements = tuple(
            _checker_verdict(r)
            for r in checkers
            if (r.platform, r.user_id) != (verdict.platform, verdict.user_id)
            and r.verdict not in (verdict.verdict, Verdict.UNCHECKED.value)
        )
        if verdict.verdict == Verdict.UNCHECKED.value:
            disagreements = ()
        return ClaimView(
            claim.n,
            claim.text,
            tuple(claim.kinds),
            Verdict(verdict.verdict),
            verdict.user_name,
            verdict.created_at,
            verdict.source_url,
            verdict.note,
            disagreements,
        )

    def claim_due_deliveries(
        self, now: datetime, platforms: Sequence[str], in_flight_until: datetime, limit: int = 100
    ) -> list[Delivery]:
        """Take due deliveries for the connected ``platforms``, pushing their next attempt past
        the in-flight window in the same statement, so no other pass or worker sends them too."""
        rows = self._claim(
            DeliveryRow,
            [
                DeliveryRow.state == "pending",
                DeliveryRow.next_attempt_at <= now,
                _on_platforms(DeliveryRow.destination, platforms),
            ],
            [DeliveryRow.id],
            limit,
            {"next_attempt_at": in_flight_until},
        )
        return sorted((_delivery(r) for r in rows), key=lambda d: d.id)

    def begin_delivery_attempt(
        self, delivery_id: int, seen_attempts: int, retry_at: datetime
    ) -> bool:
        """Count the attempt BEFORE sending: if the process dies mid-send, the next attempt
        knows to look for an already-posted message first. A compare-and-set: False when another
        pass took the row since it was claimed (its lease ran out), and then this one must not
        send. ``retry_at`` keeps other workers off the row while this one is sending."""
        return self._begin_attempt(DeliveryRow, delivery_id, seen_attempts, retry_at)

    def mark_delivered(self, delivery_id: int, ref: MessageRef) -> None:
        with self._tx() as s:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(
                    state="sent",
                    message_id=ref.message_id,
                    thread_id=ref.thread_id,
                    sent_at=utcnow(),
                    last_error=None,
                )
            )

    def mark_delivery_failed(
        self,
        delivery_id: int,
        error: str,
        *,
        attempt: int,
        next_attempt_at: datetime,
        permanent: bool,
    ) -> None:
        with self._tx() as s:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id)
                .values(
                    state="failed" if permanent else "pending",
                    last_error=error,
                    next_attempt_at=next_attempt_at,
                    attempts=attempt,
                )
            )

    def deliveries_for_alert(self, alert_id: int) -> list[Delivery]:
        with self._tx() as s:
            rows = s.scalars(
                select(DeliveryRow).where(DeliveryRow.alert_id == alert_id).order_by(DeliveryRow.id)
            )
            return [_delivery(r) for r in rows]

    def deliveries_needing_update(
        self, platforms: Sequence[str], *, alert_id: int | None = None, limit: int = 100
    ) -> list[Delivery]:
        with self._tx() as s:
            query = select(DeliveryRow).where(
                DeliveryRow.needs_update.is_(True),
                DeliveryRow.state == "sent",
                _on_platforms(DeliveryRow.destination, platforms),
            )
            if alert_id is not None:
                query = query.where(DeliveryRow.alert_id == alert_id)
            rows = s.scalars(query.order_by(DeliveryRow.id).limit(limit))
            return [_delivery(r) for r in rows]

    def mark_updated(self, delivery_id: int, revision: int) -> None:
        """Clear the edit flag only if no verdict arrived since ``revision`` was rendered."""
        with self._tx() as s:
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery_id, DeliveryRow.revision == revision)
                .values(needs_update=False)
            )

    def alert_for_message(self, destination: str, message_id: str) -> int | None:
        """The alert whose posted message (or its thread) has this id at this destination."""
        with self._tx() as s:
            return s.scalar(
                select(DeliveryRow.alert_id)
                .where(
                    DeliveryRow.destination == destination,
                    or_(DeliveryRow.message_id == message_id, DeliveryRow.thread_id == message_id),
                )
                .limit(1)
            )

    def message_refs(self, alert_ids: Sequence[int]) -> dict[int, list[MessageRef]]:
        """Where each of these alerts was posted (delivered copies only), for links to them."""
        out: dict[int, list[MessageRef]] = {}
        if not alert_ids:
            return out
        with self._tx() as s:
            rows = s.scalars(
                select(DeliveryRow)
                .where(
                    DeliveryRow.alert_id.in_(list(alert_ids)),
                    DeliveryRow.state == "sent",
                    DeliveryRow.message_id.is_not(None),
                )
                .order_by(DeliveryRow.id)
            )
            for row in rows:
                ref = MessageRef(row.destination, row.message_id or "", row.thread_id)
                out.setdefault(row.alert_id, []).append(ref)
        return out

    def claim_numbers(self, alert_id: int) -> list[int]:
        with self._tx() as s:
            return list(
                s.scalars(
                    select(AlertClaimRow.n)
                    .where(AlertClaimRow.alert_id == alert_id)
                    .order_by(AlertClaimRow.n)
                )
            )

    def record_verdicts(
        self,
        alert_id: int,
        claims: Sequence[int],
        verdict: Verdict,
        *,
        platform: str,
        user_id: str,
        user_name: str,
        source_url: str | None,
        note: str | None,
    ) -> None:
        """Append verdicts (history is kept; the latest wins) and flag every posted copy of the
        alert for re-rendering."""
        now = utcnow()
        with self._tx() as s:
            for n in claims:
                s.add(
                    VerdictRow(
                        alert_id=alert_id,
                        claim_n=n,
                        verdict=str(verdict),
                        platform=platform,
                        user_id=user_id,
                        user_name=user_name,
                        source_url=source_url,
                        note=note,
                        created_at=now,
                    )
                )
            s.execute(
                update(DeliveryRow)
                .where(DeliveryRow.alert_id == alert_id)
                .values(needs_update=True, revision=DeliveryRow.revision + 1)
            )

    def verdict_history(self, alert_id: int) -> list[tuple[int, str, str, datetime]]:
        with self._tx() as s:
            rows = s.scalars(
                select(VerdictRow)
                .where(VerdictRow.alert_id == alert_id)
                .order_by(VerdictRow.created_at, VerdictRow.id)
            )
            return [(r.claim_n, r.verdict, r.user_name, r.created_at) for r in rows]

    def open_claims(self, limit: int = 20) -> list[OpenClaim]:
        """Unchecked claims (no verdict, or latest verdict 'unchecked'), oldest alert first."""
        with self._tx() as s:
            latest = (
                select(
                    VerdictRow.alert_id, VerdictRow.claim_n, func.max(VerdictRow.id).label("vid")
                )
                .group_by(VerdictRow.alert_id, VerdictRow.claim_n)
                .subquery()
            )
            query = (
                select(AlertRow, AlertClaimRow, VerdictRow.verdict)
                .join(AlertClaimRow, AlertClaimRow.alert_id == AlertRow.id)
                .outerjoin(
                    latest,
                    and_(latest.c.alert_id == AlertRow.id, latest.c.claim_n == AlertClaimRow.n),
                )
                .outerjoin(VerdictRow, VerdictRow.id == latest.c.vid)
                .where(or_(VerdictRow.verdict.is_(None), VerdictRow.verdict == "unchecked"))
                .order_by(AlertRow.created_at, AlertRow.id, AlertClaimRow.n)
                .limit(limit)
            )
            return [
                OpenClaim(a.id, a.title, a.url, a.created_at, c.n, c.text)
                for a, c, _ in s.execute(query)
            ]

    # ------------------------------------------------------------------ notices

    def add_notice(self, destination: str, text: str, now: datetime | None = None) -> None:
        with self._tx() as s:
            s.add(
                NoticeRow(
                    destination=destination,
                    text=text,
                    state="pending",
                    attempts=0,
                    next_attempt_at=now or utcnow(),
                )
            )

    def claim_due_notices(
        self, now: datetime, platforms: Sequence[str], in_flight_until: datetime, limit: int = 50
    ) -> list[Notice]:
        """Like `claim_due_deliveries`, for operational notices."""
        rows = self._claim(
            NoticeRow,
            [
                NoticeRow.state == "pending",
                NoticeRow.next_attempt_at <= now,
                _on_platforms(NoticeRow.destination, platforms),
            ],
            [NoticeRow.id],
            limit,
            {"next_attempt_at": in_flight_until},
        )
        return [
            Notice(r.id, r.destination, r.text, r.attempts)
            for r in sorted(rows, key=lambda r: r.id)
        ]

    def begin_notice_attempt(self, notice_id: int, seen_attempts: int, retry_at: datetime) -> bool:
        """Compare-and-set, as `begin_delivery_attempt`: only one pass sends a notice."""
        return self._begin_attempt(NoticeRow, notice_id, seen_attempts, retry_at)

    def _begin_attempt(
        self, model: Any, row_id: int, seen_attempts: int, retry_at: datetime
    ) -> bool:
        with self._tx() as s:
            result = s.execute(
                update(model)
                .where(
                    model.id == row_id, model.state == "pending", model.attempts == seen_attempts
                )
                .values(attempts=seen_attempts + 1, next_attempt_at=retry_at)
            )
            return result.rowcount == 1

    def mark_notice(
        self,
        notice_id: int,
        *,
        sent: bool,
        error: str | None = None,
        next_attempt_at: datetime | None = None,
        permanent: bool = False,
    ) -> None:
        with self._tx() as s:
            state = "sent" if sent else ("failed" if permanent else "pending")
            values: dict[str, object] = {"state": state, "last_error": error}
            if next_attempt_at is not None:
                values["next_attempt_at"] = next_attempt_at
            s.execute(update(NoticeRow).where(NoticeRow.id == notice_id).values(**values))

    # ------------------------------------------------------------------ watchlist

    def seed_watchlist(self, entities: Sequence[Entity]) -> int:
        """Insert config entities the store has never seen; ones users removed stay removed."""
        added = 0
        with self._tx() as s:
            known = {n.casefold() for n in s.scalars(select(WatchEntityRow.name))}
            for e in entities:
                if e.name.casefold() in known:
                    continue
                s.add(
                    WatchEntityRow(
                        name=e.name,
                        aliases=list(e.aliases),
                        exclusions=list(e.exclusions),
                        channels=list(e.channels),
                        origin="config",
                        added_by="config",
                    )
                )
                added += 1
        return added

    def active_entities(self) -> list[Entity]:
        with self._tx() as s:
            rows = s.scalars(
                select(WatchEntityRow)
                .where(WatchEntityRow.removed_at.is_(None))
                .order_by(WatchEntityRow.id)
            )
            return [
                Entity(r.name, tuple(r.aliases), tuple(r.exclusions), tuple(r.channels))
                for r in rows
            ]

    def upsert_entity(self, entity: Entity, added_by: str) -> bool:
        """Add or re-activate a watched entity (merging aliases); True when it was new. A name
        that is already an entity's name or alias (any case, any script's casing) is that one."""
        with self._tx() as s:
            row = self._entity_named(s, entity.name)
            if row is None:
                s.add(
                    WatchEntityRow(
                        name=entity.name,
                        aliases=list(entity.aliases),
                        exclusions=list(entity.exclusions),
                        channels=list(entity.channels),
                        origin="chat",
                        added_by=added_by,
                    )
                )
                return True
            was_removed = row.removed_at is not None
            row.aliases = list(dict.fromkeys([*(row.aliases or []), *entity.aliases]))
            row.channels = list(dict.fromkeys([*(row.channels or []), *entity.channels]))
            row.removed_at = None
            return was_removed

    @staticmethod
    def _entity_named(s: Session, name: str) -> WatchEntityRow | None:
        folded = name.casefold()
        rows = list(
            s.scalars(
                select(WatchEntityRow).order_by(
                    WatchEntityRow.removed_at.is_not(None), WatchEntityRow.id
                )
            )
        )
        for row in rows:
            if row.name.casefold() == folded or folded in {a.casefold() for a in row.aliases}:
                return row
        return None

    def update_entity(
        self,
        name: str,
        *,
        aliases: Sequence[str] | None = None,
        channels: Sequence[str] | None = None,
    ) -> bool:
        """Replace the aliases and/or channels of the active entity called ``name`` (its name,
        any case); False when there is none."""
        folded = name.casefold()
        with self._tx() as s:
            for row in s.scalars(select(WatchEntityRow).where(WatchEntityRow.removed_at.is_(None))):
                if row.name.casefold() == folded:
                    if aliases is not None:
                        row.aliases = list(aliases)
                    if channels is not None:
                        row.channels = list(channels)
                    return True
        return False

    def remove_entity(self, name: str) -> str | None:
        """Remove by name or alias (case-insensitive); returns the removed entity's name."""
        folded = name.casefold()
        with self._tx() as s:
            for row in s.scalars(select(WatchEntityRow).where(WatchEntityRow.removed_at.is_(None))):
                if row.name.casefold() == folded or folded in {a.casefold() for a in row.aliases}:
                    row.removed_at = utcnow()
                    return row.name
        return None
