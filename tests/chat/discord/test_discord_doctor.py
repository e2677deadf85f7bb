"""`watchdesk doctor`'s Discord checks against the loopback fake Discord."""

from __future__ import annotations

from bot.chat.discord.doctor import check_discord
from bot.settings import DiscordSettings
from tests.chat.discord.fake_discord import TOKEN, FakeDiscord


def test_doctor_reports_token_intent_guilds_and_invite(fake: FakeDiscord) -> None:
    lines = check_discord(DiscordSettings(token=TOKEN, guilds=(), api_url=fake.api_url))
    assert lines[0][0] and "token works" in lines[0][1]
    assert any(not ok and "no [discord] guilds" in text for ok, text in lines)
    assert any("invite link: https://discord.com/oauth2/authorize" in text for _, text in lines)


def test_doctor_says_when_the_token_is_wrong(fake: FakeDiscord) -> None:
    [(ok, text)] = check_discord(DiscordSettings(token="wrong", api_url=fake.api_url))
    assert not ok and "rejected DISCORD_TOKEN" in text


def test_doctor_says_when_discord_is_unreachable() -> None:
    [(ok, text)] = check_discord(
        DiscordSettings(token=TOKEN, api_url="http://127.0.0.1:9/api"), timeout=2
    )
    assert not ok and "cannot reach Discord" in text
