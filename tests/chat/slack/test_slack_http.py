"""HTTP mode on 127.0.0.1: Bolt verifies Slack's signatures; we prove it on the wire."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.chat.slack.app import build_app
from bot.chat.slack.runner import serve_http, start
from bot.errors import ConfigError
from tests.chat.slack.fake_slack import signed_post, slash_command_body
from tests.chat.slack.world import ALICE, DESK, SlackWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackWorld]:
    world = SlackWorld.start(tmp_path_factory.mktemp("slack-http"))
    yield world
    world.close()


@pytest.fixture(autouse=True)
def fresh(world: SlackWorld) -> None:
    world.reset()


def command_body(world: SlackWorld, key: str) -> bytes:
    return slash_command_body(
        "/watch", "list", user_id=ALICE, channel_id=DESK, response_url=world.fake.response_url(key)
    )


def test_server_binds_only_the_given_host(world: SlackWorld) -> None:
    assert world.server.server.server_address[0] == "127.0.0.1"
    assert world.server.url.startswith("http://127.0.0.1:")


def test_correct_signature_is_accepted(world: SlackWorld) -> None:
    response = signed_post(
        world.server.url, command_body(world, "ok"), "application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert world.fake.wait_for_response("ok").params["response_type"] == "ephemeral"


def test_forged_signature_is_refused(world: SlackWorld) -> None:
    response = signed_post(
        world.server.url,
        command_body(world, "forged"),
        "application/x-www-form-urlencoded",
        forged=True,
    )
    assert response.status_code == 401
    time.sleep(0.3)
    assert world.fake.calls_to("response_url") == []


def test_stale_timestamp_is_refused_even_when_correctly_signed(world: SlackWorld) -> None:
    ten_minutes_ago = int(time.time()) - 600
    response = signed_post(
        world.server.url,
        command_body(world, "stale"),
        "application/x-www-form-urlencoded",
        timestamp=ten_minutes_ago,
    )
    assert response.status_code == 401
    time.sleep(0.3)
    assert world.fake.calls_to("response_url") == []


def test_unsigned_request_is_refused(world: SlackWorld) -> None:
    response = httpx.post(
        world.server.url,
        content=command_body(world, "unsigned"),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401


def test_url_verification_challenge(world: SlackWorld) -> None:
    body = b'{"token":"t","challenge":"c-123","type":"url_verification"}'
    response = signed_post(world.server.url, body, "application/json")
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}


def test_health_and_unknown_paths(world: SlackWorld) -> None:
    base = world.server.url.removesuffix("/slack/events")
    assert httpx.get(base + "/healthz").text == "ok\n"
    assert httpx.post(base + "/elsewhere", content=b"x").status_code == 404


def test_http_mode_requires_a_signing_secret(world: SlackWorld) -> None:
    app = build_app(world.watchdesk.desk, world.sink.client, signing_secret=None)
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        serve_http(app, "127.0.0.1", 0)
    with pytest.raises(ConfigError, match="xapp-"):
        start(app, mode="socket", app_token="xoxb-not-an-app-token")
    with pytest.raises(ConfigError, match="mode"):
        start(app, mode="carrier-pigeon")


def test_bad_bot_token_fails_at_start(world: SlackWorld, tmp_path: Path) -> None:
    from bot.chat.slack.client import build_web_client

    client = build_web_client("xoxb-wrong", world.fake.base_url, timeout=1)
    with pytest.raises(ConfigError, match="Slack refused SLACK_BOT_TOKEN"):
        build_app(world.watchdesk.desk, client, signing_secret="x")
