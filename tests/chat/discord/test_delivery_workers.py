"""The delivery workers against the real Slack and Discord sinks on loopback fakes: a platform
slower than the lease never gets a second post, and a rate-limited platform holds up only
itself."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.chat.console import ConsoleSink
from bot.chat.slack.client import build_web_client
from bot.chat.slack.sink import ChannelPacer, SlackSink
from bot.desk.outbox import Outbox
from bot.errors import ConfigError
from bot.store.repo import Store
from tests.chat.discord.fake_discord import Injection
from tests.chat.discord.world import DiscordWorld
from tests.chat.slack.fake_slack import BOT_TOKEN, FakeSlack
from tests.factories import posts_of, stored_alert

DESK = "C0DESK01"


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_channel(DESK, "news-desk")
    fake.serve()
    yield fake
    fake.close()


def slack_sink(fake: FakeSlack, timeout: float) -> SlackSink:
    client = build_web_client(BOT_TOKEN, fake.base_url, timeout=timeout)
    return SlackSink(client, pacer=ChannelPacer(interval=0.0), max_pace_s=0.2)


def wait_until(condition, timeout: float = 30.0) -> float:  # type: ignore[no-untyped-def]
    """Poll ``condition`` until true; returns the monotonic time it became true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(0.02)
    raise AssertionError("condition not met in time")


def test_a_lease_that_a_sink_call_could_outlast_is_refused(
    store: Store, fake_slack: FakeSlack
) -> None:
    sink = slack_sink(fake_slack, timeout=20)  # 20.2 s per call at most
    with pytest.raises(ConfigError, match=r"\[outbox\] lease \(30 s\) must be more than 2"):
        Outbox(store, {"slack": sink}, lease=30)
    assert Outbox(store, {"slack": sink}, lease=41).platforms == ("slack",)


def test_a_slack_slower_than_the_lease_never_gets_two_posts(
    store: Store, fake_slack: FakeSlack
) -> None:
    """Slack takes 4 s to store the message and answer; the lease is 3 s. Two workers (two
    processes) drain the queue: the client gives up at 1 s, so the lease is never outlived,
    and the retry finds the message instead of posting it again."""
    alert_id = stored_alert(store, destinations=(f"slack:{DESK}",))
    fake_slack.fail_next("chat.postMessage", "slow", delay=4.0)
    outboxes = [Outbox(store, {"slack": slack_sink(fake_slack, timeout=1)}, lease=3) for _ in "ab"]
    for outbox in outboxes:
        outbox.start_workers(idle_s=0.05)
    try:
        wait_until(lambda: posts_of(store, alert_id)[0].state == "sent", timeout=40)
    finally:
        for outbox in outboxes:
            outbox.stop_workers()
    assert len(fake_slack.top_level(DESK)) == 1
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    [post] = posts_of(store, alert_id)
    assert post.message_id == fake_slack.top_level(DESK)[0]["ts"]


def test_a_discord_rate_limited_for_a_minute_does_not_delay_the_console(
    world: DiscordWorld, tmp_path: Path
) -> None:
    journal = tmp_path / "console.jsonl"
    store = world.watchdesk.store
    outbox = world.watchdesk.outbox
    outbox.register(ConsoleSink(io.StringIO(), journal))
    world.fake.inject(
        Injection("POST", r"/channels/\d+/messages", body={"retry_after": 60.0}, times=100)
    )
    stuck = world.new_alert(1)  # discord.py waits the 429 out inside the sink call
    outbox.start_workers(idle_s=0.05)
    try:
        wait_until(lambda: world.fake.calls_to("POST", r"/channels/\d+/messages"))
        started = time.monotonic()
        quick = stored_alert(store, 2, destinations=("console",))
        outbox.wake()
        delivered = wait_until(
            lambda: (
                journal.exists()
                and any(
                    json.loads(line).get("alert_id") == quick
                    for line in journal.read_text().splitlines()
                )
            )
        )
        assert delivered - started < 1.0
        assert posts_of(store, stuck)[0].state == "pending"
    finally:
        outbox.stop_workers(timeout=15)
