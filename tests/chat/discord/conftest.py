"""Fixtures for the Discord adapter tests: one loopback fake Discord and one running bot (with
the real Watchdesk core on SQLite) per test module, since connecting costs a gateway handshake."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from discord.gateway import DiscordWebSocket
from discord.http import Route

from tests.chat.discord.fake_discord import FakeDiscord
from tests.chat.discord.world import DiscordWorld


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeDiscord]:
    server = FakeDiscord().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def world(fake: FakeDiscord, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiscordWorld]:
    built = DiscordWorld.build(fake, tmp_path_factory.mktemp("discord"))
    yield built
    built.close()
    assert not fake.unhandled, f"the bot called routes the fake does not know: {fake.unhandled}"


@pytest.fixture(scope="session", autouse=True)
def _restore_discord_urls() -> Iterator[None]:
    """The runner points discord.py (process-wide) at each fake; put Discord's URLs back."""
    base, gateway = Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY
    yield
    Route.BASE, DiscordWebSocket.DEFAULT_GATEWAY = base, gateway
