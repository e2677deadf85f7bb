"""DiscordSink through the real outbox and the real discord.py client against the fake Discord:
exact payloads, threads, finding an alert after a crash, rate limits, and failures."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from bot.chat.discord.embeds import alert_embed
from bot.chat.discord.sink import DiscordSink, alert_nonce, remote_error
from bot.desk.outbox import Outbox
from bot.errors import RemoteError
from bot.models import Destination, MessageRef
from bot.store.schema import utcnow
from tests.chat.discord.fake_discord import FakeDiscord, Injection
from tests.chat.discord.world import DiscordWorld, assert_no_mentions_anywhere
from tests.factories import posts_of

POST_MESSAGE = r"/channels/\d+/messages"


def alert_messages(fake: FakeDiscord, alert_id: int) -> list[dict[str, object]]:
    return [
        m
        for m in fake.channel_messages(fake.alerts_channel)
        if any(
            e.get("footer", {}).get("text", "").startswith(f"Watchdesk alert #{alert_id} ")
            for e in m["embeds"]
        )
    ]


def later_outbox(world: DiscordWorld, minutes: float = 10) -> Outbox:
    """The same outbox, with a clock far enough ahead that every retry is due."""
    return Outbox(
        world.watchdesk.store,
        {"discord": world.sink},
        clock=lambda: utcnow() + timedelta(minutes=minutes),
    )


def test_alert_is_posted_with_exact_embed_buttons_and_thread(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(1)
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    mark = world.mark()
    ref = world.delivered(alert_id)

    post, thread = world.since(mark)
    assert (post.method, post.path) == ("POST", f"/channels/{fake.alerts_channel}/messages")
    components = post.body.pop("components")
    assert post.body == {
        "content": None,
        "embeds": [{**alert_embed(view), "flags": 0}],
        "nonce": alert_nonce(alert_id, fake.alerts_channel),
        "enforce_nonce": True,
        "tts": False,
        "allowed_mentions": {"parse": []},
    }
    assert [
        [(b["type"], b["custom_id"], b["label"], b["style"]) for b in row["components"]]
        for row in components
    ] == [
        [
            (2, f"wd:v:{alert_id}:{n}:true", f"{n} true", 3),
            (2, f"wd:v:{alert_id}:{n}:false", f"{n} false", 4),
            (2, f"wd:v:{alert_id}:{n}:misleading", f"{n} misleading", 2),
            (2, f"wd:v:{alert_id}:{n}:unproven", f"{n} unproven", 2),
        ]
        for n in (1, 2, 3)
    ]
    [message] = alert_messages(fake, alert_id)
    assert (thread.method, thread.path) == (
        "POST",
        f"/channels/{fake.alerts_channel}/messages/{message['id']}/threads",
    )
    assert thread.body == {
        "name": "Alert #1: Story 1",
        "auto_archive_duration": 10080,
        "rate_limit_per_user": None,
    }
    assert ref == MessageRef(f"discord:{fake.alerts_channel}", message["id"], message["id"])
    assert world.watchdesk.desk.alert_id_for_message(ref.destination, ref.message_id) == alert_id


def test_find_posted_recognises_only_our_own_alert(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(2)
    ref = world.delivered(alert_id)
    # Someone else's message that claims to be alert #99 (a webhook could post an embed).
    spoof = {"footer": {"text": "Watchdesk alert #99 · fake"}, "type": "rich"}
    fake.plant(fake.bob, fake.alerts_channel, embeds=[spoof])
    channel = Destination("discord", str(fake.alerts_channel))
    assert world.sink.find_posted(alert_id, channel) == ref
    assert world.sink.find_posted(99, channel) is None
    [history] = fake.calls_to("GET", rf"/channels/{fake.alerts_channel}/messages")[-1:]
    assert history.query == {"limit": "100"}


def test_update_alert_patches_the_posted_message(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(3)
    ref = world.delivered(alert_id)
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    mark = world.mark()
    world.sink.update_alert(view, ref)
    [patch] = world.since(mark)
    assert (patch.method, patch.path) == (
        "PATCH",
        f"/channels/{fake.alerts_channel}/messages/{ref.message_id}",
    )
    assert patch.body["embeds"] == [{**alert_embed(view), "flags": 0}]
    assert patch.body["allowed_mentions"] == {"parse": []}
    assert len(patch.body["components"]) == 3


def test_notice_text_is_escaped_and_pings_nobody(world: DiscordWorld) -> None:
    fake = world.fake
    mark = world.mark()
    world.sink.post_notice(
        Destination("discord", str(fake.other_channel)),
        "Feed @everyone [bank.com](http://evil.example) disabled",
    )
    [post] = world.since(mark)
    assert post.path == f"/channels/{fake.other_channel}/messages"
    assert (
        post.body["content"] == "Feed @\u200beveryone \\[bank.com\\](http://evil.example) disabled"
    )
    assert post.body["allowed_mentions"] == {"parse": []}


def test_post_in_thread_posts_into_the_alerts_thread(world: DiscordWorld) -> None:
    fake = world.fake
    ref = world.delivered(world.new_alert(12))
    mark = world.mark()
    reply = world.sink.post_in_thread(ref, "Also reported by @everyone [bank](http://evil.example)")
    [post] = world.since(mark)
    assert (post.method, post.path) == ("POST", f"/channels/{ref.thread_id}/messages")
    assert post.body["content"] == (
        "Also reported by @\u200beveryone \\[bank\\](http://evil.example)"
    )
    assert post.body["allowed_mentions"] == {"parse": []}
    assert reply.destination == ref.destination and reply.thread_id == ref.thread_id
    assert [m["id"] for m in fake.channel_messages(int(ref.thread_id))] == [reply.message_id]


def test_short_rate_limit_is_waited_out_and_posts_once(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(4)
    fake.inject(
        Injection("POST", POST_MESSAGE, status=429, body={"retry_after": 0.3, "global": False})
    )
    mark = world.mark()
    started = time.monotonic()
    world.delivered(alert_id)
    posts = [c for c in world.since(mark) if c.matches("POST", POST_MESSAGE)]
    assert [c.status for c in posts] == [429, 200]
    assert posts[0].body == posts[1].body  # the same request, retried after Retry-After
    assert time.monotonic() - started >= 0.3
    assert len(alert_messages(fake, alert_id)) == 1


def test_long_rate_limit_becomes_retry_after_for_the_outbox(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(5)
    fake.inject(
        Injection("POST", POST_MESSAGE, status=429, body={"retry_after": 45.5, "global": True})
    )
    report = world.watchdesk.run_outbox_once()
    assert report.retrying == 1 and report.sent == 0
    [delivery] = posts_of(world.watchdesk.store, alert_id)
    assert delivery.state != "sent" and delivery.attempts == 1
    assert alert_messages(fake, alert_id) == []
    assert world.watchdesk.run_outbox_once().sent == 0  # inside Retry-After: not even tried
    assert later_outbox(world).deliver_due().sent == 1
    assert len(alert_messages(fake, alert_id)) == 1


def test_cloudflare_style_429_uses_the_retry_after_header(world: DiscordWorld) -> None:
    # A 429 without Discord's Via header is a Cloudflare ban to discord.py: it does not retry.
    world.fake.inject(
        Injection("POST", POST_MESSAGE, status=429, headers={"Via": "", "Retry-After": "17"})
    )
    alert_id = world.new_alert(6)
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    with pytest.raises(RemoteError) as caught:
        world.sink.post_alert(view, Destination("discord", str(world.fake.alerts_channel)))
    assert caught.value.retry_after == 17 and not caught.value.permanent


def test_server_error_after_posting_does_not_duplicate(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(7)
    # Discord stored the message but answered 500; discord.py retries, the nonce dedupes.
    fake.inject(Injection("POST", POST_MESSAGE, status=500, perform=True))
    ref = world.delivered(alert_id)
    [message] = alert_messages(fake, alert_id)
    assert ref.message_id == message["id"]


def test_crash_after_posting_is_recovered_after_restart_without_a_second_post(
    world: DiscordWorld,
) -> None:
    fake = world.fake
    alert_id = world.new_alert(8)
    # The message reaches Discord, then the connection dies before the answer arrives.
    fake.inject(Injection("POST", POST_MESSAGE, perform=True, disconnect=True))
    assert world.watchdesk.run_outbox_once().retrying == 1
    [message] = alert_messages(fake, alert_id)
    assert "thread" not in message

    world.restart()
    mark = world.mark()
    report = later_outbox(world).deliver_due()
    assert report.recovered == 1 and report.sent == 0
    calls = world.since(mark)
    assert not [c for c in calls if c.matches("POST", POST_MESSAGE)]
    assert [c.path for c in calls if "/threads" in c.path] == [
        f"/channels/{fake.alerts_channel}/messages/{message['id']}/threads"
    ]
    [delivery] = posts_of(world.watchdesk.store, alert_id)
    assert (delivery.state, delivery.message_id, delivery.thread_id) == (
        "sent",
        message["id"],
        message["id"],
    )
    assert len(alert_messages(fake, alert_id)) == 1


def test_slow_answer_is_reported_as_maybe_posted(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(9)
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    impatient = DiscordSink(world.runner.bot, timeout=0.3)
    fake.inject(Injection("POST", POST_MESSAGE, status=None, perform=True, delay_s=1.0))
    with pytest.raises(RemoteError) as caught:
        impatient.post_alert(view, Destination("discord", str(fake.alerts_channel)))
    assert "may have been posted" in str(caught.value) and not caught.value.permanent
    fake.wait_for(lambda _: alert_messages(fake, alert_id))
    found = world.sink.find_posted(alert_id, Destination("discord", str(fake.alerts_channel)))
    assert found is not None and found.thread_id == found.message_id


def test_refusals_are_permanent_with_a_fix(world: DiscordWorld) -> None:
    fake = world.fake
    alert_id = world.new_alert(10)
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    fake.inject(
        Injection(
            "POST", POST_MESSAGE, status=403, body={"code": 50013, "message": "Missing Permissions"}
        )
    )
    with pytest.raises(RemoteError) as forbidden:
        world.sink.post_alert(view, Destination("discord", str(fake.alerts_channel)))
    assert forbidden.value.permanent and "Embed Links" in str(forbidden.value)
    with pytest.raises(RemoteError) as missing:
        world.sink.post_alert(view, Destination("discord", "123456789012345678"))
    assert missing.value.permanent and "channel id" in str(missing.value)
    with pytest.raises(RemoteError) as malformed:
        world.sink.post_alert(view, Destination("discord", "general"))
    assert malformed.value.permanent


def test_a_sink_without_a_connection_asks_to_retry(world: DiscordWorld) -> None:
    view = world.watchdesk.store.alerts.alert_view(world.new_alert(11))
    assert view is not None
    with pytest.raises(RemoteError) as caught:
        DiscordSink().post_alert(view, Destination("discord", "1"))
    assert caught.value.retry_after == 5 and not caught.value.permanent


def test_every_message_in_this_module_allowed_no_mentions(world: DiscordWorld) -> None:
    assert_no_mentions_anywhere(world.fake.calls)


def test_only_discord_and_network_failures_become_remote_errors() -> None:
    """A bug inside the sink (here a KeyError) is not Discord's failure: it must propagate as
    itself, so the worker logs its traceback, instead of becoming a retryable RemoteError."""
    assert remote_error(KeyError("oops"), "posting") is None
    assert remote_error(TimeoutError(), "posting") is not None
