"""The outbox aggregate: one table of message intents, one state machine for all of them.

    pending ──claim (lease)──► pending, leased ──begin_attempt (CAS, attempts+1)──► sending
    sending ──sink ok──► sent          sending ──RemoteError / bug──► pending (backoff) | failed
    sent (edit_alert only) ──verdict──► pending (revision + 1)

An intent is claimed by one platform's worker at a time: the claim pushes ``next_attempt_at``
past a lease in the same statement (SKIP LOCKED on Postgres), and `begin_attempt` is a
compare-and-set on ``attempts``, so a worker whose lease ran out never sends what another took.
Edits and thread posts wait until their alert's post to the same destination is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import exists, func, or_, select, type_coerce, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.models import Destination, MessageRef
from bot.store.base import Repository
from bot.store.schema import OutboxRow, UTCDateTime


class IntentKind(StrEnum):
    POST_ALERT = "post_alert"
    EDIT_ALERT = "edit_alert"
    THREAD_POST = "thread_post"
    NOTICE = "notice"
    DIGEST = "digest"


# Kinds that act on an alert's posted message, and so wait until it exists.
NEEDS_POST = (IntentKind.EDIT_ALERT, IntentKind.THREAD_POST)


@dataclass(frozen=True)
class Intent:
    """One message intent as a worker sees it."""

    id: int
    kind: IntentKind
    destination: Destination
    alert_id: int | None
    text: str | None
    state: str
    attempts: int
    revision: int
    message_id: str | None
    thread_id: str | None
    idempotency_key: str | None
    last_error: str | None
    next_attempt_at: datetime | None = None  # when a pending intent is tried (again)
    sent_at: datetime | None = None


@dataclass(frozen=True)
class QueueDepth:
    """One platform's pending intents of one kind: how many, and since when the oldest waits."""

    platform: str
    kind: str
    pending: int
    oldest_created_at: datetime


def _intent(row: OutboxRow) -> Intent:
    return Intent(
        id=row.id,
        kind=IntentKind(row.kind),
        destination=Destination.parse(row.destination),
        alert_id=row.alert_id,
        text=row.text,
        state=row.state,
        attempts=row.attempts,
        revision=row.revision,
        message_id=row.message_id,
        thread_id=row.thread_id,
        idempotency_key=row.idempotency_key,
        last_error=row.last_error,
        next_attempt_at=row.next_attempt_at,
        sent_at=row.sent_at,
    )


def post_key(alert_id: int, destination: str) -> str:
    return f"alert-{alert_id}@{destination}"


def edit_key(alert_id: int, destination: str) -> str:
    return f"edit-{alert_id}@{destination}"


def _row(
    kind: IntentKind,
    destination: str,
    now: datetime,
    *,
    alert_id: int | None = None,
    text: str | None = None,
    key: str | None = None,
    state: str = "pending",
) -> OutboxRow:
    return OutboxRow(
        kind=str(kind),
        alert_id=alert_id,
        destination=str(Destination.parse(destination)),
        platform=Destination.parse(destination).platform,
        text=text,
        idempotency_key=key,
        state=state,
        attempts=0,
        revision=0,
        next_attempt_at=now,
        created_at=now,
    )


def alert_intents(alert_id: int, destinations: Sequence[str], now: datetime) -> list[OutboxRow]:
    """The rows written with a new alert: per destination, its post (pending) and its edit
    intent (idle, sent at revision 0, until a verdict re-arms it)."""
    rows = []
    for destination in dict.fromkeys(destinations):
        rows.append(
            _row(
                IntentKind.POST_ALERT,
                destination,
                now,
                alert_id=alert_id,
                key=post_key(alert_id, destination),
            )
        )
        rows.append(
            _row(
                IntentKind.EDIT_ALERT,
                destination,
                now,
                alert_id=alert_id,
                key=edit_key(alert_id, destination),
                state="sent",
            )
        )
    return rows


def rearm_edits(s: Session, alert_id: int, now: datetime) -> None:
    """After a verdict: every copy of the alert that is posted or still to be posted gets an
    edit with the next revision (a post that gave up has nothing to edit)."""
    post = aliased(OutboxRow)
    live_post = exists().where(
        post.kind == str(IntentKind.POST_ALERT),
        post.alert_id == OutboxRow.alert_id,
        post.destination == OutboxRow.destination,
        post.state != "failed",
    )
    s.execute(
        update(OutboxRow)
        .where(
            OutboxRow.alert_id == alert_id,
            OutboxRow.kind == str(IntentKind.EDIT_ALERT),
            live_post,
        )
        .values(
            state="pending",
            revision=OutboxRow.revision + 1,
            attempts=0,
            next_attempt_at=now,
            last_error=None,
        )
        .execution_options(synchronize_session=False)
    )


class OutboxRepository(Repository):
    # ------------------------------------------------------------------ enqueue

    def add_notice(self, destination: str, text: str, now: datetime | None = None) -> None:
        """An operational notice (a feed disabled, …) to a channel."""
        with self._tx() as s:
            s.add(_row(IntentKind.NOTICE, destination, now or self.clock(), text=text))

    def add_digest(self, destination: str, text: str, *, key: str | None = None) -> bool:
        """A channel message summarising many alerts; with ``key`` at most once per key.
        False when that key was queued before."""
        return self._add(_row(IntentKind.DIGEST, destination, self.clock(), text=text, key=key))

    def add_thread_post(
        self, alert_id: int, destination: str, text: str, *, key: str | None = None
    ) -> bool:
        """A message in the thread of alert ``alert_id`` at ``destination``; sent once the alert
        itself is posted there. With ``key`` at most once per key (False: queued before)."""
        row = _row(
            IntentKind.THREAD_POST, destination, self.clock(), alert_id=alert_id, text=text, key=key
        )
        return self._add(row)

    def _add(self, row: OutboxRow) -> bool:
        try:
            with self._tx() as s:
                s.add(row)
        except IntegrityError:
            if row.idempotency_key is None:
                raise
            return False
        return True

    # ------------------------------------------------------------------ the state machine

    def claim_due(
        self,
        platform: str,
        now: datetime,
        lease_until: datetime,
        limit: int = 10,
        *,
        alert_id: int | None = None,
        kinds: Sequence[IntentKind] = (),
        exclude: Sequence[int] = (),
    ) -> list[Intent]:
        """Take up to ``limit`` due intents of ``platform`` (oldest first; only ``alert_id``'s,
        only of ``kinds`` when given, none of the ids in ``exclude``), pushing their next attempt to ``lease_until`` in the same
        statement so no other worker takes them."""
        conditions = [
            OutboxRow.platform == platform,
            OutboxRow.state == "pending",
            OutboxRow.next_attempt_at <= now,
            or_(OutboxRow.kind.not_in([str(k) for k in NEEDS_POST]), self._posted()),
        ]
        if alert_id is not None:
            conditions.append(OutboxRow.alert_id == alert_id)
        if kinds:
            conditions.append(OutboxRow.kind.in_([str(k) for k in kinds]))
        if exclude:
            conditions.append(OutboxRow.id.not_in(list(exclude)))
        rows = self._claim(
            OutboxRow,
            conditions,
            [OutboxRow.id],
            limit,
            {"next_attempt_at": lease_until},
        )
        return sorted((_intent(r) for r in rows), key=lambda i: i.id)

    @staticmethod
    def _posted() -> Any:
        """SQL: the alert this row belongs to is posted at this row's destination."""
        post = aliased(OutboxRow)
        return exists().where(
            post.kind == str(IntentKind.POST_ALERT),
            post.alert_id == OutboxRow.alert_id,
            post.destination == OutboxRow.destination,
            post.state == "sent",
        )

    def begin_attempt(self, intent_id: int, seen_attempts: int, retry_at: datetime) -> bool:
        """Count the attempt BEFORE sending: if the process dies mid-send, the next attempt
        knows to look for an already-posted message first. A compare-and-set: False when another
        worker took the row since it was claimed (its lease ran out), and then this one must not
        send. ``retry_at`` renews the lease for the send."""
        with self._tx() as s:
            result = s.execute(
                update(OutboxRow)
                .where(
                    OutboxRow.id == intent_id,
                    OutboxRow.state == "pending",
                    OutboxRow.attempts == seen_attempts,
                )
                .values(attempts=seen_attempts + 1, next_attempt_at=retry_at)
            )
            return result.rowcount == 1

    def mark_sent(
        self, intent_id: int, ref: MessageRef | None = None, *, revision: int | None = None
    ) -> bool:
        """Record a delivered intent (with where it landed). With ``revision`` (an edit) only
        if no verdict re-armed it since: False then, and the row stays pending for a fresh
        render."""
        values: dict[str, Any] = {"state": "sent", "sent_at": self.clock(), "last_error": None}
        if ref is not None:
            values.update(message_id=ref.message_id, thread_id=ref.thread_id)
        query = update(OutboxRow).where(OutboxRow.id == intent_id)
        if revision is not None:
            query = query.where(OutboxRow.revision == revision)
        with self._tx() as s:
            return s.execute(query.values(**values)).rowcount == 1

    def mark_failed(
        self,
        intent_id: int,
        error: str,
        *,
        attempt: int,
        next_attempt_at: datetime,
        permanent: bool,
    ) -> None:
        """A failed attempt: retried at ``next_attempt_at``, or given up (``permanent``). An
        alert post that gives up takes its waiting edits and thread posts with it."""
        with self._tx() as s:
            row = s.get(OutboxRow, intent_id)
            if row is None:
                return
            row.state = "failed" if permanent else "pending"
            row.last_error, row.next_attempt_at, row.attempts = error, next_attempt_at, attempt
            if permanent and row.kind == str(IntentKind.POST_ALERT):
                s.execute(
                    update(OutboxRow)
                    .where(
                        OutboxRow.alert_id == row.alert_id,
                        OutboxRow.destination == row.destination,
                        OutboxRow.kind.in_([str(k) for k in NEEDS_POST]),
                        OutboxRow.state == "pending",
                    )
                    .values(state="failed", last_error=f"the alert was never posted: {error}")
                    .execution_options(synchronize_session=False)
                )

    # ------------------------------------------------------------------ reading

    def posted_ref(self, alert_id: int, destination: str) -> MessageRef | None:
        """Where alert ``alert_id`` was posted at ``destination``, once it is."""
        with self._tx() as s:
            row = s.scalar(
                select(OutboxRow).where(
                    OutboxRow.idempotency_key == post_key(alert_id, destination),
                    OutboxRow.state == "sent",
                )
            )
            if row is None or row.message_id is None:
                return None
            return MessageRef(row.destination, row.message_id, row.thread_id)

    def intents_for_alert(self, alert_id: int, kind: IntentKind | None = None) -> list[Intent]:
        with self._tx() as s:
            query = select(OutboxRow).where(OutboxRow.alert_id == alert_id)
            if kind is not None:
                query = query.where(OutboxRow.kind == str(kind))
            return [_intent(r) for r in s.scalars(query.order_by(OutboxRow.id))]

    def pending(self, platform: str | None = None, kind: IntentKind | None = None) -> list[Intent]:
        """Intents still to be sent (for `doctor`, tests and the operator)."""
        with self._tx() as s:
            query = select(OutboxRow).where(OutboxRow.state == "pending")
            if platform is not None:
                query = query.where(OutboxRow.platform == platform)
            if kind is not None:
                query = query.where(OutboxRow.kind == str(kind))
            return [_intent(r) for r in s.scalars(query.order_by(OutboxRow.id))]

    def queue_depths(self) -> list[QueueDepth]:
        """Pending intents per (platform, kind) with the oldest one's age: one grouped query,
        for `/metrics` and `watchdesk status`."""
        oldest = type_coerce(func.min(OutboxRow.created_at), UTCDateTime())
        query = (
            select(OutboxRow.platform, OutboxRow.kind, func.count(), oldest)
            .where(OutboxRow.state == "pending")
            .group_by(OutboxRow.platform, OutboxRow.kind)
            .order_by(OutboxRow.platform, OutboxRow.kind)
        )
        with self._tx() as s:
            return [QueueDepth(p, k, n, t) for p, k, n, t in s.execute(query)]
