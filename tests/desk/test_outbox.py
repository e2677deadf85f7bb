"""The outbox: each (alert, destination) delivered once, retried on platform errors, recovered
after a crash between posting and recording, and edits pushed after verdicts."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.chat.console import ConsoleSink
from bot.desk.outbox import Outbox
from bot.errors import RemoteError
from bot.models import AlertView, Destination, MessageRef, Verdict
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from tests.factories import give_verdict, posts_of, stored_alert


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class FlakyPlatform(ConsoleSink):
    """A console sink whose platform fails in scripted ways, like a chat API having a bad day."""

    def __init__(self, journal: Path, failures: list[BaseException | str]):
        super().__init__(io.StringIO(), journal)
        self.failures = failures

    def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
        action = self.failures.pop(0) if self.failures else None
        if isinstance(action, BaseException):
            raise action
        ref = super().post_alert(alert, to)
        if action == "die-after-post":
            raise SystemExit("worker killed after the platform accepted the message")
        return ref


class ProcessDied(BaseException):
    pass


def posted(journal: Path) -> list[int]:
    if not journal.exists():
        return []
    return [
        json.loads(line)["alert_id"]
        for line in journal.read_text().splitlines()
        if json.loads(line)["event"] == "alert"
    ]


def test_delivers_each_alert_once_per_destination(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    first = stored_alert(store, 1)
    second = stored_alert(store, 2)
    outbox = Outbox(store, {"console": ConsoleSink(io.StringIO(), journal)})
    assert outbox.deliver_due().sent == 2
    assert outbox.deliver_due().sent == 0
    assert posted(journal) == [first, second]


def test_rate_limit_retry_after_is_honoured_without_duplicates(
    store: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    clock = Clock()
    sink = FlakyPlatform(
        journal, [RemoteError("429 rate limited", retry_after=30), RemoteError("HTTP 500")]
    )
    outbox = Outbox(store, {"console": sink}, clock=clock)
    assert outbox.deliver_due().retrying == 1
    clock.advance(29)
    assert outbox.deliver_due().sent == 0  # still inside Retry-After
    clock.advance(2)
    assert outbox.deliver_due().retrying == 1  # the 500
    clock.advance(60)
    report = outbox.deliver_due()
    assert report.sent + report.recovered == 1
    assert posted(journal) == [alert_id]


def test_permanent_failure_stops_retrying(store: Store, tmp_path: Path) -> None:
    stored_alert(store)
    clock = Clock()
    sink = FlakyPlatform(tmp_path / "j", [RemoteError("channel_not_found", permanent=True)])
    outbox = Outbox(store, {"console": sink}, clock=clock)
    assert outbox.deliver_due().failed == 1
    clock.advance(86400)
    assert outbox.deliver_due().sent == 0


def test_crash_between_post_and_record_does_not_post_twice(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    clock = Clock()
    dying = Outbox(store, {"console": FlakyPlatform(journal, ["die-after-post"])}, clock=clock)
    with pytest.raises(SystemExit):
        dying.deliver_due()
    # restart: a new outbox, after the in-flight window has passed
    clock.advance(600)
    restarted = Outbox(store, {"console": ConsoleSink(io.StringIO(), journal)}, clock=clock)
    report = restarted.deliver_due()
    assert (report.sent, report.recovered) == (0, 1)
    assert posted(journal) == [alert_id]
    [post] = store.outbox.intents_for_alert(alert_id, IntentKind.POST_ALERT)
    assert post.state == "sent" and post.message_id == f"console-{alert_id}"


def test_crash_before_post_redelivers_on_restart(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    clock = Clock()
    dying = Outbox(store, {"console": FlakyPlatform(journal, [ProcessDied()])}, clock=clock)
    with pytest.raises(ProcessDied):
        dying.deliver_due()
    clock.advance(600)
    report = Outbox(
        store, {"console": ConsoleSink(io.StringIO(), journal)}, clock=clock
    ).deliver_due()
    assert report.sent == 1 and posted(journal) == [alert_id]


class OtherPlatform(ConsoleSink):
    platform = "slack"


def test_unconnected_platform_waits_instead_of_losing_the_alert(
    store: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store, destinations=("slack:C0123",))
    outbox = Outbox(store, {"console": ConsoleSink(io.StringIO())})
    report = outbox.deliver_due()
    assert (report.sent, report.retrying, report.failed) == (0, 0, 0)
    [post] = store.outbox.intents_for_alert(alert_id, IntentKind.POST_ALERT)
    assert post.state == "pending" and post.attempts == 0
    # a worker connected to that platform (or this one, once its token is set) delivers it
    outbox.register(OtherPlatform(io.StringIO(), journal))
    assert outbox.deliver_due().sent == 1 and posted(journal) == [alert_id]


def test_concurrent_passes_never_post_twice(store: Store, tmp_path: Path) -> None:
    """Passes overlap (the poll tick and the outbox job), and the lease is shorter than a batch
    takes to send, so rows are re-claimed mid-batch: each must still be posted once."""
    import threading
    import time

    journal = tmp_path / "journal.jsonl"

    class SlowPlatform(ConsoleSink):
        def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
            time.sleep(0.15)  # like Slack's pacing or a slow Discord answer, only shorter
            return super().post_alert(alert, to)

    ids = [stored_alert(store, n) for n in range(1, 15)]
    sink = SlowPlatform(io.StringIO(), journal)
    passes = [
        threading.Thread(target=Outbox(store, {"console": sink}, lease=0.3).deliver_due)
        for _ in range(3)
    ]
    for t in passes:
        t.start()
        time.sleep(0.35)  # each new pass starts after the previous one's lease ran out
    for t in passes:
        t.join()
    Outbox(store, {"console": sink}).deliver_due()  # whatever is left
    assert sorted(posted(journal)) == ids


def test_a_stale_edit_never_clears_a_newer_verdict(store: Store) -> None:
    alert_id = stored_alert(store)
    outbox = Outbox(store, {"console": ConsoleSink(io.StringIO())})
    outbox.deliver_due()
    give_verdict(store, alert_id, 1, Verdict.FALSE)
    [stale] = store.outbox.pending(kind=IntentKind.EDIT_ALERT)
    give_verdict(store, alert_id, 1, Verdict.TRUE, by="Bo")
    # the slow render of the first verdict lands: it must not mark the edit done
    assert not store.outbox.mark_sent(stale.id, revision=stale.revision)
    assert store.outbox.pending(kind=IntentKind.EDIT_ALERT) != []
    assert outbox.push_updates(alert_id) == 1
    assert store.outbox.pending(kind=IntentKind.EDIT_ALERT) == []


def test_verdicts_push_an_update_to_every_posted_copy(store: Store, tmp_path: Path) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    out = io.StringIO()
    outbox = Outbox(store, {"console": ConsoleSink(out, journal)})
    outbox.deliver_due()
    give_verdict(store, alert_id, 1, Verdict.FALSE, source_url="https://src.example/r")
    assert outbox.push_updates(alert_id) == 1
    assert "[FALSE]" in out.getvalue() and "Ann" in out.getvalue()
    assert outbox.push_updates(alert_id) == 0


def test_notices_are_delivered_through_the_outbox(store: Store) -> None:
    out = io.StringIO()
    store.outbox.add_notice("console", "Feed disabled: https://dead.example/")
    Outbox(store, {"console": ConsoleSink(out)}).deliver_due()
    assert "NOTICE: Feed disabled" in out.getvalue()
    later = datetime.now(UTC) + timedelta(days=1)
    assert store.outbox.claim_due("console", later, later) == []


class DeletedMessages(ConsoleSink):
    """A platform on which every posted alert has since been deleted."""

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        raise RemoteError("message_not_found", permanent=True)


def test_update_of_a_deleted_message_is_not_retried_forever(store: Store) -> None:
    alert_id = stored_alert(store)
    outbox = Outbox(store, {"console": DeletedMessages(io.StringIO())})
    outbox.deliver_due()
    give_verdict(store, alert_id, 1, Verdict.TRUE)
    assert outbox.push_updates(alert_id) == 0
    assert store.outbox.pending(kind=IntentKind.EDIT_ALERT) == []


def test_a_thread_post_waits_for_its_alert_then_lands_in_its_thread(
    store: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    assert store.outbox.add_thread_post(alert_id, "console", "Also reported by BelTA", key="k1")
    assert not store.outbox.add_thread_post(alert_id, "console", "again", key="k1")  # once
    clock = Clock()
    down = FlakyPlatform(journal, [RemoteError("HTTP 500")])
    assert Outbox(store, {"console": down}, clock=clock).deliver_due().retrying == 1
    [waiting] = store.outbox.pending(kind=IntentKind.THREAD_POST)
    assert waiting.attempts == 0  # never tried while its alert is not posted
    clock.advance(60)
    out = io.StringIO()
    report = Outbox(store, {"console": ConsoleSink(out, journal)}, clock=clock).deliver_due()
    assert report.sent == 2 and store.outbox.pending() == []
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    assert [e["event"] for e in events] == ["alert", "thread"]
    assert events[1] == {
        "event": "thread",
        "message_id": f"console-{alert_id}",
        "text": "Also reported by BelTA",
    }
    [reply] = store.outbox.intents_for_alert(alert_id, IntentKind.THREAD_POST)
    assert reply.state == "sent" and reply.thread_id == f"console-{alert_id}"


def test_a_thread_post_under_an_alert_that_gave_up_gives_up_too(store: Store) -> None:
    alert_id = stored_alert(store)
    store.outbox.add_thread_post(alert_id, "console", "Also reported by BelTA")
    sink = FlakyPlatform(Path("/nonexistent"), [RemoteError("channel_not_found", permanent=True)])
    assert Outbox(store, {"console": sink}).deliver_due().failed == 1
    [reply] = store.outbox.intents_for_alert(alert_id, IntentKind.THREAD_POST)
    assert reply.state == "failed" and "never posted" in (reply.last_error or "")


class BuggyPlatform(ConsoleSink):
    def post_notice(self, to: Destination, text: str) -> None:
        raise KeyError("a bug in the sink")


def test_a_bug_in_a_sink_is_logged_once_and_retried_within_the_bound(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    store.outbox.add_notice("console", "Feed disabled")
    clock = Clock()
    outbox = Outbox(store, {"console": BuggyPlatform(io.StringIO())}, clock=clock, max_attempts=3)
    reports = []
    for _ in range(5):
        reports.append(outbox.deliver_due())
        clock.advance(3600)
    assert [(r.retrying, r.failed) for r in reports] == [(1, 0), (1, 0), (0, 1), (0, 0), (0, 0)]
    crashes = [r for r in caplog.records if "crashed (a bug)" in r.getMessage()]
    assert len(crashes) == 3 and all(r.exc_info for r in crashes)
    assert store.outbox.pending() == []  # given up: nothing is retried for ever


def test_a_digest_is_a_channel_message_sent_once_per_key(store: Store) -> None:
    out = io.StringIO()
    assert store.outbox.add_digest("console", "3 alerts today", key="digest-2026-05-01")
    assert not store.outbox.add_digest("console", "3 alerts today", key="digest-2026-05-01")
    assert Outbox(store, {"console": ConsoleSink(out)}).deliver_due().sent == 1
    assert out.getvalue().count("3 alerts today") == 1


def test_a_pass_tries_each_intent_once_even_with_a_zero_retry_after(
    store: Store, tmp_path: Path
) -> None:
    journal = tmp_path / "journal.jsonl"
    alert_id = stored_alert(store)
    sink = FlakyPlatform(journal, [RemoteError("429", retry_after=0) for _ in range(3)])
    outbox = Outbox(store, {"console": sink})
    assert outbox.deliver_due().retrying == 1  # once per pass, not hammered
    [post] = posts_of(store, alert_id)
    assert post.attempts == 1 and post.state == "pending"
    assert outbox.deliver_due().retrying == 1  # due again at once in the next pass
