"""Delivers every message intent once, one worker per connected platform.

The intents (post an alert, edit it, post in its thread, post a notice or a digest) are written
by the store in the same transaction as what caused them (`bot.store.outbox`). Each platform's
`DeliveryWorker` drains only its own queue on its own thread, so a Slack pacing wait or a
Discord 429 delays only that platform. For every intent the state machine is the same:

1. *claim* due rows atomically (UPDATE … RETURNING, SKIP LOCKED on Postgres), which pushes their
   next attempt past the lease, so no other worker or pass takes them;
2. an alert post that was attempted before first asks the platform whether it already landed
   (`Sink.find_posted`: a crash between send and record);
3. *begin* the attempt with a compare-and-set on the attempt count (False: another worker took
   the row after our lease ran out, so we must not send), renewing the lease;
4. send, then mark it sent; a `RemoteError` or a bug backs it off with the one `RetryPolicy`
   and gives up within its bound (a bug is logged once with its traceback).

The lease must outlast the slowest sink call (`Sink.request_timeout_s` × `LEASE_SAFETY`),
checked when a sink is registered: otherwise a platform slower than the lease would have a
second worker post the same alert.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from bot.desk.sinks import Sink
from bot.errors import ConfigError, RemoteError
from bot.models import AlertView, MessageRef
from bot.retry import RetryPolicy
from bot.store.outbox import Intent, IntentKind
from bot.store.schema import utcnow

log = logging.getLogger(__name__)

LEASE_S = 300.0
MAX_ATTEMPTS = 20  # failures without a platform-given Retry-After, ~10 h with backoff
BASE_BACKOFF_S = 5.0
MAX_BACKOFF_S = 3600.0
REQUEST_TIMEOUT_S = 30.0
LEASE_SAFETY = 2.0  # the lease is at least twice the longest sink call
CLAIM_BATCH = 10  # small, so every claimed row is sent well within its lease (Slack: 1 msg/s)
MAX_PER_PASS = 500
IDLE_S = 1.0  # an idle worker looks for due intents this often (sooner when woken)


class IntentQueue(Protocol):
    """What delivery needs of the outbox repository."""

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
    ) -> list[Intent]: ...

    def begin_attempt(self, intent_id: int, seen_attempts: int, retry_at: datetime) -> bool: ...

    def mark_sent(
        self, intent_id: int, ref: MessageRef | None = None, *, revision: int | None = None
    ) -> bool: ...

    def mark_failed(
        self,
        intent_id: int,
        error: str,
        *,
        attempt: int,
        next_attempt_at: datetime,
        permanent: bool,
    ) -> None: ...

    def posted_ref(self, alert_id: int, destination: str) -> MessageRef | None: ...


class AlertViews(Protocol):
    def alert_view(self, alert_id: int) -> AlertView | None: ...


class OutboxStore(Protocol):
    outbox: IntentQueue
    alerts: AlertViews


@dataclass
class OutboxReport:
    sent: int = 0
    recovered: int = 0
    retrying: int = 0
    failed: int = 0
    updated: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.recovered + self.retrying + self.failed + self.updated

    def add(self, other: OutboxReport) -> None:
        self.sent += other.sent
        self.recovered += other.recovered
        self.retrying += other.retrying
        self.failed += other.failed
        self.updated += other.updated


OnResult = Callable[[str, str, str], None]
"""(platform, intent kind, outcome) after each attempt, outcome one of `OutboxReport`'s
fields: the operator's metrics hook (`bot.ops.observer.Observer.delivered`)."""


class _Gone(Exception):
    """What the intent refers to no longer exists (alert deleted, never posted)."""


class Outbox:
    """The delivery service. ``lease``, ``max_attempts``, ``base_backoff``, ``max_backoff`` and
    ``request_timeout`` (seconds, counts) are the `[outbox]` settings; ``request_timeout`` is
    what the app builds the chat sinks with, and each registered sink's actual bound is checked
    against the lease."""

    def __init__(
        self,
        store: OutboxStore,
        sinks: Mapping[str, Sink],
        clock: Callable[[], datetime] = utcnow,
        *,
        lease: float = LEASE_S,
        max_attempts: int = MAX_ATTEMPTS,
        base_backoff: float = BASE_BACKOFF_S,
        max_backoff: float = MAX_BACKOFF_S,
        request_timeout: float = REQUEST_TIMEOUT_S,
        on_result: OnResult | None = None,
    ):
        self.store = store
        self.on_result = on_result
        self.clock = clock
        self.lease = lease
        self.request_timeout = request_timeout
        self.policy = RetryPolicy(base_backoff, max_backoff, max_attempts)
        self.sinks: dict[str, Sink] = {}
        self._workers: dict[str, DeliveryWorker] = {}
        self._running = False
        self._idle_s = IDLE_S
        for sink in sinks.values():
            self.register(sink)

    # ------------------------------------------------------------------ sinks and workers

    def register(self, sink: Sink) -> None:
        """Connect a platform (its worker starts at once if workers are running)."""
        check_lease(self.lease, sink.request_timeout_s, f"the {sink.platform} sink's timeout")
        self.sinks[sink.platform] = sink
        if self._running and sink.platform not in self._workers:
            self._start_worker(sink.platform)

    @property
    def platforms(self) -> tuple[str, ...]:
        return tuple(sorted(self.sinks))

    @property
    def workers_running(self) -> bool:
        return self._running

    def start_workers(self, idle_s: float = IDLE_S) -> None:
        """One delivery thread per connected platform (and per platform registered later)."""
        self._idle_s = idle_s
        self._running = True
        for platform in self.platforms:
            self._start_worker(platform)

    def _start_worker(self, platform: str) -> None:
        worker = DeliveryWorker(self, platform, self._idle_s)
        self._workers[platform] = worker
        worker.start()

    def wake(self) -> None:
        """New intents were written: let idle workers look now rather than at their next tick."""
        for worker in self._workers.values():
            worker.wake()

    def stop_workers(self, timeout: float | None = None) -> None:
        """Stop every worker after its current intent (a send in flight is never cut short)."""
        self._running = False
        for worker in self._workers.values():
            worker.stop()
        for worker in self._workers.values():
            worker.join(timeout)
        self._workers.clear()

    # ------------------------------------------------------------------ passes

    def deliver_due(self, max_rows: int = MAX_PER_PASS) -> OutboxReport:
        """One pass over every connected platform's due intents, in this thread (the CLI, the
        demo and tests; `watchdesk run` uses the workers). Never raises for a platform error."""
        report = OutboxReport()
        for platform in self.platforms:
            report.add(self.deliver_platform(platform, max_rows))
        return report

    def deliver_platform(
        self,
        platform: str,
        max_rows: int = MAX_PER_PASS,
        *,
        alert_id: int | None = None,
        kinds: Sequence[IntentKind] = (),
    ) -> OutboxReport:
        """Claim and send ``platform``'s due intents a small batch at a time."""
        report = OutboxReport()
        sink = self.sinks[platform]
        claimed = 0
        tried: set[int] = set()
        while claimed < max_rows:
            batch = self.store.outbox.claim_due(
                platform,
                self.clock(),
                self._lease_until(),
                limit=min(CLAIM_BATCH, max_rows - claimed),
                alert_id=alert_id,
                kinds=kinds,
                exclude=sorted(tried),
            )
            for intent in batch:
                self._handle(intent, sink, report)
            tried.update(intent.id for intent in batch)
            claimed += len(batch)
            # Until nothing more is due: a batch that posted alerts may have unblocked their
            # thread posts; a row already tried in this pass waits for the next one.
            if not batch:
                break
        return report

    def push_updates(self, alert_id: int | None = None, report: OutboxReport | None = None) -> int:
        """Edit the posted copies of ``alert_id`` (every alert: None) now, in this thread, e.g.
        right after a verdict; returns how many were edited. A render of stale verdicts never
        marks the edit done (`OutboxRepository.mark_sent` with its revision)."""
        done = OutboxReport()
        for platform in self.platforms:
            done.add(
                self.deliver_platform(platform, alert_id=alert_id, kinds=(IntentKind.EDIT_ALERT,))
            )
        if report is not None:
            report.add(done)
        return done.updated

    # ------------------------------------------------------------------ one intent

    def _lease_until(self) -> datetime:
        return self.clock() + timedelta(seconds=self.lease)

    def _handle(self, intent: Intent, sink: Sink, report: OutboxReport) -> None:
        attempt = intent.attempts + 1
        try:
            if intent.kind is IntentKind.POST_ALERT and intent.attempts > 0:
                assert intent.alert_id is not None
                found = sink.find_posted(intent.alert_id, intent.destination)
                if found is not None:
                    self.store.outbox.mark_sent(intent.id, found)
                    self._count(intent, report, "recovered")
                    return
            if not self.store.outbox.begin_attempt(intent.id, intent.attempts, self._lease_until()):
                return  # another worker took this row after our lease ran out: it sends, not us
            self._send(intent, sink, report)
        except RemoteError as exc:
            self._failed(intent, attempt, str(exc), report, exc)
        except _Gone as exc:
            self._failed(intent, attempt, str(exc), report, RemoteError(str(exc), permanent=True))
        except Exception as exc:  # a bug: logged once, retried within the policy's bound
            log.exception(
                "%s %s to %s crashed (a bug)",
                intent.kind,
                intent.id,
                intent.destination,
                extra=_ids(intent),
            )
            self._failed(intent, attempt, f"internal error: {exc!r}", report, None)

    def _send(self, intent: Intent, sink: Sink, report: OutboxReport) -> None:
        outbox = self.store.outbox
        if intent.kind is IntentKind.POST_ALERT:
            outbox.mark_sent(intent.id, sink.post_alert(self._alert(intent), intent.destination))
            self._count(intent, report, "sent")
        elif intent.kind is IntentKind.EDIT_ALERT:
            alert = self._alert(intent)
            sink.update_alert(alert, self._posted(intent))
            outbox.mark_sent(intent.id, revision=intent.revision)
            self._count(intent, report, "updated")
        elif intent.kind is IntentKind.THREAD_POST:
            outbox.mark_sent(
                intent.id, sink.post_in_thread(self._posted(intent), intent.text or "")
            )
            self._count(intent, report, "sent")
        else:  # NOTICE, DIGEST: channel messages
            sink.post_notice(intent.destination, intent.text or "")
            outbox.mark_sent(intent.id)
            self._count(intent, report, "sent")

    def _alert(self, intent: Intent) -> AlertView:
        alert = self.store.alerts.alert_view(intent.alert_id) if intent.alert_id else None
        if alert is None:
            raise _Gone(f"alert {intent.alert_id} no longer exists")
        return alert

    def _posted(self, intent: Intent) -> MessageRef:
        assert intent.alert_id is not None
        ref = self.store.outbox.posted_ref(intent.alert_id, str(intent.destination))
        if ref is None:
            raise _Gone(f"alert {intent.alert_id} was never posted to {intent.destination}")
        return ref

    def _failed(
        self,
        intent: Intent,
        attempt: int,
        error: str,
        report: OutboxReport,
        exc: RemoteError | None,
    ) -> None:
        permanent = self.policy.gives_up(attempt, exc)
        wait = self.policy.delay_s(attempt, exc.retry_after if exc else None)
        self.store.outbox.mark_failed(
            intent.id,
            error,
            attempt=attempt,
            permanent=permanent,
            next_attempt_at=self.clock() + timedelta(seconds=wait),
        )
        what = f"{intent.kind} {intent.id} (alert {intent.alert_id}) to {intent.destination}"
        if permanent:
            self._count(intent, report, "failed")
            log.error(
                "giving up on %s after %d attempt(s): %s", what, attempt, error, extra=_ids(intent)
            )
        else:
            self._count(intent, report, "retrying")
            log.warning(
                "%s failed (attempt %d), retrying in %.0fs: %s",
                what,
                attempt,
                wait,
                error,
                extra=_ids(intent),
            )

    def _count(self, intent: Intent, report: OutboxReport, outcome: str) -> None:
        """One attempt's result, in the pass's report, the log and the metrics hook."""
        setattr(report, outcome, getattr(report, outcome) + 1)
        if outcome in ("sent", "recovered", "updated"):
            log.info(
                "%s %s (alert %s) to %s: %s",
                intent.kind,
                intent.id,
                intent.alert_id,
                intent.destination,
                outcome,
                extra=_ids(intent),
            )
        if self.on_result is not None:  # a metrics bug must never fail a delivery that worked
            try:
                self.on_result(intent.destination.platform, str(intent.kind), outcome)
            except Exception:
                log.exception("the delivery result hook failed (a bug)")


def _ids(intent: Intent) -> dict[str, int | None]:
    """The ids a log line about an intent carries as fields (JSON logs)."""
    return {"delivery_id": intent.id, "alert_id": intent.alert_id}


def check_lease(lease: float, call_s: float, what: str) -> None:
    """Refuse a lease that a sink call could outlast (a second worker would send again)."""
    if lease <= call_s * LEASE_SAFETY:
        raise ConfigError(
            f"[outbox] lease ({lease:g} s) must be more than {LEASE_SAFETY:g} × {what} "
            f"({call_s:g} s), or a slow platform gets the same message twice; raise "
            f"[outbox] lease or lower [outbox] request_timeout"
        )


class DeliveryWorker(threading.Thread):
    """Drains one platform's queue until stopped: whatever is due, then a short idle wait
    (cut short by `wake`). A failure of the pass itself (the database away) is logged and
    retried at the next tick; it never ends the worker."""

    def __init__(self, outbox: Outbox, platform: str, idle_s: float = IDLE_S):
        super().__init__(name=f"delivery-{platform}", daemon=True)
        self.outbox = outbox
        self.platform = platform
        self.idle_s = idle_s
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    def run(self) -> None:
        while not self._stopping.is_set():
            self._wake.clear()
            try:
                report = self.outbox.deliver_platform(self.platform)
            except Exception:
                log.exception(
                    "delivery to %s failed; retrying in %.0fs", self.platform, self.idle_s
                )
                report = OutboxReport()
            if report.handled >= MAX_PER_PASS:
                continue  # more is due: no pause
            self._wake.wait(self.idle_s)
