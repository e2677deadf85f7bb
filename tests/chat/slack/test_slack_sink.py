"""SlackSink against the loopback fake Slack: exact payloads, metadata lookup, failures."""

from __future__ import annotations

import json
import time

import pytest
from slack_sdk import WebClient

from bot.chat.slack.client import build_web_client
from bot.chat.slack.sink import ChannelPacer, SlackSink
from bot.errors import RemoteError
from bot.models import AlertView, ClaimView, Destination, MessageRef, Verdict
from tests.chat.slack.fake_slack import BOT_ID, BOT_TOKEN, FakeSlack
from tests.chat.slack.test_slack_blocks import HOSTILE, HOSTILE_ESCAPED, make_alert

CHANNEL = "C0DESK01"


@pytest.fixture
def sink(web_client: WebClient) -> SlackSink:
    return SlackSink(web_client, pacer=ChannelPacer(interval=0.0))


def test_post_alert_sends_blocks_text_and_metadata(sink: SlackSink, fake_slack: FakeSlack) -> None:
    ref = sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.headers["authorization"] == f"Bearer {BOT_TOKEN}"
    assert call.params["channel"] == CHANNEL
    assert call.params["metadata"] == {
        "event_type": "watchdesk_alert",
        "event_payload": {"alert_id": 42},
    }
    assert call.params["unfurl_links"] is False and call.params["unfurl_media"] is False
    assert call.params["text"].startswith(
        "US officers observe Zapad-2025 drills in Belarus — Example News"
    )
    assert call.params["blocks"][0]["text"]["text"].startswith(
        "*<https://news.example/zapad?id=1&amp;lang=en|"
    )
    stored = fake_slack.top_level(CHANNEL)[0]
    assert ref == MessageRef(
        destination=f"slack:{CHANNEL}", message_id=stored["ts"], thread_id=stored["ts"]
    )


def test_injection_strings_reach_slack_as_text(sink: SlackSink, fake_slack: FakeSlack) -> None:
    sink.post_alert(make_alert(title=HOSTILE, summary=(HOSTILE,)), Destination("slack", CHANNEL))
    sink.post_notice(Destination("slack", CHANNEL), f"Feed {HOSTILE} disabled")
    alert_call, notice_call = fake_slack.calls_to("chat.postMessage")
    wire = alert_call.raw_body.decode() + notice_call.raw_body.decode()
    assert json.dumps(HOSTILE_ESCAPED)[1:-1] in wire
    assert "&amp;lt;!channel&amp;gt;" in wire
    for ping in ("<!channel>", "<!here>", "<@U0ALICE1>", "<!subteam^", "<http://evil"):
        assert ping not in wire
    assert notice_call.params["text"] == f"Feed {HOSTILE_ESCAPED} disabled"


def test_find_posted_finds_only_our_message_with_that_alert(
    sink: SlackSink, fake_slack: FakeSlack
) -> None:
    assert sink.find_posted(42, Destination("slack", CHANNEL)) is None
    # Another app's message carrying the same metadata must not count.
    fake_slack.messages[CHANNEL].append(
        {
            "type": "message",
            "bot_id": "BOTHER01",
            "ts": "1.000001",
            "text": "x",
            "metadata": {"event_type": "watchdesk_alert", "event_payload": {"alert_id": 42}},
        }
    )
    assert sink.find_posted(42, Destination("slack", CHANNEL)) is None
    ref = sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    sink.post_alert(make_alert(alert_id=43), Destination("slack", CHANNEL))
    fake_slack.post_as_user(CHANNEL, "U0ALICE1", "chatter")
    assert sink.find_posted(42, Destination("slack", CHANNEL)) == ref
    assert sink.find_posted(44, Destination("slack", CHANNEL)) is None
    history = fake_slack.calls_to("conversations.history")[-1]
    assert history.params["include_all_metadata"] == "1"
    assert history.params["limit"] == "200"
    assert len(fake_slack.calls_to("auth.test")) == 1  # identity asked once


def test_update_alert_rewrites_the_message(sink: SlackSink, fake_slack: FakeSlack) -> None:
    alert = make_alert()
    ref = sink.post_alert(alert, Destination("slack", CHANNEL))
    claims = (
        ClaimView(
            1, "Officers from 23 countries attended.", ("statistic",), Verdict.TRUE, "Alice Editor"
        ),
    )
    sink.update_alert(AlertView(**{**alert.__dict__, "claims": claims}), ref)
    (call,) = fake_slack.calls_to("chat.update")
    assert call.params["channel"] == CHANNEL and call.params["ts"] == ref.message_id
    assert call.params["metadata"]["event_payload"] == {"alert_id": 42}
    status = call.params["blocks"][-2]["text"]["text"]
    assert status.endswith(":white_check_mark: *true* · by Alice Editor")
    assert fake_slack.top_level(CHANNEL)[0]["blocks"] == call.params["blocks"]
    assert len(fake_slack.top_level(CHANNEL)) == 1


def test_429_reports_retry_after_and_posts_nothing(sink: SlackSink, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", "429", retry_after=7)
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert caught.value.retry_after == 7.0 and not caught.value.permanent
    assert fake_slack.top_level(CHANNEL) == []


def test_429_defers_the_channel_pacer(web_client: WebClient, fake_slack: FakeSlack) -> None:
    slept: list[float] = []
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], sleep=slept.append)
    sink = SlackSink(web_client, pacer=pacer)
    fake_slack.fail_next("chat.postMessage", "429", retry_after=5)
    with pytest.raises(RemoteError):
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert slept == [5.0]


def test_a_long_hold_comes_back_as_retry_after_instead_of_sleeping(
    web_client: WebClient, fake_slack: FakeSlack
) -> None:
    """After a 429 of 30 s the next call neither sleeps through it (the outbox's lease must
    outlast every call) nor sends: it hands the wait back as Retry-After."""
    slept: list[float] = []
    now = [100.0]
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], sleep=slept.append)
    sink = SlackSink(web_client, pacer=pacer, max_pace_s=5.0)
    assert sink.request_timeout_s == 5.0 + web_client.timeout
    fake_slack.fail_next("chat.postMessage", "429", retry_after=30)
    with pytest.raises(RemoteError):
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    with pytest.raises(RemoteError) as held:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert held.value.retry_after == 30.0 and not held.value.permanent
    assert slept == [] and len(fake_slack.calls_to("chat.postMessage")) == 1
    now[0] += 30
    sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert len(fake_slack.top_level(CHANNEL)) == 1


def test_post_in_thread_replies_under_the_alert(sink: SlackSink, fake_slack: FakeSlack) -> None:
    ref = sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    reply = sink.post_in_thread(ref, f"Also reported by {HOSTILE}")
    call = fake_slack.calls_to("chat.postMessage")[-1]
    assert call.params == {
        "channel": CHANNEL,
        "thread_ts": ref.message_id,
        "text": f"Also reported by {HOSTILE_ESCAPED}",
        "unfurl_links": False,
        "unfurl_media": False,
    }
    assert reply.thread_id == ref.message_id and reply.message_id != ref.message_id
    assert len(fake_slack.top_level(CHANNEL)) == 1  # in the thread, not the channel


def test_500_is_transient(sink: SlackSink, fake_slack: FakeSlack) -> None:
    fake_slack.fail_next("chat.postMessage", "500")
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert caught.value.retry_after is None and not caught.value.permanent
    assert "HTTP 500" in str(caught.value)


def test_timeout_after_posting_is_found_not_reposted(
    sink: SlackSink, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("chat.postMessage", "timeout", after_effect=True, delay=1.5)
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert not caught.value.permanent and "unreachable" in str(caught.value)
    # What the outbox does next: ask before posting again.
    ref = sink.find_posted(42, Destination("slack", CHANNEL))
    assert ref is not None and ref.message_id == fake_slack.top_level(CHANNEL)[0]["ts"]
    assert len(fake_slack.top_level(CHANNEL)) == 1


@pytest.mark.parametrize(
    ("channel", "code"), [("C0OTHER1", "not_in_channel"), ("C0NOPE01", "channel_not_found")]
)
def test_permanent_errors(sink: SlackSink, channel: str, code: str) -> None:
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", channel))
    assert caught.value.permanent and code in str(caught.value)


def test_bad_token_is_permanent(fake_slack: FakeSlack) -> None:
    sink = SlackSink(
        build_web_client("xoxb-wrong", fake_slack.base_url, timeout=1), pacer=ChannelPacer(0)
    )
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert caught.value.permanent and "invalid_auth" in str(caught.value)


def test_unreachable_slack_is_transient() -> None:
    sink = SlackSink(
        build_web_client(BOT_TOKEN, "http://127.0.0.1:9/api/", timeout=1), pacer=ChannelPacer(0)
    )
    with pytest.raises(RemoteError) as caught:
        sink.post_alert(make_alert(), Destination("slack", CHANNEL))
    assert not caught.value.permanent and caught.value.retry_after is None


def test_pacer_spaces_messages_to_one_channel(web_client: WebClient, fake_slack: FakeSlack) -> None:
    sink = SlackSink(web_client, pacer=ChannelPacer(interval=0.3))
    started = time.monotonic()
    sink.post_alert(make_alert(alert_id=1), Destination("slack", CHANNEL))
    sink.post_alert(make_alert(alert_id=2), Destination("slack", CHANNEL))
    sink.post_notice(Destination("slack", "C0OTHER1".replace("OTHER1", "DESK01")), "third")
    assert time.monotonic() - started >= 0.6
    assert [m.get("bot_id") for m in fake_slack.top_level(CHANNEL)] == [BOT_ID] * 3


def test_pacer_books_slots_per_channel() -> None:
    now = [0.0]
    slept: list[float] = []
    pacer = ChannelPacer(interval=1.0, clock=lambda: now[0], sleep=slept.append)
    pacer.wait("A")
    pacer.wait("B")  # another channel: no wait
    pacer.wait("A")
    now[0] = 5.0
    pacer.wait("A")  # long after: no wait
    assert slept == [1.0]
