"""Delivers each (alert, destination) exactly once, and pushes alert edits after verdicts.

The alert and its outbox rows are written before any send (`Store.create_alert`). Before each
send the attempt is recorded, so after a crash the next attempt first asks the platform whether
the alert is already there (`Sink.find_posted`) instead of posting it twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.desk.sinks import DeliveryError, Sink, split_destination
from bot.models import MessageRef
from bot.store.repo import Delivery, Store
from bot.store.schema import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 12
MAX_BACKOFF_S = 3600.0
IN_FLIGHT_S = 120.0


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


class Outbox:
    def __init__(
        self,
        store: Store,
        sinks: Mapping[str, Sink],
        clock: Callable[[], datetime] = utcnow,
    ):
        self.store = store
        self.sinks = dict(sinks)
        self.clock = clock

    def register(self, sink: Sink) -> None:
        self.sinks[sink.platform] = sink

    def deliver_due(self) -> OutboxReport:
        """One pass over due alert deliveries and notices; never raises for a platform error."""
        report = OutboxReport()
        for delivery in self.store.due_deliveries(self.clock()):
            self._deliver(delivery, report)
        self._deliver_notices()
        self.push_updates(report=report)
        return report

    def _deliver(self, delivery: Delivery, report: OutboxReport) -> None:
        platform, channel = split_destination(delivery.destination)
        sink = self.sinks.get(platform)
        if sink is None:
            self._fail(delivery, f"no {platform} connection is configured", None, report)
            return
        alert = self.store.alert_view(delivery.alert_id)
        if alert is None:
            return
        try:
            if delivery.attempts > 0:
                found = sink.find_posted(delivery.alert_id, channel)
                if found is not None:
                    self.store.mark_delivered(delivery.id, found)
                    report.recovered += 1
                    return
            self.store.begin_delivery_attempt(
                delivery.id, delivery.attempts + 1, self.clock() + timedelta(seconds=IN_FLIGHT_S)
            )
            ref = sink.post_alert(alert, channel)
        except DeliveryError as exc:
            self._fail(delivery, str(exc), exc, report)
            return
        except Exception as exc:  # a sink bug must not stop the other deliveries
            log.exception(
                "delivery %s of alert %s to %s crashed",
                delivery.id,
                delivery.alert_id,
                delivery.destination,
            )
            self._fail(delivery, f"unexpected error: {exc!r}", None, report)
            return
        self.store.mark_delivered(delivery.id, ref)
        report.sent += 1

    def _fail(
        self, delivery: Delivery, error: str, exc: DeliveryError | None, report: OutboxReport
    ) -> None:
        attempts = delivery.attempts + 1
        permanent = bool(exc and exc.permanent) or attempts >= MAX_ATTEMPTS
        wait = backoff_s(attempts, exc.retry_after if exc else None)
        self.store.mark_delivery_failed(
            delivery.id,
            error,
            attempt=attempts,
            permanent=permanent,
            next_attempt_at=self.clock() + timedelta(seconds=wait),
        )
        if permanent:
            report.failed += 1
            log.error(
                "giving up on alert %s to %s after %d attempts: %s",
                delivery.alert_id,
                delivery.destination,
                attempts,
                error,
            )
        else:
            report.retrying += 1
            log.warning(
                "alert %s to %s failed (attempt %d), retrying in %.0fs: %s",
                delivery.alert_id,
                delivery.destination,
                attempts,
                wait,
                error,
            )

    def _deliver_notices(self) -> None:
        for notice in self.store.due_notices(self.clock()):
            platform, channel = split_destination(notice.destination)
            sink = self.sinks.get(platform) or self.sinks.get("console")
            try:
                if sink is None:
                    raise DeliveryError(f"no {platform} connection is configured")
                sink.post_notice(channel if sink.platform == platform else "", notice.text)
            except DeliveryError as exc:
                wait = backoff_s(notice.attempts + 1, exc.retry_after)
                self.store.mark_notice(
                    notice.id,
                    sent=False,
                    error=str(exc),
                    permanent=exc.permanent or notice.attempts + 1 >= MAX_ATTEMPTS,
                    next_attempt_at=self.clock() + timedelta(seconds=wait),
                )
                continue
            self.store.mark_notice(notice.id, sent=True)

    def push_updates(self, alert_id: int | None = None, report: OutboxReport | None = None) -> int:
        """Re-render posted alerts whose verdicts changed; failures stay flagged for the next pass."""
        updated = 0
        for delivery in self.store.deliveries_needing_update():
            if alert_id is not None and delivery.alert_id != alert_id:
                continue
            if self._update(delivery):
                updated += 1
        if report is not None:
            report.updated += updated
        return updated

    def _update(self, delivery: Delivery) -> bool:
        platform, _channel = split_destination(delivery.destination)
        sink = self.sinks.get(platform)
        alert = self.store.alert_view(delivery.alert_id)
        if sink is None or alert is None or delivery.message_id is None:
            return False
        ref = MessageRef(delivery.destination, delivery.message_id, delivery.thread_id)
        try:
            sink.update_alert(alert, ref)
        except DeliveryError as exc:
            log.warning(
                "could not update alert %s at %s: %s", delivery.alert_id, delivery.destination, exc
            )
            if exc.permanent:  # e.g. the message was deleted: nothing is left to edit
                self.store.mark_updated(delivery.id)
            return False
        except Exception:
            log.exception(
                "updating alert %s at %s crashed", delivery.alert_id, delivery.destination
            )
            return False
        self.store.mark_updated(delivery.id)
        return True
