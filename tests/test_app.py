"""Wiring: what `watchdesk run` says at start about destinations it cannot reach."""

from __future__ import annotations

import logging

import pytest

from bot.app import start_chat
from tests.factories import build_app


def test_destinations_on_unconnected_platforms_are_named_at_start(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Alerts routed to Slack and Discord wait in the outbox when this worker has no tokens:
    the start says so once per platform (from the config's channels and the stored routes)."""
    app = build_app(sqlite_url, extra_toml='default_channels = ["slack:C0123ABCD", "console"]\n')
    try:
        app.store.feeds.add_feed(
            "https://news.example/feed.xml", interval_s=600, channels=["discord:1234567890"]
        )
        with caplog.at_level(logging.WARNING, logger="bot.app"):
            connections = start_chat(app)
        connections.stop()
        # only this module's warnings: what the root logger lets through depends on the
        # tests that ran before (building the app logs the seeding at INFO)
        warned = sorted(
            r.getMessage().split(" but ")[0]
            for r in caplog.records
            if r.name == "bot.app" and r.levelno >= logging.WARNING
        )
        assert warned == ["alerts are routed to discord", "alerts are routed to slack"]
    finally:
        app.close()
