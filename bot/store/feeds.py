"""The feeds aggregate: what is watched, when each feed is due, how its polls went."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.errors import UserError
from bot.models import FeedInfo, PollSuccess
from bot.store.base import Repository
from bot.store.schema import FeedRow, UTCDateTime


def write_poll_successes(s: Session, successes: Sequence[PollSuccess]) -> None:
    """The UPDATEs recording successful polls, inside the caller's transaction (the articles
    repository stores a whole batch, entries and successes, in one)."""
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
            "body_hash": p.body_hash,
        }
        for p in successes
    ]
    s.execute(update(FeedRow), rows)


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
        body_hash=row.body_hash,
    )


FEED_STATES = ("active", "backing_off", "disabled")


@dataclass(frozen=True)
class FeedStates:
    """How many feeds are in each operator-facing state (``counts`` keyed by `FEED_STATES`:
    backing off = active but failing, waiting out its retry delay), and the latest poll."""

    counts: dict[str, int]
    last_polled_at: datetime | None


class FeedRepository(Repository):
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
        now = now or self.clock()
        if self._revive_feed(url, interval_s, name, added_by, now):
            info = self.get_feed(url)
            assert info is not None
            return info
        row = FeedRow(
            url=url,
            name=name,
            label=label,
            interval_s=interval_s,
            channels=list(channels),
            next_poll_at=now,
            added_by=added_by,
            state="active",
            error_count=0,
            primed=False,
            created_at=now,
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
        added, now = 0, self.clock()
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
                        next_poll_at=now,
                        state="active",
                        error_count=0,
                        primed=False,
                        added_by="config",
                        created_at=now,
                    )
                )
                known.add(url)
                added += 1
        return added

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

    def claim_due_feeds(
        self, now: datetime, limit: int, lease_s: int, *, due_by: datetime | None = None
    ) -> list[FeedInfo]:
        """Take up to ``limit`` feeds due by ``due_by`` (default ``now``) and lease them from
        ``now`` so no other worker polls them too. A cycle passes its start as ``due_by``: a
        feed that falls due while the cycle runs waits for the next one, and a feed polled in
        this cycle (its next slot is later than now) is never claimed twice. On Postgres the
        rows are locked with SKIP LOCKED so workers never wait on each other."""
        rows = self._claim(
            FeedRow,
            [
                FeedRow.state == "active",
                FeedRow.next_poll_at <= (due_by or now),
                or_(FeedRow.leased_until.is_(None), FeedRow.leased_until < now),
            ],
            [FeedRow.next_poll_at, FeedRow.id],
            limit,
            {"leased_until": now + timedelta(seconds=lease_s)},
        )
        rows.sort(key=lambda r: (r.next_poll_at, r.id))
        return [_feed_info(r) for r in rows]

    def release_feeds(self, feed_ids: Sequence[int]) -> None:
        """Give back claimed feeds that were never polled (the worker is stopping): they stay
        due, and the next cycle, here or in another worker, polls them at once."""
        if not feed_ids:
            return
        with self._tx() as s:
            s.execute(
                update(FeedRow)
                .where(FeedRow.id.in_(list(feed_ids)))
                .values(leased_until=None)
                .execution_options(synchronize_session=False)
            )

    def record_poll_successes(self, successes: Sequence[PollSuccess]) -> None:
        """Record many successful polls in one transaction (one UPDATE per feed, sent as a
        batch): a cycle of 10,000 feeds, most of them 304s, is otherwise 10,000 commits."""
        if not successes:
            return
        with self._tx() as s:
            write_poll_successes(s, successes)

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

    def record_poll_crash(self, feed_id: int, *, now: datetime, next_poll_at: datetime) -> None:
        """Our code crashed polling this feed (a bug, logged by the poller): release the lease
        and try again at ``next_poll_at`` without counting it against the feed."""
        with self._tx() as s:
            s.execute(
                update(FeedRow)
                .where(FeedRow.id == feed_id)
                .values(last_polled_at=now, next_poll_at=next_poll_at, leased_until=None)
            )

    def next_due_at(self) -> datetime | None:
        """When the earliest active feed is next due (a leased one: not before its lease runs
        out); None with no active feeds. The scheduler sleeps until then. One indexed query."""
        due = case(
            (
                and_(
                    FeedRow.leased_until.is_not(None), FeedRow.leased_until > FeedRow.next_poll_at
                ),
                FeedRow.leased_until,
            ),
            else_=FeedRow.next_poll_at,
        )
        with self._tx() as s:
            return s.scalar(
                select(type_coerce(func.min(due), UTCDateTime())).where(FeedRow.state == "active")
            )

    def feed_states(self) -> FeedStates:
        """Feeds per state for `/metrics` and `watchdesk status`: one grouped query."""
        state = case(
            (and_(FeedRow.state == "active", FeedRow.error_count > 0), "backing_off"),
            else_=FeedRow.state,
        )
        counts = dict.fromkeys(FEED_STATES, 0)
        with self._tx() as s:
            for name, count in s.execute(
                select(state, func.count()).where(FeedRow.state != "removed").group_by(state)
            ):
                counts[name] = count
            last = s.scalar(
                select(type_coerce(func.max(FeedRow.last_polled_at), UTCDateTime())).where(
                    FeedRow.state != "removed"
                )
            )
        return FeedStates(counts, last)
