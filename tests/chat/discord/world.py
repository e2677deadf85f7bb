"""The whole Discord side on loopback: the real Watchdesk core (SQLite), the real discord.py
client run by `DiscordRunner`, and the fake Discord it talks to."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app import Watchdesk
from bot.chat.discord.runner import DiscordRunner
from bot.chat.discord.sink import DiscordSink
from bot.models import MessageRef
from bot.settings import Settings, settings_from_mapping
from tests.chat.discord.fake_discord import TOKEN, Call, FakeDiscord
from tests.factories import posts_of, stored_alert


def desk_settings(fake: FakeDiscord, database_url: str, **overrides: Any) -> Settings:
    """Editors (a role) and Manage Server holders may change the watchlist; alerts go to #alerts."""
    raw: dict[str, Any] = {
        "database_url": database_url,
        "default_channels": [f"discord:{fake.alerts_channel}"],
        "permissions": {"groups": [str(fake.editor_role)], "platform_admins": True},
        "fetch": {"allow_private_hosts": ["127.0.0.1"], "timeout": "5s"},
        "poll": {"backfill": 10},
        "analysis": {"fetch_full_text": False},
        "discord": {"guilds": [fake.guild_id]},
        "watch": [
            {"name": "Lukashenko", "aliases": ["Lukashenka", "Лукашенко"]},
            {"name": "Zapad", "aliases": ["Zapad-2025"]},
        ],
    }
    raw.update(overrides)
    env = {
        "DISCORD_TOKEN": TOKEN,
        "DISCORD_API_URL": fake.api_url,
        "DISCORD_GATEWAY_URL": fake.gateway_url,
    }
    return settings_from_mapping(raw, env, "discord-test")


@dataclass
class DiscordWorld:
    fake: FakeDiscord
    watchdesk: Watchdesk
    sink: DiscordSink
    runner: DiscordRunner

    @classmethod
    def build(
        cls, fake: FakeDiscord, tmp: Path, *, timeout: float = 10.0, **overrides: Any
    ) -> DiscordWorld:
        settings = desk_settings(fake, f"sqlite:///{tmp / 'watchdesk.db'}", **overrides)
        sink = DiscordSink(timeout=timeout)
        watchdesk = Watchdesk.build(settings, {"discord": sink})
        world = cls(fake, watchdesk, sink, cls.new_runner(settings, watchdesk, sink))
        world.runner.start()
        return world

    @staticmethod
    def new_runner(settings: Settings, watchdesk: Watchdesk, sink: DiscordSink) -> DiscordRunner:
        return DiscordRunner(
            settings.discord,
            watchdesk.desk,
            sink=sink,
            guild_ready_timeout_s=0.05,
            ready_timeout_s=20,
        )

    def restart(self) -> None:
        """Stop the Discord client and start a fresh one, as a process restart would."""
        self.runner.stop()
        self.runner = self.new_runner(self.watchdesk.settings, self.watchdesk, self.sink)
        self.runner.start()

    def close(self) -> None:
        self.runner.stop()
        self.watchdesk.close()

    @property
    def channel(self) -> str:
        return f"discord:{self.fake.alerts_channel}"

    def new_alert(self, n: int, claims: int = 3) -> int:
        return stored_alert(self.watchdesk.store, n, destinations=(self.channel,), claims=claims)

    def delivered(self, alert_id: int) -> MessageRef:
        """Deliver the outbox and return where the alert was posted."""
        self.watchdesk.run_outbox_once()
        [delivery] = posts_of(self.watchdesk.store, alert_id)
        assert delivery.state == "sent", delivery
        assert delivery.message_id is not None
        return MessageRef(str(delivery.destination), delivery.message_id, delivery.thread_id)

    def since(self, mark: int) -> list[Call]:
        with self.fake._cond:
            return list(self.fake.calls[mark:])

    def mark(self) -> int:
        with self.fake._cond:
            return len(self.fake.calls)


def message_payloads(calls: list[Call]) -> list[dict[str, Any]]:
    """Bodies of every call that carries message content (messages, edits, interaction answers)."""
    out = []
    for call in calls:
        body = call.body if isinstance(call.body, dict) else None
        if body is None:
            continue
        if call.path.endswith("/callback"):
            if body.get("type") in (4, 7):
                out.append(body["data"])
        elif "/threads" in call.path:
            continue
        elif call.method in ("POST", "PATCH") and (
            "/messages" in call.path or call.path.startswith("/webhooks/")
        ):
            out.append(body)
    return out


def assert_no_mentions_anywhere(calls: list[Call]) -> None:
    """Every message the bot sent allows no mentions at all."""
    payloads = message_payloads(calls)
    assert payloads, "no message payloads to check"
    for body in payloads:
        allowed = body.get("allowed_mentions")
        assert allowed is not None and allowed.get("parse") == [], json.dumps(body)[:300]
        assert not {"users", "roles"} & {k for k, v in allowed.items() if v}, allowed
        assert not allowed.get("replied_user"), allowed
