"""A clean start against the loopback fakes logs no warning that isn't a problem (Bolt's note
about SLACK_BOT_TOKEN, discord.py's missing voice libraries), and real warnings still show."""

from __future__ import annotations

import logging
from pathlib import Path

import discord
import pytest

from bot.chat.slack.app import BOLT_LOGGER
from tests.chat.discord.fake_discord import FakeDiscord
from tests.chat.discord.world import DiscordWorld
from tests.chat.slack.world import BOT_TOKEN, SlackWorld


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("mode", ["http", "socket"])
def test_a_clean_slack_start_logs_no_warnings(
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    mode: str,
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)  # as in production: what makes Bolt warn
    caplog.set_level(logging.INFO)
    world = SlackWorld.start(tmp_path, mode=mode)
    world.close()
    assert warnings_of(caplog) == []
    # the filter drops only that note: Bolt's other warnings still reach the log
    logging.getLogger(BOLT_LOGGER).warning("Unhandled request ({'type': 'x'})")
    assert warnings_of(caplog) == ["slack_bolt.App: Unhandled request ({'type': 'x'})"]


def test_a_clean_discord_start_logs_no_warnings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # as in a fresh process, whatever earlier tests in this one did
    monkeypatch.setattr(discord.VoiceClient, "warn_nacl", True)
    monkeypatch.setattr(discord.VoiceClient, "warn_dave", True)
    caplog.set_level(logging.INFO)
    fake = FakeDiscord().start()
    try:
        world = DiscordWorld.build(fake, tmp_path)
        world.close()
    finally:
        fake.stop()
    assert warnings_of(caplog) == []
    logging.getLogger("discord.client").warning("a real problem")
    assert warnings_of(caplog) == ["discord.client: a real problem"]
