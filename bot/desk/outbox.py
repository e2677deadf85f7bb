"""Delivers each (alert, destination) exactly once, and pushes alert edits after verdicts.

The alert and its outbox rows are written before any send (`Store.create_alert`). A pass
*claims* due rows atomically (one UPDATE … RETURNING that also pushes their next attempt past
the in-flight window), so two passes — the poll tick and the outbox job, or two workers — never
send the same row. The attempt is counted before the send, so after a crash the next attempt
first asks the platform whether the alert is already there (`Sink.find_posted`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.desk.sinks import DeliveryError, Sink, split_destination
from bot.models import MessageRef
from bot.store.repo import Delivery, Notice, Store
from bot.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 20  # failures without a platform-given Retry-After, ~10 h with backoff
MAX_BACKOFF_S = 3600.0
IN_FLIGHT_S = 300.0
CLAIM_BATCH = 10  # small, so every claimed row is sent well within its lease (Slack: 1 msg/s)
MAX_PER_PASS = 500


@dataclass
class OutboxReport:
    sent: int = 0
    recovered: int = 0
    retrying: int = 0
    failed: int = 0
    updated: int = 0


def backoff_s(attempts: int, retry_after: float | None) -> float:
    """Platform's Retry-After when it gave one, else exponential from 5 s up to an hour."""
    if retry_after is not None:
        return max(0.0, retry_after)
    return min(5.0 * 2 ** max(0, attempts - 1), MAX_BACKOFF_S)


def gives_up(exc: DeliveryError, attempts: int) -> bool:
    """Stop only when retrying cannot help: the platform said so, or plain failures kept coming.
    A rate limit or a reconnecting client (Retry-After given) is waited out, however long."""
    return exc.permanent or (exc.retry_after is None and attempts >= MAX_ATTEMPTS)


class Outbox:
    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        clock: Callable[[], datetime] = utcnow,
        in_flight_s: float = IN_FLIGHT_S,
    ):
        self.store = store
        self.sinks = dict(sinks)
        self.clock = clock
        self.in_flight_s = in_flight_s

    def register(self, sink: Sink) -> None:
        self.sinks[sink.platform] = sink

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted(self.sinks))

    def _in_flight_until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.in_flight_s)

    def deliver_due(self, max_rows: int = MAX_PER_PASS) -> OutboxReport:
        """One pass over due alert deliveries and notices for the platforms this process is
        connected to; never raises for a platform error."""
        report = OutboxReport()
        handled = 0
        while handled < max_rows:
            batch = self.store.claim_due_deliveries(
                self.clock(), self.platforms, self._in_flight_until(), limit=CLAIM_BATCH
            )
            for delivery in batch:
                self._deliver(delivery, report)
            handled += len(batch)
            if len(batch) < CLAIM_BATCH:
                break
        notices = self.store.claim_due_notices(
            self.clock(), self.platforms, self._in_flight_until()
        )
        for notice in notices:
            self._deliver_notice(notice)
        self.push_updates(report=report)
        return report

    def _deliver(self, delivery: Delivery, report: OutboxReport) -> None:
        platform, channel = split_destination(delivery.destination)
        sink = self.sinks[platform]
        alert = self.store.alert_view(delivery.alert_id)
        if alert is None:
            return
        attempt = delivery.attempts + 1
        try:
            if delivery.attempts > 0:
                found = sink.find_posted(delivery.alert_id, channel)
                if found is not None:
                    self.store.mark_delivered(delivery.id, found)
                    report.recovered += 1
                    return
            if not self.store.begin_delivery_attempt(
                delivery.id, delivery.attempts, self._in_flight_until()
            ):
                return  # another pass took this row after our lease ran out: it sends, not us
            ref = sink.post_alert(alert, channel)
        except DeliveryError as exc:
            self._failed(delivery, attempt, exc, report)
            return
        except Exception as exc:  # a sink bug must not stop the other deliveries
            log.exception(
                "delivery %s of alert %s to %s crashed",
                delivery.id,
                delivery.alert_id,
                delivery.destination,
            )
            self._failed(delivery, attempt, DeliveryError(f"unexpected error: {exc!r}"), report)
            return
        self.store.mark_delivered(delivery.id, ref)
        report.sent += 1

    def _failed(
        self, delivery: Delivery, attempt: int, exc: DeliveryError, report: OutboxReport
    ) -> None:
        permanent = gives_up(exc, attempt)
        wait = backoff_s(attempt, exc.retry_after)
        self.store.mark_delivery_failed(
            delivery.id,
            str(exc),
            attempt=attempt,
            permanent=permanent,
            next_attempt_at=self.clock() + timedelta(seconds=wait),
        )
        if permanent:
            report.failed += 1
            log.error(
                "giving up on alert %s to %s after %d attempt(s): %s",
                delivery.alert_id,
                delivery.destination,
                attempt,
                exc,
            )
        else:
            report.retrying += 1
            log.warning(
                "alert %s to %s failed (attempt %d), retrying in %.0fs: %s",
                delivery.alert_id,
                delivery.destination,
                attempt,
                wait,
                exc,
            )

    def _deliver_notice(self, notice: Notice) -> None:
        platform, channel = split_destination(notice.destination)
        if not self.store.begin_notice_attempt(notice.id, notice.attempts, self._in_flight_until()):
            return
        attempt = notice.attempts + 1
        try:
            self.sinks[platform].post_notice(channel, notice.text)
        except DeliveryError as exc:
            self.store.mark_notice(
                notice.id,
                sent=False,
                error=str(exc),
                permanent=gives_up(exc, attempt),
                next_attempt_at=self.clock()
                + timedelta(seconds=backoff_s(attempt, exc.retry_after)),
            )
            return
        except Exception:
            log.exception("notice %s to %s crashed", notice.id, notice.destination)
            self.store.mark_notice(
                notice.id,
                sent=False,
                error="unexpected error",
                next_attempt_at=self.clock() + timedelta(minutes=5),
            )
            return
        self.store.mark_notice(notice.id, sent=True)

    def push_updates(self, alert_id: int | None = None, report: OutboxReport | None = None) -> int:
        """Re-render posted alerts whose verdicts changed; failures stay flagged for the next
        pass. Only a render of the latest verdicts clears the flag (see `Store.mark_updated`), so
        a stale render is always followed by a fresh one. (Two passes editing one message at the
        same instant may still land out of order until the next pass; edits are idempotent.)"""
        updated = 0
        for delivery in self.store.deliveries_needing_update(self.platforms, alert_id=alert_id):
            if self._update(delivery):
                updated += 1
        if report is not None:
            report.updated += updated
        return updated

    def _update(self, delivery: Delivery) -> bool:
        platform, _channel = split_destination(delivery.destination)
        alert = self.store.alert_view(delivery.alert_id)
        if alert is None or delivery.message_id is None:
            return False
        ref = MessageRef(delivery.destination, delivery.message_id, delivery.thread_id)
        try:
            self.sinks[platform].update_alert(alert, ref)
        except DeliveryError as exc:
            log.warning(
                "could not update alert %s at %s: %s", delivery.alert_id, delivery.destination, exc
            )
            if exc.permanent:  # e.g. the message was deleted: nothing is left to edit
                self.store.mark_updated(delivery.id, delivery.revision)
            return False
        except Exception:
            log.exception(
                "updating alert %s at %s crashed", delivery.alert_id, delivery.destination
            )
            return False
        self.store.mark_updated(delivery.id, delivery.revision)
        return True
