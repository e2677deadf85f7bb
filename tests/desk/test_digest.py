"""The digest: slots in the desk's time zone, once per slot, nothing when there is nothing to
say, and the text (open claims oldest first, verdicts since the previous slot)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.desk.digest import DigestSchedule, compose, slots_around
from bot.models import Verdict
from bot.store import db
from bot.store.outbox import IntentKind
from bot.store.repo import Store
from tests.factories import give_verdict, stored_alert

MINSK = ZoneInfo("Europe/Minsk")  # UTC+3, no DST
TIMES = ("09:00", "17:00")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 3, 1, 5, 0, tzinfo=UTC))  # 08:00 in Minsk


@pytest.fixture
def desk(database_url: str, clock: Clock) -> Iterator[Store]:
    engine = db.make_engine(database_url)
    db.upgrade(engine)
    yield Store(engine, clock=clock)
    engine.dispose()


def test_slots_are_local_times_in_the_desks_zone() -> None:
    now = datetime(2026, 3, 1, 6, 30, tzinfo=UTC)  # 09:30 in Minsk
    assert slots_around(now, TIMES, MINSK) == (
        datetime(2026, 3, 1, 6, 0, tzinfo=UTC),
        datetime(2026, 2, 28, 14, 0, tzinfo=UTC),
    )
    assert slots_around(now, TIMES, ZoneInfo("UTC"))[0] == datetime(2026, 2, 28, 17, 0, tzinfo=UTC)
    # across a DST change the local time stays 09:00: 08:00 UTC in winter, 07:00 in summer
    berlin = ZoneInfo("Europe/Berlin")
    assert slots_around(datetime(2026, 3, 28, 9, 0, tzinfo=UTC), ("09:00",), berlin)[0].hour == 8
    assert slots_around(datetime(2026, 3, 30, 9, 0, tzinfo=UTC), ("09:00",), berlin)[0].hour == 7


def test_a_slot_is_posted_once_and_not_late_after_a_start() -> None:
    schedule = DigestSchedule(TIMES, "Europe/Minsk", ("console",))
    start = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)  # 10:00: the 09:00 digest is not sent late
    assert schedule.due(start) is None
    assert schedule.due(start + timedelta(hours=6)) is None  # 16:00
    due = schedule.due(datetime(2026, 3, 1, 14, 0, 5, tzinfo=UTC))  # 17:00:05
    assert due == (datetime(2026, 3, 1, 14, 0, tzinfo=UTC), datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    assert schedule.due(datetime(2026, 3, 1, 14, 1, tzinfo=UTC)) is None
    assert DigestSchedule((), "UTC", ("console",)).due(start) is None


def test_nothing_is_posted_when_there_is_nothing_to_say(desk: Store, clock: Clock) -> None:
    since = clock.now - timedelta(hours=8)
    assert compose(desk.memory, since=since, now=clock.now, zone=MINSK) is None
    first = stored_alert(desk, 1, claims=1)
    give_verdict(desk, first, 1, Verdict.TRUE, by="Ann")
    # the only claim was checked before the previous digest: still nothing to say
    assert compose(desk.memory, since=clock.now, now=clock.now, zone=MINSK) is None


def test_the_digest_lists_open_claims_and_new_verdicts(desk: Store, clock: Clock) -> None:
    first = stored_alert(desk, 1, claims=2)
    clock.now += timedelta(hours=2)
    second = stored_alert(desk, 2, claims=1)
    give_verdict(desk, first, 2, Verdict.FALSE, by="Ann")
    clock.now += timedelta(hours=1)  # 11:00 in Minsk
    text = compose(desk.memory, since=clock.now - timedelta(hours=2), now=clock.now, zone=MINSK)
    assert text == (
        "Watchdesk digest — 2026-03-01 11:00 (Europe/Minsk)\n"
        "Open claims, oldest first:\n"
        f"• 3h · alert #{first} “Story 1” claim 1: Claim number 1 with 52 prisoners. — "
        "https://news.example/a/1\n"
        f"• 1h · alert #{second} “Story 2” claim 1: Claim number 1 with 52 prisoners. — "
        "https://news.example/a/2\n"
        "Verdicts since 2026-03-01 09:00:\n"
        f"• alert #{first} claim 2 → false (by Ann): Claim number 2 with 52 prisoners. — "
        "https://news.example/a/1"
    )


def test_the_schedule_queues_one_digest_intent_per_channel_and_slot(
    desk: Store, clock: Clock
) -> None:
    stored_alert(desk, 1, claims=1)
    schedule = DigestSchedule(TIMES, "Europe/Minsk", ("console", "slack:C0DESK01"))
    assert schedule.run(desk.memory, desk.outbox, clock.now) == 0  # learns the slot
    clock.now += timedelta(hours=1, minutes=1)  # 09:01
    assert schedule.run(desk.memory, desk.outbox, clock.now) == 2
    again = DigestSchedule(TIMES, "Europe/Minsk", ("console", "slack:C0DESK01"))
    again._seen = clock.now - timedelta(hours=12)  # another worker that also saw 09:00 come
    assert again.run(desk.memory, desk.outbox, clock.now) == 0  # keyed: not twice
    lease = clock.now + timedelta(minutes=5)
    for platform in ("console", "slack"):
        (digest,) = desk.outbox.claim_due(platform, clock.now, lease, kinds=[IntentKind.DIGEST])
        assert digest.text is not None and digest.text.startswith(
            "Watchdesk digest — 2026-03-01 09:00"
        )
