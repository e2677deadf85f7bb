"""Fixtures for the Slack adapter tests: a fresh loopback fake Slack per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.chat.slack.client import build_web_client
from tests.chat.slack.fake_slack import BOT_TOKEN, FakeSlack


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    fake.add_channel("C0DESK01", "news-desk")
    fake.add_channel("C0OTHER1", "elsewhere", is_member=False)
    fake.add_user("U0ALICE1", "Alice Editor")
    fake.add_user("U0BOSS01", "Workspace Boss", is_admin=True)
    fake.serve()
    yield fake
    fake.close()


@pytest.fixture
def web_client(fake_slack: FakeSlack) -> WebClient:
    return build_web_client(BOT_TOKEN, fake_slack.base_url, timeout=1)
