"""SlackDirectory: who a user is (name, admin, configured groups), cached for a while."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.chat.slack.directory import SlackDirectory
from bot.desk.commands import Actor
from tests.chat.slack.fake_slack import FakeSlack


def test_actor_from_users_info_and_configured_groups(
    web_client: WebClient, fake_slack: FakeSlack
) -> None:
    fake_slack.usergroups["S0EDITOR"] = ["U0ALICE1"]
    fake_slack.usergroups["S0OTHERS"] = ["U0ALICE1"]
    directory = SlackDirectory(web_client, ["S0EDITOR", "123456789012345678"])
    assert directory.actor("U0ALICE1", "C0DESK01") == Actor(
        "slack", "U0ALICE1", "Alice Editor", "C0DESK01", ("S0EDITOR",), False
    )
    assert directory.actor("U0BOSS01", "C0DESK01").is_platform_admin is True
    # Only the configured Slack group was ever asked about, once.
    assert [c.params["usergroup"] for c in fake_slack.calls_to("usergroups.users.list")] == [
        "S0EDITOR"
    ]


def test_cache_expires_after_ttl(web_client: WebClient, fake_slack: FakeSlack) -> None:
    now = [0.0]
    directory = SlackDirectory(web_client, ttl=300, clock=lambda: now[0])
    directory.actor("U0ALICE1", "C0DESK01")
    directory.actor("U0ALICE1", "C0DESK01")
    assert len(fake_slack.calls_to("users.info")) == 1
    fake_slack.add_user("U0ALICE1", "Alice Renamed")
    now[0] = 301.0
    assert directory.actor("U0ALICE1", "C0DESK01").name == "Alice Renamed"
    assert len(fake_slack.calls_to("users.info")) == 2


def test_failures_fall_back_and_are_not_cached(
    web_client: WebClient, fake_slack: FakeSlack
) -> None:
    directory = SlackDirectory(web_client, ["S0GONE01"])
    actor = directory.actor("U0NOBODY", "C0DESK01", fallback_name="nobody")
    assert actor == Actor("slack", "U0NOBODY", "nobody", "C0DESK01", (), False)
    directory.actor("U0NOBODY", "C0DESK01")
    assert len(fake_slack.calls_to("users.info")) == 2
    assert len(fake_slack.calls_to("usergroups.users.list")) == 2
