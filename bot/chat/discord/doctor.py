"""`watchdesk doctor` for Discord: the token, the Message Content intent, the guilds to serve,
and the invite link, each problem with its fix."""

from __future__ import annotations

import httpx

from bot.chat.discord.client import invite_url
from bot.chat.discord.runner import DEFAULT_API_URL
from bot.settings import DiscordSettings

MESSAGE_CONTENT_FLAGS = (1 << 18) | (1 << 19)  # GATEWAY_MESSAGE_CONTENT (+ _LIMITED)


def check_discord(settings: DiscordSettings, timeout: float = 10.0) -> list[tuple[bool, str]]:
    """(ok, line) pairs, in the order a person would fix them."""
    base = (settings.api_url or DEFAULT_API_URL).rstrip("/")
    headers = {"Authorization": f"Bot {settings.token}", "User-Agent": "Watchdesk doctor"}
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=timeout, trust_env=False) as http:
            me = http.get("/users/@me")
            if me.status_code == 401:
                return [
                    (
                        False,
                        "Discord rejected DISCORD_TOKEN: copy the bot token again "
                        "(Developer Portal → your app → Bot → Reset Token)",
                    )
                ]
            me.raise_for_status()
            application = http.get("/oauth2/applications/@me")
            application.raise_for_status()
    except httpx.HTTPError as exc:
        return [
            (False, f"cannot reach Discord at {base}: {exc}; check DISCORD_API_URL and the network")
        ]
    user, app = me.json(), application.json()
    lines = [
        (True, f"token works: logged in as {user.get('username')} (application {app.get('id')})")
    ]
    if int(app.get("flags") or 0) & MESSAGE_CONTENT_FLAGS:
        lines.append((True, "Message Content intent enabled: plain thread replies record verdicts"))
    else:
        lines.append(
            (
                False,
                "Message Content intent is off: only replies that mention the bot "
                "record verdicts. Enable it under Developer Portal → Bot → "
                "Privileged Gateway Intents",
            )
        )
    if settings.guilds:
        lines.append(
            (True, f"slash commands sync to guild(s) {', '.join(map(str, settings.guilds))}")
        )
    else:
        lines.append(
            (
                False,
                "no [discord] guilds configured: slash commands sync only globally "
                "(can take an hour); add your server id to [discord] guilds",
            )
        )
    lines.append((True, f"invite link: {invite_url(int(app['id']))}"))
    return lines
