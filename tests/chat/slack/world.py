"""The whole Slack side on loopback: the real Watchdesk core, the real Bolt app served in HTTP
mode on 127.0.0.1, and the fake Slack Web API it talks to; plus the calls Slack would make."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from slack_bolt import App

from bot.app import Watchdesk
from bot.chat.slack.app import build_app
from bot.chat.slack.client import build_web_client
from bot.chat.slack.runner import HttpServer, Running, serve_http, start_socket_mode
from bot.chat.slack.sink import ChannelPacer, SlackSink
from bot.settings import Settings, settings_from_mapping
from tests.chat.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    Call,
    FakeSlack,
    message_event_body,
    signed_post,
    slash_command_body,
)
from tests.chat.slack.fake_socket_mode import FakeSocketMode

DESK = "C0DESK01"
ALICE = "U0ALICE1"  # listed in [permissions] users
BOSS = "U0BOSS01"  # workspace admin
EDITOR = "U0EDIT01"  # member of the editors user group
MALLORY = "U0MALL01"  # nobody in particular
EDITORS_GROUP = "S0EDITOR"


def desk_settings(database_url: str, **overrides: Any) -> Settings:
    raw: dict[str, Any] = {
        "database_url": database_url,
        "default_channels": [f"slack:{DESK}"],
        "permissions": {"users": [ALICE], "groups": [EDITORS_GROUP], "platform_admins": True},
        "fetch": {"allow_private_hosts": ["127.0.0.1"], "timeout": "5s"},
        "poll": {"backfill": 10},
        "analysis": {"fetch_full_text": False},
        "watch": [
            {"name": "Lukashenko", "aliases": ["Lukashenka", "Лукашенко"]},
            {"name": "Zapad", "aliases": ["Zapad-2025"]},
        ],
    }
    raw.update(overrides)
    return settings_from_mapping(raw, {}, "slack-test")


@dataclass
class SlackWorld:
    fake: FakeSlack
    watchdesk: Watchdesk
    sink: SlackSink
    app: App
    server: HttpServer | None = None  # HTTP mode
    socket: FakeSocketMode | None = None  # Socket Mode: Slack's end of the WebSocket
    handler: Running | None = None  # Socket Mode: our end
    _keys: itertools.count = field(default_factory=lambda: itertools.count(1))

    @classmethod
    def start(cls, tmp: Path, *, mode: str = "http") -> SlackWorld:
        fake = FakeSlack()
        fake.add_channel(DESK, "news-desk")
        fake.add_user(ALICE, "Alice Editor")
        fake.add_user(BOSS, "Workspace Boss", is_admin=True)
        fake.add_user(EDITOR, "Ed Itor")
        fake.add_user(MALLORY, "Mallory")
        fake.usergroups[EDITORS_GROUP] = [EDITOR]
        fake.serve()
        client = build_web_client(BOT_TOKEN, fake.base_url, timeout=1)
        sink = SlackSink(client, pacer=ChannelPacer(interval=0.0))
        settings = desk_settings(f"sqlite:///{tmp / 'watchdesk.db'}")
        watchdesk = Watchdesk.build(settings, {"slack": sink})
        groups = settings.permissions.groups
        if mode == "http":
            app = build_app(watchdesk.desk, client, signing_secret=SIGNING_SECRET, group_ids=groups)
            return cls(fake, watchdesk, sink, app, server=serve_http(app, "127.0.0.1", 0))
        app = build_app(watchdesk.desk, client, group_ids=groups)
        socket = FakeSocketMode().start()
        fake.socket_url = socket.url
        world = cls(fake, watchdesk, sink, app, socket=socket)
        world.handler = start_socket_mode(app, APP_TOKEN)
        socket.wait_connected()
        return world

    def close(self) -> None:
        if self.handler is not None:
            self.handler.close()
        if self.socket is not None:
            self.socket.close()
        if self.server is not None:
            self.server.close()
        self.watchdesk.close()
        self.fake.close()

    def reset(self) -> None:
        with self.fake._lock:
            self.fake.calls.clear()
            self.fake.faults.clear()

    # ------------------------------------------------------------------ what Slack sends us

    def command(
        self, command: str, text: str, *, user: str = ALICE, channel: str = DESK
    ) -> tuple[httpx.Response, Call]:
        """Run a slash command as Slack would; returns the ack and the response_url post."""
        key = f"cmd{next(self._keys)}"
        body = slash_command_body(
            command,
            text,
            user_id=user,
            channel_id=channel,
            response_url=self.fake.response_url(key),
        )
        assert self.server is not None
        ack = signed_post(self.server.url, body, "application/x-www-form-urlencoded")
        return ack, self.fake.wait_for_response(key)

    def event(
        self,
        text: str,
        *,
        thread_ts: str | None,
        user: str = ALICE,
        channel: str = DESK,
        **extra: Any,
    ) -> httpx.Response:
        ts = self.fake.post_as_user(channel, user, text, thread_ts=thread_ts)
        body = message_event_body(channel, user, text, ts=ts, thread_ts=thread_ts, **extra)
        assert self.server is not None
        return signed_post(self.server.url, body, "application/json")

    # ------------------------------------------------------------------ state helpers

    def posted_alert(self, claims: int = 3) -> tuple[int, str]:
        """An alert created as a poll would and delivered through the real outbox."""
        from tests.factories import posts_of, stored_alert

        alert_id = stored_alert(
            self.watchdesk.store, n=next(self._keys), destinations=(f"slack:{DESK}",), claims=claims
        )
        self.watchdesk.run_outbox_once()
        (delivery,) = posts_of(self.watchdesk.store, alert_id)
        assert delivery.message_id, delivery
        return alert_id, delivery.message_id


def response_payload(call: Call) -> dict[str, Any]:
    return json.loads(call.raw_body)
