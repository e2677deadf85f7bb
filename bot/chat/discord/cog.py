"""The slash commands (/watch, /feeds, /claims, /why, /verdict) and thread replies, as Desk calls.

Each handler only gathers the options Discord already parsed and hands them to the platform-
neutral Desk, which checks permissions, validates and answers in plain text; answers are
ephemeral. Thread replies (``2 false https://…``) go to `Desk.handle_thread_reply` after
`bot.chat.discord.inbound` has turned Discord's markup into the desk's neutral form.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands
from discord.ext import commands

from bot.chat.discord.actions import (
    NO_MENTIONS,
    actor_from_message,
    answer,
    answer_verdict,
    call_desk,
    destination,
    refuse_unserved,
)
from bot.chat.discord.inbound import inbound_text
from bot.chat.discord.replies import render_reply
from bot.models import Verdict

if TYPE_CHECKING:
    from bot.chat.discord.client import WatchdeskBot
    from bot.desk.commands import Desk

log = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices
CHOICE_LIMIT = 100  # a choice's name and string value are at most 100 characters
THREAD_CACHE_SIZE = 1024
_ALIAS_SPLIT = re.compile(r"[,;\n]")

VERDICT_CHOICES = [
    app_commands.Choice(name="✅ true", value=Verdict.TRUE.value),
    app_commands.Choice(name="❌ false", value=Verdict.FALSE.value),
    app_commands.Choice(name="⚠️ misleading", value=Verdict.MISLEADING.value),
    app_commands.Choice(name="❓ unproven", value=Verdict.UNPROVEN.value),
]
NOT_A_THREAD_TEXT = (
    "Use /verdict inside an alert's thread (the thread Watchdesk opens under each alert), "
    "or reply there with e.g. `2 false https://source.example/report`."
)
NOT_AN_ALERT_THREAD_TEXT = (
    "This thread does not belong to a Watchdesk alert. Open the thread under the alert you "
    "want to judge and run /verdict there."
)


def split_aliases(text: str | None) -> tuple[str, ...]:
    """Aliases typed as "Хренин, Khrenin": one slash-command option can't be a list."""
    return tuple(part.strip() for part in _ALIAS_SPLIT.split(text or "") if part.strip())


def matching_choices(values: list[str], current: str) -> list[app_commands.Choice[str]]:
    """Autocomplete: the values containing what was typed so far (prefix matches first).
    Values longer than Discord's 100-character choice limit can only be typed in full."""
    needle = current.casefold().strip()
    usable = [v for v in values if 0 < len(v) <= CHOICE_LIMIT and needle in v.casefold()]
    usable.sort(key=lambda v: (not v.casefold().startswith(needle), v.casefold()))
    return [app_commands.Choice(name=v, value=v) for v in usable[:AUTOCOMPLETE_LIMIT]]


def strip_bot_mention(content: str, bot_id: int) -> str:
    """A reply that mentions the bot ("@Watchdesk 2 false") without the mention."""
    return re.sub(rf"<@!?{bot_id}>", " ", content).strip()


class WatchdeskCog(commands.Cog):
    """Watchdesk's slash commands and its thread-reply listener."""

    watch = app_commands.Group(
        name="watch",
        description="The watchlist of people, places and events",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )
    feeds = app_commands.Group(
        name="feeds",
        description="The feeds Watchdesk polls",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )
    claims = app_commands.Group(
        name="claims",
        description="Claims flagged for checking",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )
    digest = app_commands.Group(
        name="digest",
        description="The digest of open claims and new verdicts",
        guild_only=True,
        allowed_contexts=app_commands.AppCommandContext(guild=True),
    )

    def __init__(self, bot: WatchdeskBot) -> None:
        self.bot = bot
        # thread id → parent channel id, for threads the gateway cache does not know
        self._thread_parents: OrderedDict[int, int] = OrderedDict()

    @property
    def desk(self) -> Desk:
        return self.bot.desk

    # ------------------------------------------------------------------ /watch

    @watch.command(name="add", description="Watch a name (with other spellings) for new articles")
    @app_commands.describe(
        term="The name as the desk calls it, e.g. Viktor Khrenin",
        aliases="Other spellings, comma-separated, e.g. Хренин, Хрэнін",
        channel="Post this term's alerts to this channel (instead of the default channels)",
        keep_default="With a channel: post to the default channels as well",
    )
    async def watch_add(
        self,
        interaction: discord.Interaction[Any],
        term: app_commands.Range[str, 1, 200],
        aliases: app_commands.Range[str, 1, 1000] | None = None,
        channel: discord.TextChannel | None = None,
        keep_default: bool = False,
    ) -> None:
        channels = (destination(channel.id),) if channel is not None else ()
        await answer(
            interaction,
            lambda actor: self.desk.watch_add(
                actor, term, split_aliases(aliases), channels, keep_default
            ),
            f"/watch add {term!r}",
        )

    @watch.command(name="remove", description="Stop watching a name, or stop one of its routes")
    @app_commands.describe(
        term="The watched name to remove",
        channel="Only stop posting this name's alerts to this channel",
    )
    async def watch_remove(
        self,
        interaction: discord.Interaction[Any],
        term: app_commands.Range[str, 1, 200],
        channel: discord.TextChannel | None = None,
    ) -> None:
        channels = (destination(channel.id),) if channel is not None else ()
        await answer(
            interaction,
            lambda actor: self.desk.watch_remove(actor, term, channels),
            f"/watch remove {term!r}",
        )

    @watch_remove.autocomplete("term")
    async def _watch_names(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.bot.serves(interaction.guild_id):
            return []
        return matching_choices(await asyncio.to_thread(self.desk.watch_names), current)

    @watch.command(name="unalias", description="Stop matching one spelling of a watched name")
    @app_commands.describe(alias="The spelling to drop (the name itself stays watched)")
    async def watch_unalias(
        self, interaction: discord.Interaction[Any], alias: app_commands.Range[str, 1, 200]
    ) -> None:
        await answer(
            interaction,
            lambda actor: self.desk.watch_unalias(actor, alias),
            f"/watch unalias {alias!r}",
        )

    @watch_unalias.autocomplete("alias")
    async def _watch_spellings(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.bot.serves(interaction.guild_id):
            return []
        return matching_choices(await asyncio.to_thread(self.desk.watch_spellings), current)

    @watch.command(name="list", description="Show the watchlist")
    async def watch_list(self, interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, self.desk.watch_list, "/watch list")

    @watch.command(
        name="test", description="Check which watched names a text or an article URL matches"
    )
    @app_commands.describe(text="A sentence to test, or the URL of an article")
    async def watch_test(
        self, interaction: discord.Interaction[Any], text: app_commands.Range[str, 1, 4000]
    ) -> None:
        await answer(interaction, lambda actor: self.desk.watch_test(actor, text), "/watch test")

    # ------------------------------------------------------------------ /feeds

    @feeds.command(name="add", description="Poll a feed (RSS/Atom URL, or a page that links one)")
    @app_commands.describe(url="The feed's URL, e.g. https://example.org/rss")
    async def feeds_add(
        self, interaction: discord.Interaction[Any], url: app_commands.Range[str, 1, 2000]
    ) -> None:
        await answer(
            interaction, lambda actor: self.desk.feeds_add(actor, url), f"/feeds add {url!r}"
        )

    @feeds.command(name="list", description="Show the feeds and their health")
    async def feeds_list(self, interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, self.desk.feeds_list, "/feeds list")

    @feeds.command(name="remove", description="Stop polling a feed")
    @app_commands.describe(url="The feed's URL")
    async def feeds_remove(
        self, interaction: discord.Interaction[Any], url: app_commands.Range[str, 1, 2000]
    ) -> None:
        await answer(
            interaction, lambda actor: self.desk.feeds_remove(actor, url), f"/feeds remove {url!r}"
        )

    @feeds_remove.autocomplete("url")
    async def _feed_urls(
        self, interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        if not self.bot.serves(interaction.guild_id):
            return []
        return matching_choices(await asyncio.to_thread(self.desk.feed_urls), current)

    # ------------------------------------------------------------------ /claims, /verdict

    @claims.command(name="open", description="List claims still waiting for a verdict")
    async def claims_open(self, interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, self.desk.claims_open, "/claims open")

    @digest.command(name="now", description="Post the digest here now")
    async def digest_now(self, interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, self.desk.digest_now, "/digest now")

    @claims.command(name="mine", description="List the claims you said “I'm on it” to")
    async def claims_mine(self, interaction: discord.Interaction[Any]) -> None:
        await answer(interaction, self.desk.claims_mine, "/claims mine")

    # ------------------------------------------------------------------ /why

    @app_commands.command(name="why", description="Why an article was or wasn't posted")
    @app_commands.guild_only()
    @app_commands.describe(target="The article's URL, or an alert number such as 42")
    async def why(
        self, interaction: discord.Interaction[Any], target: app_commands.Range[str, 1, 2000]
    ) -> None:
        await answer(interaction, lambda actor: self.desk.why(actor, target), f"/why {target!r}")

    @app_commands.command(
        name="verdict", description="Record a verdict on a claim of this thread's alert"
    )
    @app_commands.guild_only()
    @app_commands.describe(
        claim="The claim's number as shown in the alert",
        verdict="What checking found",
        source="A link to the evidence",
        note="A short note for the desk",
    )
    @app_commands.choices(verdict=VERDICT_CHOICES)
    async def verdict(
        self,
        interaction: discord.Interaction[Any],
        claim: app_commands.Range[int, 1, 9999],
        verdict: app_commands.Choice[str],
        source: app_commands.Range[str, 1, 2000] | None = None,
        note: app_commands.Range[str, 1, 500] | None = None,
    ) -> None:
        if await refuse_unserved(interaction):
            return
        thread = interaction.channel
        if not isinstance(thread, discord.Thread) or thread.parent_id is None:
            await interaction.response.send_message(
                NOT_A_THREAD_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        alert_id = await asyncio.to_thread(
            self.desk.alert_id_for_message, destination(thread.parent_id), str(thread.id)
        )
        if alert_id is None:
            await interaction.response.send_message(
                NOT_AN_ALERT_THREAD_TEXT, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        await answer_verdict(interaction, alert_id, (claim,), Verdict(verdict.value), source, note)

    # ------------------------------------------------------------------ thread replies

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        """A reply in an alert's thread: verdict text goes to the desk, unparsed.

        With the Message Content intent every reply has its text; without it Discord only
        sends the text of messages that mention the bot, so "@Watchdesk 2 false" still works.
        """
        me = self.bot.user
        if (
            me is None
            or message.author.bot
            or message.guild is None
            or not self.bot.serves(message.guild.id)
        ):
            return
        text = strip_bot_mention(message.content, me.id)
        if not text:
            return
        neutral = inbound_text(text)
        parent_id = await self._thread_parent(message.channel)
        if parent_id is None:
            return
        thread_id = message.channel.id
        actor = actor_from_message(message)
        reply = await call_desk(
            lambda: self.desk.handle_thread_reply(
                actor, destination(parent_id), str(thread_id), neutral
            ),
            f"thread reply in {thread_id}",
        )
        if reply is None:
            return
        try:
            await message.reply(
                render_reply(reply, message.guild.id),
                mention_author=False,
                allowed_mentions=NO_MENTIONS,
            )
        except discord.HTTPException as exc:  # e.g. the thread was locked meanwhile
            log.warning("could not answer in thread %s: %s", thread_id, exc)

    async def _thread_parent(self, channel: Any) -> int | None:
        """The parent channel of the thread a message arrived in, or None if it is no thread.

        Threads the gateway has not told us about (archived, or created before a restart) are
        fetched once and remembered.
        """
        if isinstance(channel, discord.Thread):
            return channel.parent_id
        if not isinstance(channel, discord.PartialMessageable):
            return None
        if channel.id in self._thread_parents:
            self._thread_parents.move_to_end(channel.id)
            return self._thread_parents[channel.id] or None
        try:
            fetched = await self.bot.fetch_channel(channel.id)
        except discord.HTTPException as exc:
            log.warning("cannot look up channel %s of a message: %s", channel.id, exc)
            return None
        parent = fetched.parent_id if isinstance(fetched, discord.Thread) else None
        self._thread_parents[channel.id] = parent or 0  # 0: known not to be a thread
        while len(self._thread_parents) > THREAD_CACHE_SIZE:
            self._thread_parents.popitem(last=False)
        return parent
