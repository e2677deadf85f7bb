"""`watchdesk doctor` for Slack against the fake: each problem named with its fix."""

from __future__ import annotations

from pathlib import Path

import yaml
from slack_sdk import WebClient

from bot.chat.slack.client import build_web_client
from bot.chat.slack.doctor import REQUIRED_SCOPES, granted_scopes, run_doctor
from bot.chat.slack.listeners.commands import COMMANDS
from tests.chat.slack.fake_slack import APP_TOKEN, FakeSlack

MANIFEST = Path(__file__).resolve().parents[3] / "config" / "slack-manifest.yml"


def test_all_good(web_client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.usergroups["S0DESK01"] = ["U0ALICE1", "U0BOSS01"]
    report = run_doctor(
        web_client, ["C0DESK01"], app_token=APP_TOKEN, group_ids=["S0DESK01", "1234"]
    )
    assert report.ok, report.lines
    assert report.lines[0] == "✓ bot token works: @watchdesk (UBOT0001) in Fake Desk (T0TEAM01)"
    assert report.lines[1].startswith(
        "✓ scopes granted: channels:history, channels:read, chat:write"
    )
    assert "✓ app-level token works (Socket Mode can connect)" in report.lines
    assert "✓ bot is a member of #news-desk (C0DESK01)" in report.lines
    assert "✓ user group S0DESK01: 2 members may change the watchlist and feeds" in report.lines
    assert len(fake_slack.calls_to("usergroups.users.list")) == 1  # the Discord role id was skipped


def test_missing_scopes_are_named(web_client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.scopes = "chat:write,commands"
    report = run_doctor(web_client, ["C0DESK01"], app_token=APP_TOKEN)
    assert not report.ok
    assert (
        "✗ missing scope channels:history (needed to read verdict replies in public channels and find already-posted alerts)"
        in report.lines
    )
    assert (
        "✗ missing scope users:read (needed to show who recorded a verdict and recognise workspace admins)"
        in report.lines
    )
    assert not any("missing scope chat:write" in line for line in report.lines)
    assert any("reinstall the app" in line for line in report.lines)


def test_channel_problems(web_client: WebClient, fake_slack: FakeSlack) -> None:
    fake_slack.add_channel("C0ARCH01", "old-desk", is_archived=True)
    report = run_doctor(
        web_client, ["C0OTHER1", "C0ARCH01", "C0NOPE01", "#news-desk"], app_token=APP_TOKEN
    )
    assert not report.ok
    problems = [line for line in report.lines if line.startswith("✗")]
    assert problems == [
        "✗ bot is not a member of #elsewhere (C0OTHER1): type /invite @Watchdesk in that channel",
        "✗ #old-desk (C0ARCH01) is archived: unarchive it or change the destination in config",
        "✗ channel C0NOPE01 not found: check the ID; for a private channel invite the bot first (/invite @Watchdesk)",
        "✗ '#news-desk' is not a channel ID: use the ID (C…/G…; channel name → View channel details → bottom of the About tab), e.g. slack:C0123ABCD",
    ]


def test_bad_tokens(fake_slack: FakeSlack) -> None:
    report = run_doctor(
        build_web_client("xoxb-wrong", fake_slack.base_url, timeout=1), ["C0DESK01"]
    )
    assert not report.ok and len(report.lines) == 1
    assert report.lines[0].startswith(
        "✗ SLACK_BOT_TOKEN was refused (invalid_auth): install the app"
    )
    good = build_web_client("xoxb-test-token", fake_slack.base_url, timeout=1)
    report = run_doctor(good, ["C0DESK01"], app_token="xapp-wrong")
    assert (
        "✗ SLACK_APP_TOKEN was refused (invalid_auth): enable Socket Mode and create an app-level token with the connections:write scope"
        in report.lines
    )
    report = run_doctor(good, ["C0DESK01"], app_token=None)
    assert any(line.startswith("✗ SLACK_APP_TOKEN is not set") for line in report.lines)


def test_http_mode_needs_signing_secret(web_client: WebClient) -> None:
    assert not run_doctor(web_client, ["C0DESK01"], mode="http").ok
    report = run_doctor(web_client, ["C0DESK01"], mode="http", signing_secret="s3cret")
    assert (
        report.ok and "✓ signing secret set (HTTP mode; verified on every request)" in report.lines
    )


def test_unreachable_api_url() -> None:
    report = run_doctor(
        build_web_client("xoxb-x", "http://127.0.0.1:9/api/", timeout=1), ["C0DESK01"]
    )
    assert not report.ok and report.lines[0].startswith(
        "✗ could not reach Slack at http://127.0.0.1:9/api/"
    )


def test_granted_scopes_header_forms() -> None:
    assert granted_scopes({"X-OAuth-Scopes": "a, b,c"}) == {"a", "b", "c"}
    assert granted_scopes({"x-oauth-scopes": ["a,b"]}) == {"a", "b"}
    assert granted_scopes({}) == set()


def test_manifest_matches_the_code() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["oauth_config"]["scopes"]["bot"] == list(REQUIRED_SCOPES)
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/watch", "/feeds", "/claims", "/digest", "/why"]
    assert commands == [f"/{name}" for name in COMMANDS]  # each one has a listener
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == {
        "message.channels",
        "message.groups",
    }


def test_manifest_commands_escape_channels_for_the_desk_parser() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert all(c["should_escape"] is True for c in manifest["features"]["slash_commands"])
