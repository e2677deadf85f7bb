"""The discord.py client Watchdesk runs: intents, safe defaults, command sync, persistent items.

Safety defaults live here so no call site can forget them: ``allowed_mentions`` allows nothing
(every message the bot sends inherits it), and no prefix commands are parsed from messages.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.actions import NO_MENTIONS
from bot.chat.discord.cog import WatchdeskCog
from bot.chat.discord.replies import render_reply
from bot.chat.discord.views import VerdictButton, VerdictSelect
from bot.errors import BUG_REPLY

if TYPE_CHECKING:
    from bot.desk.commands import Desk

log = logging.getLogger(__name__)

# discord.py sleeps through a 429 up to this long (it never retries a request Discord refused,
# so nothing is posted twice); a longer wait surfaces as RemoteError(retry_after=…).
MAX_RATELIMIT_WAIT_S = 30.0


def required_permissions() -> discord.Permissions:
    """What the bot needs in each alert channel (309237730304; docs/discord.md explains each)."""
    return discord.Permissions(
        view_channel=True,
        send_messages=True,
        embed_links=True,
        read_message_history=True,
        create_public_threads=True,
        send_messages_in_threads=True,
    )


def invite_url(application_id: int) -> str:
    """The link that adds the bot to a server with its slash commands and permissions."""
    return discord.utils.oauth_url(
        application_id, permissions=required_permissions(), scopes=("bot", "applications.commands")
    )


def watchdesk_intents(message_content: bool) -> discord.Intents:
    """Guilds (channels, roles, threads), guild messages (thread replies) and, optionally, the
    privileged Message Content intent (the text of replies that do not mention the bot)."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_messages = True
    intents.message_content = message_content
    return intents


def quiet_voice_notes() -> None:
    """Watchdesk never joins voice, so discord.py's start-up notes that PyNaCl and davey (voice
    libraries) are missing are noise. discord.py warns once per process and then clears these
    flags itself; clearing them first skips exactly those two lines and nothing else."""
    discord.VoiceClient.warn_nacl = False
    discord.VoiceClient.warn_dave = False


class WatchdeskTree(app_commands.CommandTree):
    """Command tree whose errors end as a short ephemeral answer, never silence."""

    async def on_error(
        self, interaction: discord.Interaction[Any], error: app_commands.AppCommandError
    ) -> None:
        if isinstance(error, app_commands.TransformerError | app_commands.CheckFailure):
            text = str(error)
        else:
            # Discord wraps our own exceptions in CommandInvokeError: still a bug, logged once.
            log.error("bug in a slash command", exc_info=error)
            text = BUG_REPLY
        content = render_reply(text)
        if interaction.response.is_done():
            await interaction.followup.send(content, ephemeral=True, allowed_mentions=NO_MENTIONS)
        else:
            await interaction.response.send_message(
                content, ephemeral=True, allowed_mentions=NO_MENTIONS
            )


class WatchdeskBot(commands.Bot):
    """One Discord connection serving the configured guilds for one Desk."""

    def __init__(
        self,
        desk: Desk,
        *,
        guild_ids: Sequence[int] = (),
        sync_global: bool = False,
        message_content: bool = True,
        guild_ready_timeout_s: float = 2.0,
    ) -> None:
        quiet_voice_notes()
        super().__init__(
            command_prefix=commands.when_mentioned,
            help_command=None,
            intents=watchdesk_intents(message_content),
            allowed_mentions=NO_MENTIONS,
            max_ratelimit_timeout=MAX_RATELIMIT_WAIT_S,
            tree_cls=WatchdeskTree,
            guild_ready_timeout=guild_ready_timeout_s,
        )
        self.desk = desk
        self.guild_ids: tuple[int, ...] = tuple(guild_ids)
        self.sync_global = sync_global

    def serves(self, guild_id: int | None) -> bool:
        """Whether events from this guild are ours; with no guilds configured, every guild is."""
        return guild_id is not None and (not self.guild_ids or guild_id in self.guild_ids)

    async def setup_hook(self) -> None:
        await self.add_cog(WatchdeskCog(self))
        self.add_dynamic_items(VerdictButton, VerdictSelect)
        await self.sync_commands(globally=self.sync_global)

    async def sync_commands(self, *, globally: bool = False) -> dict[str, int]:
        """Register the slash commands: per configured guild (visible at once) and, when asked,
        globally (Discord may take up to an hour to show those everywhere).

        Returns how many commands each scope now has; a guild that refuses (the bot was
        invited without the applications.commands scope) is logged, not fatal.
        """
        synced: dict[str, int] = {}
        for guild_id in self.guild_ids:
            guild = discord.Object(id=guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                synced[f"guild:{guild_id}"] = len(await self.tree.sync(guild=guild))
            except discord.HTTPException as exc:
                log.error(
                    "could not register slash commands in guild %s (%s); re-invite the bot with the "
                    "bot and applications.commands scopes (see docs/discord.md)",
                    guild_id,
                    exc,
                )
        if globally:
            synced["global"] = len(await self.tree.sync())
        log.info("slash commands synced: %s", synced)
        return synced

    async def on_message(self, message: discord.Message, /) -> None:
        """No prefix commands: replies are handled by `WatchdeskCog.on_message`."""
        return
