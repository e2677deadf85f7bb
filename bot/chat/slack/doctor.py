"""`watchdesk doctor` for Slack: is the token valid, are the scopes granted, is the bot in every
configured channel — each problem stated with the exact fix.

Scopes come from the ``x-oauth-scopes`` header Slack sends with ``auth.test``; channel membership
from ``conversations.info`` (``is_member``). The app-level token (Socket Mode) is checked with
``apps.connections.open``, which only hands out a WebSocket URL that expires unused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

# What config/slack-manifest.yml asks for, and why each is needed.
REQUIRED_SCOPES: dict[str, str] = {
    "chat:write": "post and edit alerts, replies and notices",
    "commands": "the /watch, /feeds and /claims slash commands",
    "channels:history": "read verdict replies in public channels and find already-posted alerts",
    "groups:history": "the same in private channels",
    "channels:read": "check the bot is in each public channel (doctor)",
    "groups:read": "check the bot is in each private channel (doctor)",
    "users:read": "show who recorded a verdict and recognise workspace admins",
    "usergroups:read": "allow user groups listed in [permissions] groups",
}

OK, PROBLEM = "✓", "✗"


@dataclass
class DoctorReport:
    """Human-readable lines, one per check; ``ok`` is False if any check failed."""

    lines: list[str] = field(default_factory=list)
    ok: bool = True

    def good(self, text: str) -> None:
        self.lines.append(f"{OK} {text}")

    def bad(self, text: str) -> None:
        self.lines.append(f"{PROBLEM} {text}")
        self.ok = False


def granted_scopes(headers: Mapping[str, Any]) -> set[str]:
    """Scopes in an ``x-oauth-scopes`` header (any capitalisation, str or list value)."""
    for key, value in headers.items():
        if key.lower() == "x-oauth-scopes":
            if isinstance(value, list):
                value = ",".join(value)
            return {s.strip() for s in str(value).split(",") if s.strip()}
    return set()


def _error_code(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        return str(data.get("error") or f"HTTP {exc.response.status_code}")
    return f"{type(exc).__name__}: {exc}"


def check_bot_token(
    client: WebClient, report: DoctorReport, required_scopes: Iterable[str]
) -> bool:
    """auth.test + scopes; False when the token itself is unusable (nothing else can be checked)."""
    try:
        response = client.auth_test()
    except (SlackClientError, OSError) as exc:
        code = _error_code(exc)
        if code in (
            "invalid_auth",
            "not_authed",
            "token_revoked",
            "account_inactive",
            "token_expired",
        ):
            report.bad(
                f"SLACK_BOT_TOKEN was refused ({code}): install the app to the workspace and copy the "
                "Bot User OAuth Token (xoxb-…) from OAuth & Permissions"
            )
        else:
            report.bad(
                f"could not reach Slack at {client.base_url} ({code}): check SLACK_API_URL and the network"
            )
        return False
    who = f"@{response.get('user')} ({response.get('user_id')}) in {response.get('team')} ({response.get('team_id')})"
    if not response.get("bot_id"):
        report.bad(
            f"SLACK_BOT_TOKEN belongs to a user, not a bot ({who}): use the Bot User OAuth Token (xoxb-…)"
        )
        return False
    report.good(f"bot token works: {who}")
    granted = granted_scopes(response.headers or {})
    missing = [s for s in required_scopes if s not in granted]
    if missing:
        for scope in missing:
            why = REQUIRED_SCOPES.get(scope, "required")
            report.bad(f"missing scope {scope} (needed to {why})")
        report.bad(
            "add the missing scopes (OAuth & Permissions → Bot Token Scopes, or update the app from "
            "config/slack-manifest.yml), then reinstall the app to the workspace"
        )
    else:
        report.good(f"scopes granted: {', '.join(sorted(granted))}")
    return True


def check_channel(client: WebClient, channel: str, report: DoctorReport) -> None:
    if not channel[:1].isalnum() or not channel[:1].isupper():
        report.bad(
            f"{channel!r} is not a channel ID: use the ID (C…/G…; channel name → View channel "
            "details → bottom of the About tab), e.g. slack:C0123ABCD"
        )
        return
    try:
        info = client.conversations_info(channel=channel)["channel"] or {}
    except (SlackClientError, OSError) as exc:
        code = _error_code(exc)
        if code == "channel_not_found":
            report.bad(
                f"channel {channel} not found: check the ID; for a private channel invite the bot "
                "first (/invite @Watchdesk)"
            )
        elif code == "missing_scope":
            report.bad(
                f"cannot inspect channel {channel}: missing channels:read / groups:read scope"
            )
        else:
            report.bad(f"cannot inspect channel {channel} ({code})")
        return
    label = f"#{info.get('name', '?')} ({channel})"
    if info.get("is_archived"):
        report.bad(f"{label} is archived: unarchive it or change the destination in config")
    elif not info.get("is_member"):
        report.bad(f"bot is not a member of {label}: type /invite @Watchdesk in that channel")
    else:
        report.good(f"bot is a member of {label}")


def check_group(client: WebClient, group_id: str, report: DoctorReport) -> None:
    try:
        users = client.usergroups_users_list(usergroup=group_id).get("users") or []
    except (SlackClientError, OSError) as exc:
        report.bad(
            f"user group {group_id} in [permissions] groups cannot be read ({_error_code(exc)})"
        )
        return
    report.good(f"user group {group_id}: {len(users)} members may change the watchlist and feeds")


def check_app_token(client: WebClient, app_token: str | None, report: DoctorReport) -> None:
    if not app_token:
        report.bad(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (Basic Information → "
            'App-Level Tokens, scope connections:write), or set [slack] mode = "http"'
        )
        return
    if not app_token.startswith("xapp-"):
        report.bad("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        return
    try:
        client.apps_connections_open(app_token=app_token)
    except (SlackClientError, OSError) as exc:
        report.bad(
            f"SLACK_APP_TOKEN was refused ({_error_code(exc)}): enable Socket Mode and create an "
            "app-level token with the connections:write scope"
        )
        return
    report.good("app-level token works (Socket Mode can connect)")


def run_doctor(
    client: WebClient,
    channels: Sequence[str],
    required_scopes: Iterable[str] = tuple(REQUIRED_SCOPES),
    *,
    mode: str = "socket",
    app_token: str | None = None,
    signing_secret: str | None = None,
    group_ids: Sequence[str] = (),
) -> DoctorReport:
    """Every Slack check, in the order a person would fix them. ``channels`` are channel IDs
    (the part after "slack:" of each configured destination)."""
    report = DoctorReport()
    if not check_bot_token(client, report, list(required_scopes)):
        return report
    if mode == "socket":
        check_app_token(client, app_token, report)
    elif not signing_secret:
        report.bad("HTTP mode needs SLACK_SIGNING_SECRET (Basic Information → App Credentials)")
    else:
        report.good("signing secret set (HTTP mode; verified on every request)")
    for channel in dict.fromkeys(channels):
        check_channel(client, channel, report)
    if not channels:
        report.bad(
            "no Slack channel is configured: add slack:<channel id> to default_channels or a [[watch]]"
        )
    for group_id in (g for g in group_ids if g.startswith("S")):
        check_group(client, group_id, report)
    return report
