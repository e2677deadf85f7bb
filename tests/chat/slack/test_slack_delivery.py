"""Alerts from a loopback feed to a Slack message, through the real poller, desk and outbox —
and the failures delivery must survive without posting twice or losing an alert."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app import Watchdesk
from bot.chat.slack.client import build_web_client
from bot.chat.slack.escape import escape_text
from bot.chat.slack.sink import ChannelPacer, SlackSink
from bot.desk.outbox import Outbox
from bot.models import Destination
from bot.store.schema import utcnow
from tests.chat.slack.fake_slack import BOT_TOKEN
from tests.chat.slack.world import DESK, SlackWorld, desk_settings
from tests.factories import posts_of, stored_alert
from tests.loopback import LoopbackServer

HOSTILE_TITLE = (
    "Lukashenko &lt;!channel&gt; <!here> <@U0ALICE1> <!subteam^S0EDITOR> <http://evil|bank.com>"
)

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Minsk Wire</title><link>https://wire.example/</link>
<description>d</description>
<item><title>Lukashenko greets US officers at Zapad-2025 drills</title>
<link>https://wire.example/zapad?id=7&amp;lang=en</link><guid>wire-7</guid>
<pubDate>Fri, 12 Sep 2025 10:30:00 GMT</pubDate>
<description>Lukashenko greeted officers from 23 countries at the Zapad-2025 drills on Friday.
Minsk said 52 political prisoners had been released in the past year.
The exercise ends on Tuesday, the defence ministry said.</description></item>
<item><title><![CDATA[HOSTILE]]></title><link>https://wire.example/8</link><guid>wire-8</guid>
<description>Lukashenko spoke again on Saturday about the drills and the observers.</description></item>
</channel></rss>""".replace("HOSTILE", HOSTILE_TITLE).encode()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path)
    yield world
    world.close()


def later(world: SlackWorld, hours: float = 2) -> Outbox:
    """The same outbox, its clock moved past every backoff, so a retry is due now."""
    return Outbox(
        world.watchdesk.store,
        {"slack": world.sink},
        clock=lambda: utcnow() + timedelta(hours=hours),
    )


def test_article_flows_from_feed_to_slack(world: SlackWorld) -> None:
    with LoopbackServer() as site:
        url = site.add("/feed.xml", RSS, headers=[("Content-Type", "application/rss+xml")])
        world.watchdesk.store.feeds.add_feed(url, interval_s=600, name="Minsk Wire")
        summary = world.watchdesk.run_cycle()
    assert len(summary.alerts) == 2 and summary.outbox.sent == 2
    posts = world.fake.calls_to("chat.postMessage")
    assert [p.params["channel"] for p in posts] == [DESK, DESK]
    first = next(p for p in posts if "zapad" in p.params["blocks"][0]["text"]["text"])
    alert_id = first.params["metadata"]["event_payload"]["alert_id"]
    assert first.params["metadata"]["event_type"] == "watchdesk_alert"
    assert first.params["blocks"][0]["text"]["text"] == (
        "*<https://wire.example/zapad?id=7&amp;lang=en|Lukashenko greets US officers at Zapad-2025 drills>*"
    )
    wire = json.dumps(first.params["blocks"], ensure_ascii=False)
    assert "*Minsk Wire*" in wire and "<!date^1757673000^" in wire
    assert "• *Lukashenko* — " in wire and "• *Zapad* — " in wire
    assert "*Summary*" in wire and "*Claims to check*" in wire and "Reply in thread:" in wire
    (delivery,) = posts_of(world.watchdesk.store, alert_id)
    assert delivery.state == "sent" and delivery.message_id == world.fake.top_level(DESK)[0]["ts"]
    # The hostile headline: whatever the parser made of it, it reaches Slack as inert text.
    hostile = next(p for p in posts if p is not first)
    view = world.watchdesk.store.alerts.alert_view(
        hostile.params["metadata"]["event_payload"]["alert_id"]
    )
    assert view is not None
    assert view.title == HOSTILE_TITLE  # CDATA: the parser kept the characters as written
    assert hostile.params["blocks"][0]["text"]["text"] == (
        "*<https://wire.example/8|Lukashenko &amp;lt;!channel&amp;gt; &lt;!here&gt; "
        "&lt;@U0ALICE1&gt; &lt;!subteam^S0EDITOR&gt; &lt;http://evil|bank.com&gt;>*"
    )
    assert hostile.params["text"].startswith(escape_text(view.title))
    for ping in ("<!channel>", "<!here>", "<@U0ALICE1>", "<!subteam", "<http://evil"):
        assert ping not in hostile.raw_body.decode()


def new_alert(world: SlackWorld, n: int) -> int:
    return stored_alert(world.watchdesk.store, n=n, destinations=(f"slack:{DESK}",))


def test_429_is_honoured_then_delivered_once(world: SlackWorld) -> None:
    alert_id = new_alert(world, 1)
    world.fake.fail_next("chat.postMessage", "429", retry_after=7)
    before = utcnow()
    report = world.watchdesk.run_outbox_once()
    assert report.retrying == 1 and world.fake.top_level(DESK) == []
    store, at6, at8 = (
        world.watchdesk.store,
        before + timedelta(seconds=6),
        before + timedelta(seconds=8),
    )
    assert store.outbox.claim_due("slack", at6, at6) == []
    assert len(store.outbox.claim_due("slack", at8, at8)) == 1
    # The sink's pacer also holds the channel for those 7 s; the test skips the real wait.
    assert world.sink.pacer._next[DESK] >= world.sink.pacer._clock() + 6
    world.sink.pacer = ChannelPacer(interval=0.0)
    assert later(world).deliver_due().sent == 1
    assert len(world.fake.top_level(DESK)) == 1
    assert posts_of(world.watchdesk.store, alert_id)[0].state == "sent"


def test_500_is_retried_with_backoff(world: SlackWorld) -> None:
    alert_id = new_alert(world, 2)
    world.fake.fail_next("chat.postMessage", "500")
    assert world.watchdesk.run_outbox_once().retrying == 1
    assert world.watchdesk.run_outbox_once().sent == 0  # backing off
    assert later(world).deliver_due().sent == 1
    assert len(world.fake.top_level(DESK)) == 1
    assert posts_of(world.watchdesk.store, alert_id)[0].state == "sent"


def test_timeout_after_posting_is_recovered_not_reposted(world: SlackWorld) -> None:
    alert_id = new_alert(world, 3)
    world.fake.fail_next("chat.postMessage", "timeout", after_effect=True, delay=1.5)
    assert world.watchdesk.run_outbox_once().retrying == 1
    assert len(world.fake.top_level(DESK)) == 1  # it did post
    report = later(world).deliver_due()
    assert report.recovered == 1 and report.sent == 0
    assert len(world.fake.calls_to("chat.postMessage")) == 1
    (delivery,) = posts_of(world.watchdesk.store, alert_id)
    assert delivery.state == "sent" and delivery.message_id == world.fake.top_level(DESK)[0]["ts"]


def test_timeout_before_posting_is_reposted_once(world: SlackWorld) -> None:
    new_alert(world, 4)
    world.fake.fail_next("chat.postMessage", "timeout", after_effect=False, delay=1.5)
    assert world.watchdesk.run_outbox_once().retrying == 1
    assert world.fake.top_level(DESK) == []
    report = later(world).deliver_due()
    assert report.sent == 1 and report.recovered == 0
    assert len(world.fake.top_level(DESK)) == 1


def test_restart_between_post_and_record_finds_the_message(
    world: SlackWorld, tmp_path: Path
) -> None:
    store = world.watchdesk.store
    alert_id = new_alert(world, 5)
    (delivery,) = posts_of(store, alert_id)
    # The old process counted the attempt, posted, and died before recording the result.
    assert store.outbox.begin_attempt(delivery.id, 0, utcnow())
    view = store.alerts.alert_view(alert_id)
    assert view is not None
    posted = world.sink.post_alert(view, Destination("slack", DESK))
    world.watchdesk.close()
    # A new process on the same database, with a new client and sink.
    sink = SlackSink(
        build_web_client(BOT_TOKEN, world.fake.base_url, timeout=1), pacer=ChannelPacer(0.0)
    )
    world.watchdesk = Watchdesk.build(
        desk_settings(f"sqlite:///{tmp_path / 'watchdesk.db'}"), {"slack": sink}
    )
    report = world.watchdesk.run_outbox_once()
    assert report.recovered == 1 and report.sent == 0
    assert len(world.fake.calls_to("chat.postMessage")) == 1
    (delivery,) = posts_of(world.watchdesk.store, alert_id)
    assert delivery.state == "sent" and delivery.message_id == posted.message_id


def test_channel_without_the_bot_fails_permanently(world: SlackWorld) -> None:
    world.fake.add_channel("C0NOBOT1", "no-bot", is_member=False)
    alert_id = stored_alert(world.watchdesk.store, n=6, destinations=("slack:C0NOBOT1",))
    assert world.watchdesk.run_outbox_once().failed == 1
    (delivery,) = posts_of(world.watchdesk.store, alert_id)
    assert delivery.state == "failed"


def test_one_message_per_second_per_channel(world: SlackWorld) -> None:
    world.sink.pacer = ChannelPacer(interval=1.0)
    for n in (7, 8, 9):
        new_alert(world, n)
    assert world.watchdesk.run_outbox_once().sent == 3
    times = [c.at for c in world.fake.calls_to("chat.postMessage")]
    assert all(b - a >= 0.95 for a, b in zip(times, times[1:], strict=False))
