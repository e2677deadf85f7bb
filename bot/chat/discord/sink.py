"""The Discord sink: posts, finds and edits alert messages, and posts in their threads.

The outbox calls sinks synchronously from Discord's delivery worker thread; discord.py lives on
its own event loop (the runner's thread), so each call is handed over with
`asyncio.run_coroutine_threadsafe` and waited for with a deadline (`request_timeout_s`, which
the outbox's lease must outlast). Each call posts at most once. A 429 is retried by discord.py
only after Discord said nothing was posted; a longer wait becomes
``RemoteError(retry_after=…)``. A deadline or connection loss after sending may have posted,
so it surfaces as a retryable RemoteError and the outbox asks `find_posted` before posting
again. Anything else raised in here is a bug and propagates as itself (the worker logs it with
its traceback). Discord's message ``nonce`` with ``enforce_nonce`` additionally makes a repeated post
of the same alert to the same channel return the first message for a few minutes.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import aiohttp
import discord

from bot.chat.discord.actions import NO_MENTIONS, destination
from bot.chat.discord.embeds import (
    alert_embed,
    alert_id_from_footer,
    reply_content,
    thread_name,
)
from bot.chat.discord.views import alert_id_from_custom_id, alert_view
from bot.desk.sinks import destination_of
from bot.errors import RemoteError
from bot.models import AlertView, Destination, MessageRef
from bot.retry import retry_after_seconds

if TYPE_CHECKING:
    from bot.chat.discord.client import WatchdeskBot

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 90.0  # above discord.py's longest in-request 429 wait (30 s)
HISTORY_LIMIT = 100  # one GET: Discord returns at most 100 messages per request
THREAD_ARCHIVE_MINUTES = 10080  # a week: checking a claim can take days
NOT_CONNECTED_RETRY_S = 5.0
THREAD_EXISTS_CODE = 160004  # "A thread has already been created for this message"
PERMISSION_HINT = (
    "give the bot View Channel, Send Messages, Embed Links, Create Public Threads, Send Messages "
    "in Threads and Read Message History in that channel"
)


def alert_nonce(alert_id: int, channel_id: int) -> str:
    """A per-(alert, channel) nonce (Discord allows 25 characters): with ``enforce_nonce``
    Discord returns the existing message instead of posting the same alert twice."""
    digest = hashlib.blake2s(f"{alert_id}:{channel_id}".encode(), digest_size=10).hexdigest()
    return f"wd{digest}"


def _channel_id(channel: str) -> int:
    if not channel.isdigit():
        raise RemoteError(
            f"Discord channel {channel!r} is not a channel id; destinations look like "
            f"discord:123456789012345678",
            permanent=True,
        )
    return int(channel)


def _retry_after(exc: discord.HTTPException) -> float | None:
    response = getattr(exc, "response", None)
    return retry_after_seconds(
        response.headers.get("Retry-After") if response is not None else None
    )


def remote_error(exc: BaseException, what: str) -> RemoteError | None:
    """A discord.py / network failure as a RemoteError (retryable or permanent); None for
    anything else, which is a bug and must propagate as itself."""
    if isinstance(exc, discord.RateLimited):
        return RemoteError(
            f"{what}: Discord rate limit, retry in {exc.retry_after:.1f}s",
            retry_after=exc.retry_after,
        )
    if isinstance(exc, discord.Forbidden):
        return RemoteError(
            f"{what}: Discord refused ({exc.text or exc.status}); {PERMISSION_HINT}", permanent=True
        )
    if isinstance(exc, discord.NotFound):
        return RemoteError(
            f"{what}: Discord says it does not exist ({exc.text or exc.status}); check the channel id "
            f"and that the bot is in that server",
            permanent=True,
        )
    if isinstance(exc, discord.DiscordServerError):
        return RemoteError(f"{what}: Discord server error {exc.status}")
    if isinstance(exc, discord.HTTPException):
        if exc.status == 429:
            return RemoteError(f"{what}: Discord rate limit", retry_after=_retry_after(exc) or 5.0)
        return RemoteError(
            f"{what}: Discord rejected the request ({exc.status}: {exc.text})", permanent=True
        )
    if isinstance(exc, aiohttp.ClientError | OSError | asyncio.TimeoutError):
        return RemoteError(
            f"{what}: connection to Discord failed ({exc!r}); it may have been posted"
        )
    return None


class DiscordSink:
    """`bot.desk.sinks.Sink` for Discord. ``bot`` may be attached after construction (the
    runner creates the client once the desk exists and may replace it on reconnect)."""

    platform = "discord"

    def __init__(
        self, bot: WatchdeskBot | None = None, *, timeout: float = DEFAULT_TIMEOUT_S
    ) -> None:
        self.bot = bot
        self.timeout = timeout

    @property
    def request_timeout_s(self) -> float:
        """Every call is abandoned (and cancelled on the loop) after ``timeout`` seconds."""
        return self.timeout

    # ------------------------------------------------------------------ Sink protocol

    def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
        channel_id = self._channel_id(to)
        return self._run(
            lambda: self.post_alert_async(alert, channel_id), f"posting alert {alert.alert_id}"
        )

    def find_posted(self, alert_id: int, to: Destination) -> MessageRef | None:
        channel_id = self._channel_id(to)
        return self._run(
            lambda: self.find_posted_async(alert_id, channel_id), f"looking for alert {alert_id}"
        )

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        channel_id = self._channel_id(destination_of(ref, self.platform))
        self._run(
            lambda: self.update_alert_async(alert, channel_id, int(ref.message_id)),
            f"updating alert {alert.alert_id}",
        )

    def post_in_thread(self, ref: MessageRef, text: str) -> MessageRef:
        channel_id = self._channel_id(destination_of(ref, self.platform))
        return self._run(
            lambda: self.post_in_thread_async(channel_id, ref, text), "posting in a thread"
        )

    def post_notice(self, to: Destination, text: str) -> None:
        channel_id = self._channel_id(to)
        self._run(lambda: self.post_notice_async(channel_id, text), "posting a notice")

    def _channel_id(self, to: Destination) -> int:
        if to.platform != self.platform:
            raise RemoteError(f"{to} is not a Discord destination", permanent=True)
        return _channel_id(to.channel)

    # ------------------------------------------------------------------ on the event loop

    async def post_alert_async(self, alert: AlertView, channel_id: int) -> MessageRef:
        """Post the alert with its buttons, then open its discussion thread."""
        bot = self._bot()
        target = bot.get_partial_messageable(channel_id)
        view = alert_view(alert)
        message = await target.send(
            embed=discord.Embed.from_dict(alert_embed(alert)),
            view=view or discord.utils.MISSING,
            nonce=alert_nonce(alert.alert_id, channel_id),
            allowed_mentions=NO_MENTIONS,
        )
        thread_id = await self._open_thread(channel_id, message.id, thread_name(alert))
        return MessageRef(destination(channel_id), str(message.id), thread_id)

    async def find_posted_async(self, alert_id: int, channel_id: int) -> MessageRef | None:
        """Our message for this alert among the channel's latest messages, with its thread
        (opened now if the crash came between posting and threading)."""
        bot = self._bot()
        me = bot.user.id if bot.user else None
        async for message in bot.get_partial_messageable(channel_id).history(limit=HISTORY_LIMIT):
            if message.author.id != me or posted_alert_id(message) != alert_id:
                continue
            if message.flags.has_thread or message.thread is not None:
                thread_id: str | None = str(message.id)
            else:
                thread_id = await self._open_thread(channel_id, message.id, f"Alert #{alert_id}")
            return MessageRef(destination(channel_id), str(message.id), thread_id)
        return None

    async def update_alert_async(self, alert: AlertView, channel_id: int, message_id: int) -> None:
        bot = self._bot()
        view = alert_view(alert)
        message = bot.get_partial_messageable(channel_id).get_partial_message(message_id)
        await message.edit(
            embed=discord.Embed.from_dict(alert_embed(alert)),
            view=view,
            allowed_mentions=NO_MENTIONS,
        )

    async def post_in_thread_async(self, channel_id: int, ref: MessageRef, text: str) -> MessageRef:
        """A message in the alert's thread (opened now if posting could not open it); with no
        thread possible, a reply to the alert message in its channel."""
        bot = self._bot()
        message_id = int(ref.message_id)
        thread_id = ref.thread_id or await self._open_thread(
            channel_id, message_id, f"Alert #{ref.message_id}"
        )
        if thread_id is not None:
            sent = await bot.get_partial_messageable(int(thread_id)).send(
                reply_content(text), allowed_mentions=NO_MENTIONS
            )
        else:
            channel = bot.get_partial_messageable(channel_id)
            sent = await channel.send(
                reply_content(text),
                reference=channel.get_partial_message(message_id),
                allowed_mentions=NO_MENTIONS,
            )
        return MessageRef(destination(channel_id), str(sent.id), thread_id)

    async def post_notice_async(self, channel_id: int, text: str) -> None:
        target = self._bot().get_partial_messageable(channel_id)
        await target.send(reply_content(text), allowed_mentions=NO_MENTIONS)

    async def _open_thread(self, channel_id: int, message_id: int, name: str) -> str | None:
        """Open the alert's thread; its id is the message id. A refusal leaves the alert
        posted without a thread (logged) rather than failing a delivery that happened."""
        try:
            await self._bot().http.start_thread_with_message(
                channel_id,
                message_id,
                name=name,
                auto_archive_duration=THREAD_ARCHIVE_MINUTES,
                rate_limit_per_user=None,
            )
        except discord.HTTPException as exc:
            if exc.code == THREAD_EXISTS_CODE:
                return str(message_id)
            log.warning(
                "alert message %s in channel %s posted but its thread could not be opened (%s); %s",
                message_id,
                channel_id,
                exc,
                PERMISSION_HINT,
            )
            return None
        return str(message_id)

    # ------------------------------------------------------------------ bridging

    def _bot(self) -> WatchdeskBot:
        bot = self.bot
        if bot is None or bot.user is None or bot.is_closed():
            raise RemoteError("Discord is not connected yet", retry_after=NOT_CONNECTED_RETRY_S)
        return bot

    def _run(self, make: Callable[[], Coroutine[Any, Any, T]], what: str) -> T:
        """Run ``make()`` (a coroutine factory) on the bot's loop and wait for it."""
        bot = self._bot()
        loop = bot.loop
        if not loop.is_running():
            raise RemoteError("Discord is not connected yet", retry_after=NOT_CONNECTED_RETRY_S)
        if _running_loop() is loop:
            raise RuntimeError(
                "DiscordSink's sync methods block; on the event loop use the *_async methods"
            )
        future = asyncio.run_coroutine_threadsafe(make(), loop)
        try:
            return future.result(self.timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise RemoteError(
                f"{what}: no answer from Discord within {self.timeout:.0f}s; it may have been posted"
            ) from None
        except RemoteError:
            raise
        except concurrent.futures.CancelledError:
            raise RemoteError(f"{what}: cancelled (the Discord client is shutting down)") from None
        except Exception as exc:
            error = remote_error(exc, what)
            if error is None:
                raise  # a bug, not Discord's failure: the worker logs it with its traceback
            raise error from exc


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def posted_alert_id(message: discord.Message) -> int | None:
    """The alert a message of ours shows: from the embed footer, else a button's custom_id."""
    for embed in message.embeds:
        found = alert_id_from_footer(embed.footer.text)
        if found is not None:
            return found
    for row in message.components:
        for child in getattr(row, "children", ()):
            found = alert_id_from_custom_id(getattr(child, "custom_id", None))
            if found is not None:
                return found
    return None
