"""Socket Mode, the default: the real SocketModeHandler connects to a loopback WebSocket (found
through apps.connections.open on the configured API URL) and acts on Slack's envelopes."""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest

from bot.models import Verdict
from tests.chat.slack.fake_slack import APP_TOKEN, message_event_body, slash_command_body
from tests.chat.slack.world import ALICE, DESK, SlackWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path_factory.mktemp("slack-socket"), mode="socket")
    yield world
    world.close()


def test_connection_was_opened_with_the_app_token(world: SlackWorld) -> None:
    (call,) = world.fake.calls_to("apps.connections.open")
    assert call.headers["authorization"] == f"Bearer {APP_TOKEN}"


def test_slash_command_over_socket_mode(world: SlackWorld) -> None:
    assert world.socket is not None
    body = slash_command_body(
        "/watch",
        "list",
        user_id=ALICE,
        channel_id=DESK,
        response_url=world.fake.response_url("sm1"),
    )
    payload = dict(urllib.parse.parse_qsl(body.decode()))
    ack = world.socket.send("slash_commands", payload)
    assert ack["envelope_id"].startswith("env-")
    answer = json.loads(world.fake.wait_for_response("sm1").raw_body)
    assert answer["response_type"] == "ephemeral" and answer["text"].startswith("Watching ")


def test_verdict_reply_over_socket_mode(world: SlackWorld) -> None:
    assert world.socket is not None
    alert_id, ts = world.posted_alert(claims=2)
    world.reset()
    reply_ts = world.fake.post_as_user(DESK, ALICE, "all true", thread_ts=ts)
    event = json.loads(message_event_body(DESK, ALICE, "all true", ts=reply_ts, thread_ts=ts))
    assert world.socket.send("events_api", event)["envelope_id"].startswith("env-")
    (update,) = world.fake.wait_for("chat.update")
    assert update.params["ts"] == ts
    view = world.watchdesk.store.alerts.alert_view(alert_id)
    assert view is not None and {c.verdict for c in view.claims} == {Verdict.TRUE}
