"""Verdicts from thread replies: a signed Events API message event in an alert's thread is
recorded by the desk, the alert is edited in place (chat.update) and the thread gets a reply."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.models import Verdict
from tests.chat.slack.fake_slack import BOT_ID, message_event_body, signed_post
from tests.chat.slack.world import ALICE, DESK, MALLORY, SlackWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path_factory.mktemp("slack-verdicts"))
    yield world
    world.close()


@pytest.fixture(autouse=True)
def fresh(world: SlackWorld) -> None:
    world.reset()


def claim_lines(blocks: list[dict[str, Any]]) -> dict[int, str]:
    """Claim number → its status line, from the blocks of an alert message."""
    found = {}
    for block in blocks:
        text = block.get("text", {}).get("text", "")
        if block["type"] == "section" and text.startswith("*") and ".* " in text.split("\n")[0]:
            head, _, status = text.partition("\n")
            found[int(head[1 : head.index(".")])] = status
    return found


def verdicts(world: SlackWorld, alert_id: int) -> dict[int, Verdict]:
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None
    return {c.n: c.verdict for c in view.claims}


def quiet(world: SlackWorld, seconds: float = 0.4) -> None:
    """Give Bolt's listener threads time to (wrongly) act before asserting nothing happened."""
    time.sleep(seconds)
    assert world.fake.calls_to("chat.update") == []
    assert world.fake.calls_to("chat.postMessage") == []
    assert world.fake.calls_to("chat.postEphemeral") == []


def test_verdict_with_source_updates_alert_and_confirms_in_thread(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    response = world.event("2 false <https://source.example/report>", thread_ts=ts)
    assert response.status_code == 200
    (update,) = world.fake.wait_for("chat.update")
    (confirm,) = world.fake.wait_for("chat.postMessage")
    assert update.params["channel"] == DESK and update.params["ts"] == ts
    assert update.params["metadata"] == {
        "event_type": "watchdesk_alert",
        "event_payload": {"alert_id": alert_id},
    }
    lines = claim_lines(update.params["blocks"])
    assert lines[2] == ":x: *false* · by Alice Editor · <https://source.example/report|source>"
    assert lines[1] == lines[3] == ":white_circle: unchecked"
    assert confirm.params["thread_ts"] == ts and confirm.params["channel"] == DESK
    assert (
        confirm.params["text"]
        == "Recorded: claim 2 → false (by Alice Editor); source https://source.example/report."
    )
    assert verdicts(world, alert_id) == {
        1: Verdict.UNCHECKED,
        2: Verdict.FALSE,
        3: Verdict.UNCHECKED,
    }
    # The message in "Slack" now shows it too.
    stored = next(m for m in world.fake.top_level(DESK) if m["ts"] == ts)
    assert stored["blocks"] == update.params["blocks"]


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ("claim 3: misleading — numbers are from 2021", {3: Verdict.MISLEADING}),
        ("1 ✅", {1: Verdict.TRUE}),
        ("#2 ❌", {2: Verdict.FALSE}),
        ("2,3 unproven", {2: Verdict.UNPROVEN, 3: Verdict.UNPROVEN}),
        ("all true", {1: Verdict.TRUE, 2: Verdict.TRUE, 3: Verdict.TRUE}),
    ],
)
def test_verdict_forms(world: SlackWorld, reply: str, expected: dict[int, Verdict]) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    world.event(reply, thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    world.fake.wait_for("chat.postMessage")
    assert {
        n: v for n, v in verdicts(world, alert_id).items() if v is not Verdict.UNCHECKED
    } == expected
    lines = claim_lines(update.params["blocks"])
    for n, verdict in expected.items():
        assert f"*{verdict.value}* · by Alice Editor" in lines[n]
    if "misleading" in reply:
        assert lines[3].endswith("_numbers are from 2021_")


def test_failed_attempt_gets_a_private_hint(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    world.event("7 false", thread_ts=ts)
    (hint,) = world.fake.wait_for("chat.postEphemeral")
    assert hint.params["user"] == ALICE and hint.params["thread_ts"] == ts
    assert "7" in hint.params["text"]
    assert (
        world.fake.calls_to("chat.update") == [] and world.fake.calls_to("chat.postMessage") == []
    )
    assert set(verdicts(world, alert_id).values()) == {Verdict.UNCHECKED}


def test_conversation_in_the_thread_is_ignored(world: SlackWorld) -> None:
    _alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    world.event("thanks, I'll look at claim 2 after lunch", thread_ts=ts)
    quiet(world)


def test_ignored_messages_cost_nothing(world: SlackWorld) -> None:
    _alert_id, ts = world.posted_alert(claims=3)
    other_ts = world.fake.post_as_user(DESK, MALLORY, "an ordinary message")
    world.reset()
    world.event("2 false", thread_ts=other_ts)  # a thread, but not an alert's
    world.event("2 false", thread_ts=None)  # not in a thread
    world.event("2 false", thread_ts=ts, subtype="message_changed")  # an edit
    world.event("2 false", thread_ts=ts, bot_id="BOTHER01")  # another bot
    world.event("2 false", thread_ts=ts, user="UBOT0001", bot_id=BOT_ID)  # ourselves
    quiet(world)
    assert world.fake.calls_to("users.info") == []


def test_redelivered_event_is_handled_once(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    reply_ts = world.fake.post_as_user(DESK, ALICE, "1 true", thread_ts=ts)
    body = message_event_body(
        DESK, ALICE, "1 true", ts=reply_ts, thread_ts=ts, event_id="EvSAME0001"
    )
    assert signed_post(world.server.url, body, "application/json").status_code == 200
    assert signed_post(world.server.url, body, "application/json").status_code == 200
    world.fake.wait_for("chat.postMessage")
    time.sleep(0.4)
    assert len(world.fake.calls_to("chat.postMessage")) == 1
    assert len(world.watchdesk.store.alerts.verdict_history(alert_id)) == 1


def test_thread_broadcast_counts(world: SlackWorld) -> None:
    alert_id, ts = world.posted_alert(claims=1)
    world.reset()
    world.event("1 misleading", thread_ts=ts, subtype="thread_broadcast")
    world.fake.wait_for("chat.update")
    assert verdicts(world, alert_id) == {1: Verdict.MISLEADING}


def test_hostile_note_is_escaped_in_the_update(world: SlackWorld) -> None:
    _alert_id, ts = world.posted_alert(claims=2)
    world.reset()
    world.event("claim 1: false — see &lt;!channel&gt; and &lt;!here&gt;", thread_ts=ts)
    (update,) = world.fake.wait_for("chat.update")
    (confirm,) = world.fake.wait_for("chat.postMessage")
    for raw in (update.raw_body, confirm.raw_body):
        assert b"<!channel>" not in raw and b"<!here>" not in raw
    assert b"&lt;!channel&gt;" in update.raw_body


@pytest.mark.parametrize(
    ("reply", "hint"),
    [
        (
            "2 false <!here>",
            "A mention or a channel can't be a verdict's source: give a web link to the "
            "evidence, like `2 false https://source`, or leave the source out.",
        ),
        (
            "2 false javascript:alert(1)",
            "“javascript:” links can't be a source: give a web link starting with https://, "
            "like `2 false https://source`.",
        ),
        (
            "claim 2: false — " + "x" * 600,
            "That note is 600 characters; a verdict's note holds 500. Put the details in the "
            "source and keep the note short, like `2 false https://source`.",
        ),
    ],
)
def test_unusable_source_gets_a_private_hint(world: SlackWorld, reply: str, hint: str) -> None:
    alert_id, ts = world.posted_alert(claims=3)
    world.reset()
    world.event(reply, thread_ts=ts)
    (sent,) = world.fake.wait_for("chat.postEphemeral")
    assert {k: sent.params[k] for k in ("channel", "user", "thread_ts", "text")} == {
        "channel": DESK,
        "user": ALICE,
        "thread_ts": ts,
        "text": hint,
    }
    assert world.fake.calls_to("chat.update") == []
    assert set(verdicts(world, alert_id).values()) == {Verdict.UNCHECKED}
