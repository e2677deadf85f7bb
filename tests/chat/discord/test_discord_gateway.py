"""Connecting: URLs from settings, the gateway handshake discord.py performs, intents (with the
fallback when Message Content is not enabled), reconnects, command sync and login errors."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.chat.discord.client import invite_url
from bot.chat.discord.runner import DiscordRunner, point_discord_py_at
from bot.errors import ConfigError
from bot.settings import DiscordSettings
from tests.chat.discord.fake_discord import INTENT_MESSAGE_CONTENT, TOKEN, FakeDiscord
from tests.chat.discord.world import DiscordWorld, assert_no_mentions_anywhere

GUILDS, GUILD_MESSAGES = 1 << 0, 1 << 9


def test_handshake_uses_the_configured_urls_and_asks_for_what_it_needs(world: DiscordWorld) -> None:
    fake = world.fake
    assert fake.api_url == Route.BASE
    assert str(DiscordWebSocket.DEFAULT_GATEWAY) == fake.gateway_url
    assert fake.gateway_queries[0] == {"v": "10", "encoding": "json", "compress": "zlib-stream"}
    identify = fake.identifies[0]
    assert identify["token"] == TOKEN
    assert identify["intents"] == GUILDS | GUILD_MESSAGES | INTENT_MESSAGE_CONTENT
    first = [(c.method, c.path) for c in fake.calls[:3]]
    assert first == [
        ("GET", "/users/@me"),
        ("GET", "/oauth2/applications/@me"),
        ("PUT", f"/applications/{fake.app_id}/guilds/{fake.guild_id}/commands"),
    ]
    assert fake.calls[0].headers["Authorization"] == f"Bot {TOKEN}"


def test_the_bot_resumes_after_discord_asks_it_to_reconnect(world: DiscordWorld) -> None:
    fake = world.fake
    fake.request_reconnect()
    fake.wait_for(lambda _: fake.resumes)
    assert fake.resumes[0]["session_id"] and fake.resumes[0]["token"] == TOKEN
    assert len(fake.identifies) == 1  # resumed, not re-identified
    token = fake.slash(fake.bob, fake.alerts_channel, "claims open")
    assert fake.wait_answer(token).body["flags"] == 64


def test_commands_sync_globally_on_request(world: DiscordWorld) -> None:
    fake = world.fake
    synced = world.runner.sync_commands(globally=True)
    assert synced == {f"guild:{fake.guild_id}": 6, "global": 6}
    assert sorted(fake.commands["global"]) == [
        "claims",
        "digest",
        "feeds",
        "verdict",
        "watch",
        "why",
    ]


def test_without_the_message_content_intent_mentions_still_work(tmp_path: Path) -> None:
    fake = FakeDiscord(allow_message_content=False).start()
    world = DiscordWorld.build(fake, tmp_path)
    try:
        intents = [i["intents"] for i in fake.identifies]
        assert intents == [
            GUILDS | GUILD_MESSAGES | INTENT_MESSAGE_CONTENT,  # refused with close code 4014
            GUILDS | GUILD_MESSAGES,
        ]
        assert world.runner.message_content is False
        alert_id = world.new_alert(401)
        ref = world.delivered(alert_id)
        mark = world.mark()
        thread = f"/channels/{ref.message_id}/messages"
        fake.say(fake.bob, int(ref.message_id), "2 false")  # Discord withholds its text
        fake.say(fake.bob, int(ref.message_id), "2 false", mention_bot=True)
        reply = fake.wait_for(
            lambda calls: next(
                (c for c in calls[mark:] if c.method == "POST" and c.path == thread), None
            )
        )
        assert reply.body["content"] == "Recorded: claim 2 → false (by Bob)."
        assert [c.path for c in world.since(mark) if c.path == thread] == [thread]
        assert_no_mentions_anywhere(fake.calls)
    finally:
        world.close()
        fake.stop()


def test_a_rejected_token_is_a_config_error(world: DiscordWorld) -> None:
    fake = world.fake
    settings = DiscordSettings(
        token="not-the-token",
        guilds=(fake.guild_id,),
        api_url=fake.api_url,
        gateway_url=fake.gateway_url,
    )
    runner = DiscordRunner(settings, world.watchdesk.desk, ready_timeout_s=10)
    with pytest.raises(ConfigError, match="DISCORD_TOKEN"):
        runner.start()
    runner.stop()


def test_settings_problems_are_config_errors(world: DiscordWorld) -> None:
    with pytest.raises(ConfigError, match="DISCORD_TOKEN is not set"):
        DiscordRunner(DiscordSettings(), world.watchdesk.desk)
    with pytest.raises(ConfigError, match="DISCORD_API_URL"):
        point_discord_py_at("discord.com/api/v10", "wss://gateway.discord.gg/")
    with pytest.raises(ConfigError, match="DISCORD_GATEWAY_URL"):
        point_discord_py_at("https://discord.com/api/v10", "https://gateway.discord.gg/")
    defaults = DiscordRunner(DiscordSettings(token="t", guilds=(1, 2)), world.watchdesk.desk)
    assert (defaults.api_url, defaults.gateway_url) == (
        "https://discord.com/api/v10",
        "wss://gateway.discord.gg/",
    )
    assert defaults.guild_ids == (1, 2)


def test_the_fake_gateway_refuses_compression_it_cannot_speak(world: DiscordWorld) -> None:
    async def connect(query: str) -> int | None:
        async with (
            aiohttp.ClientSession() as session,
            session.ws_connect(f"{world.fake.gateway_url}?{query}") as ws,
        ):
            await ws.receive()
            return ws.close_code

    assert asyncio.run(connect("v=10&encoding=json&compress=brotli-stream")) == 4000
    assert asyncio.run(connect("v=9&encoding=json")) == 4012


def test_the_invite_url_asks_for_commands_and_exactly_the_documented_permissions() -> None:
    assert invite_url(123456789012345678) == (
        "https://discord.com/oauth2/authorize?client_id=123456789012345678"
        "&scope=bot+applications.commands&permissions=309237730304"
    )
