"""The digest through the worker's cycle and the real Slack adapter: posted to the channel at
the desk's local time, once; nothing when there is nothing to say."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.desk.digest import DigestSchedule
from tests.chat.slack.world import DESK, SlackWorld, response_payload


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path)
    yield world
    world.close()


def cycle_at(world: SlackWorld, moment: datetime) -> None:
    world.watchdesk.store.clock = lambda: moment  # the cycle reads the time here
    world.watchdesk.run_cycle()


def channel_posts(world: SlackWorld) -> list[str]:
    return [
        c.params["text"]
        for c in world.fake.calls_to("chat.postMessage")
        if c.params["channel"] == DESK and not c.params.get("thread_ts")
    ]


def test_the_digest_is_posted_at_the_desks_local_time_once(world: SlackWorld) -> None:
    alert_id, _ts = world.posted_alert(claims=1)
    world.watchdesk.store.feeds.remove_feed("https://feeds.example/1.xml")  # no polling
    world.watchdesk.digest = DigestSchedule(("09:00",), "Europe/Minsk", (f"slack:{DESK}",))
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    morning = tomorrow.replace(hour=5, minute=0, second=0, microsecond=0)  # 08:00 in Minsk
    world.reset()
    cycle_at(world, morning)
    cycle_at(world, morning + timedelta(minutes=59))
    assert channel_posts(world) == []
    cycle_at(world, morning + timedelta(hours=1, seconds=30))  # 09:00:30 in Minsk
    cycle_at(world, morning + timedelta(hours=1, minutes=5))
    day = morning.strftime("%Y-%m-%d")
    assert channel_posts(world) == [
        f"Watchdesk digest — {day} 09:00 (Europe/Minsk)\n"
        "Open claims, oldest first:\n"
        f"• {(morning + timedelta(hours=1) - _alerted(world, alert_id)) // timedelta(hours=1)}h"
        f" · alert #{alert_id} “Story 1” claim 1: Claim number 1 with 52 prisoners. — "
        "https://news.example/a/1\n"
        f"No verdicts since {(morning - timedelta(hours=23)).strftime('%Y-%m-%d')} 09:00."
    ]


def _alerted(world: SlackWorld, alert_id: int) -> datetime:
    [claim] = world.watchdesk.store.memory.open_claims_by_salience()
    assert claim.alert_id == alert_id
    return claim.alerted_at


def test_no_digest_when_nothing_is_open_and_nothing_was_checked(world: SlackWorld) -> None:
    world.watchdesk.digest = DigestSchedule(("09:00",), "Europe/Minsk", (f"slack:{DESK}",))
    morning = datetime(2026, 3, 1, 5, 0, tzinfo=UTC)
    cycle_at(world, morning)
    cycle_at(world, morning + timedelta(hours=2))
    assert channel_posts(world) == []


def test_digest_now_posts_in_the_channel_it_was_asked_in(world: SlackWorld) -> None:
    _ack, answer = world.command("/digest", "now")
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%d")
    assert re.fullmatch(
        f"Nothing for a digest: no open claims and no verdicts since {yesterday} "
        r"\d\d:\d\d\.",
        response_payload(answer)["text"],
    )
    alert_id, _ts = world.posted_alert(claims=1)
    world.reset()
    _ack, answer = world.command("/digest", "")
    assert response_payload(answer)["text"] == "Digest posted in this channel."
    world.watchdesk.run_outbox_once()
    [digest] = channel_posts(world)
    assert digest.startswith("Watchdesk digest — ")
    assert f"· alert #{alert_id} “Story " in digest
    assert "” claim 1: Claim number 1 with 52 prisoners. — https://news.example/a/" in digest
