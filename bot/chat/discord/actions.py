"""Turning a Discord interaction or message into a Desk call and its answer back into Discord.

The Desk is synchronous and touches the database, so every call runs in a worker thread
(`asyncio.to_thread`) and the gateway keeps its heartbeat. Interactions are deferred first
(ephemerally) because Discord wants an answer within three seconds and a desk call that
re-renders alerts or fetches an article can take longer; the answer is then a followup.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

import discord

from bot.chat.discord import inbound
from bot.chat.discord.replies import render_reply
from bot.desk import boundary
from bot.desk.commands import Actor, Reply
from bot.models import Verdict

if TYPE_CHECKING:
    from bot.desk.commands import Desk

log = logging.getLogger(__name__)

PLATFORM = "discord"
NO_MENTIONS = discord.AllowedMentions.none()
NOT_SERVED_TEXT = (
    "Watchdesk is not set up for this server. An operator can add this server's id to "
    "[discord] guilds in the Watchdesk configuration."
)
NOT_IN_SERVER_TEXT = "Watchdesk commands work inside a server, not in direct messages."


class DeskClient(Protocol):
    """What the handlers need from the bot: the desk and which guilds it serves."""

    desk: Desk

    def serves(self, guild_id: int | None) -> bool: ...


def destination(channel_id: int | str) -> str:
    """The desk's name for a Discord channel, "discord:<id>" (the id checked to be a
    snowflake): the text form the store and the outbox hold."""
    return str(inbound.destination(channel_id))


def home_channel_id(channel: Any, fallback: int | None) -> int | None:
    """The channel a thread belongs to (its parent), else the channel itself: permissions and
    alert destinations are per channel, and a thread is part of its parent's conversation."""
    if isinstance(channel, discord.Thread):
        return channel.parent_id
    return getattr(channel, "id", None) or fallback


def _role_ids(user: discord.abc.User) -> tuple[str, ...]:
    roles = getattr(user, "roles", None) or ()
    return tuple(str(role.id) for role in roles if not role.is_default())


def actor_from_interaction(interaction: discord.Interaction[Any]) -> Actor:
    """The person behind an interaction, with the facts the desk's permission check needs."""
    user = interaction.user
    admin = interaction.permissions.manage_guild
    if isinstance(user, discord.Member):
        admin = admin or user.guild_permissions.manage_guild
    channel = home_channel_id(interaction.channel, interaction.channel_id)
    return Actor(
        platform=PLATFORM,
        user_id=str(user.id),
        name=user.display_name,
        channel="" if channel is None else str(channel),
        groups=_role_ids(user),
        is_platform_admin=bool(admin),
    )


def actor_from_message(message: discord.Message) -> Actor:
    """The author of a thread reply, described like `actor_from_interaction` does."""
    author = message.author
    admin = isinstance(author, discord.Member) and author.guild_permissions.manage_guild
    channel = home_channel_id(message.channel, None)
    return Actor(
        platform=PLATFORM,
        user_id=str(author.id),
        name=author.display_name,
        channel="" if channel is None else str(channel),
        groups=_role_ids(author),
        is_platform_admin=bool(admin),
    )


def desk_client(interaction: discord.Interaction[Any]) -> DeskClient:
    return interaction.client  # type: ignore[return-value]  # our bot class is the only client


async def refuse_unserved(interaction: discord.Interaction[Any]) -> bool:
    """Answer (ephemerally) and return True when this interaction is outside the served guilds."""
    if interaction.guild_id is None:
        text = NOT_IN_SERVER_TEXT
    elif not desk_client(interaction).serves(interaction.guild_id):
        text = NOT_SERVED_TEXT
    else:
        return False
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    return True


async def call_desk(call: Callable[[], Reply | None], what: str) -> Reply | None:
    """Run a desk call off the event loop, behind the desk's one boundary (`bot.desk.boundary`):
    a user's mistake becomes its message, a bug is logged and becomes `BUG_REPLY`."""
    return await asyncio.to_thread(boundary.run, call, what)


async def answer(
    interaction: discord.Interaction[Any], call: Callable[[Actor], Reply], what: str
) -> None:
    """Run one desk command for an interaction and answer it ephemerally."""
    if await refuse_unserved(interaction):
        return
    actor = actor_from_interaction(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await call_desk(lambda: call(actor), what)
    await interaction.followup.send(
        render_reply(reply or Reply("Done."), interaction.guild_id),
        ephemeral=True,
        allowed_mentions=NO_MENTIONS,
    )


async def answer_verdict(
    interaction: discord.Interaction[Any],
    alert_id: int,
    claims: tuple[int, ...] | None,
    verdict: Verdict,
    source_url: str | None = None,
    note: str | None = None,
) -> None:
    """Record a verdict from a button, a select or /verdict; the desk re-renders the alert."""
    desk = desk_client(interaction).desk
    await answer(
        interaction,
        lambda actor: desk.record_verdict(
            actor, alert_id, claims, verdict, source_url=source_url, note=note
        ),
        f"verdict {verdict.value} on alert {alert_id} claims {claims}",
    )
