"""Running the Discord bot next to the poller and Slack: its own thread, its own event loop.

`DiscordRunner.start()` logs in, registers the slash commands and waits until the gateway is
ready; `stop()` closes the connection. The outbox reaches Discord through `runner.sink`
(a `DiscordSink`), which hands work to this loop from any thread.

Discord's REST base URL and gateway URL are settings (``DISCORD_API_URL``,
``DISCORD_GATEWAY_URL``): production leaves them at Discord's own, tests point them at a
loopback fake. discord.py reads both from class attributes (``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``), so they are process-wide: one Discord bot per process.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import TYPE_CHECKING, Any

import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import Route

from bot.chat.discord.client import WatchdeskBot
from bot.chat.discord.sink import DiscordSink
from bot.errors import ConfigError

if TYPE_CHECKING:
    from bot.desk.commands import Desk
    from bot.settings import DiscordSettings

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://discord.com/api/v10"
DEFAULT_GATEWAY_URL = "wss://gateway.discord.gg/"
READY_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0


def point_discord_py_at(api_url: str, gateway_url: str) -> None:
    """Make discord.py talk to these REST and gateway URLs (process-wide)."""
    api = yarl.URL(api_url)
    gateway = yarl.URL(gateway_url)
    if api.scheme not in ("http", "https") or not api.host:
        raise ConfigError(
            f"DISCORD_API_URL must be an http(s) URL like {DEFAULT_API_URL}, got {api_url!r}"
        )
    if gateway.scheme not in ("ws", "wss") or not gateway.host:
        raise ConfigError(
            f"DISCORD_GATEWAY_URL must be a ws(s) URL like {DEFAULT_GATEWAY_URL}, got {gateway_url!r}"
        )
    Route.BASE = api_url.rstrip("/")
    DiscordWebSocket.DEFAULT_GATEWAY = gateway


class DiscordRunner:
    """Owns the bot's thread and loop. One per process (discord.py's URLs are global).

    Takes the ``[discord]`` settings as they are (token, guilds, URLs, global sync); the two
    timeouts are tuning for tests, and ``message_content`` falls back to off by itself when the
    developer portal has not enabled the intent.
    """

    def __init__(
        self,
        settings: DiscordSettings,
        desk: Desk,
        *,
        sink: DiscordSink | None = None,
        ready_timeout_s: float = READY_TIMEOUT_S,
        guild_ready_timeout_s: float = 2.0,
        message_content: bool = True,
    ) -> None:
        if not settings.token:
            raise ConfigError(
                "DISCORD_TOKEN is not set: put the bot token from the Discord developer portal "
                "in the environment"
            )
        self.settings = settings
        self.token: str = settings.token
        self.api_url = settings.api_url or DEFAULT_API_URL
        self.gateway_url = settings.gateway_url or DEFAULT_GATEWAY_URL
        self.ready_timeout_s = ready_timeout_s
        # how long discord.py waits after the last GUILD_CREATE before it reports ready
        self.guild_ready_timeout_s = guild_ready_timeout_s
        self.desk = desk
        self.sink = sink if sink is not None else DiscordSink()
        self.bot: WatchdeskBot | None = None
        self.message_content = message_content
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._failure: BaseException | None = None

    @property
    def guild_ids(self) -> tuple[int, ...]:
        return tuple(self.settings.guilds)

    def start(self) -> None:
        """Connect and wait until Discord says the bot is ready.

        Raises ConfigError for a rejected token and TimeoutError when Discord does not answer
        within ``ready_timeout_s``; the bot keeps trying to connect in the background then.
        """
        if self._thread is not None:
            raise RuntimeError("this DiscordRunner was already started")
        point_discord_py_at(self.api_url, self.gateway_url)
        self._thread = threading.Thread(target=self._thread_main, name="discord", daemon=True)
        self._thread.start()
        if not self._ready.wait(self.ready_timeout_s):
            raise TimeoutError(f"Discord did not become ready within {self.ready_timeout_s:.0f}s")
        if self._failure is not None:
            failure, self._failure = self._failure, None
            self._thread.join(STOP_TIMEOUT_S)
            if isinstance(failure, discord.LoginFailure):
                raise ConfigError(
                    f"Discord rejected DISCORD_TOKEN ({failure}); copy the bot token again from the developer portal"
                ) from failure
            raise failure

    @property
    def connected(self) -> bool:
        """Whether the gateway session is up and ready now (`/healthz`)."""
        bot = self.bot
        return bot is not None and bot.is_ready() and not bot.is_closed()

    def stop(self) -> None:
        """Close the gateway connection and wait for the thread to end."""
        loop, bot, thread = self._loop, self.bot, self._thread
        if loop is not None and bot is not None and loop.is_running():
            future = asyncio.run_coroutine_threadsafe(bot.close(), loop)
            try:
                future.result(STOP_TIMEOUT_S)
            except Exception:
                log.exception("closing the Discord client failed")
        if thread is not None:
            thread.join(STOP_TIMEOUT_S)
        self._thread = None

    def sync_commands(self, *, globally: bool = False) -> dict[str, int]:
        """Re-register the slash commands now (per guild, and globally when asked)."""
        loop, bot = self._loop, self.bot
        if loop is None or bot is None:
            raise RuntimeError("start the DiscordRunner before syncing commands")
        return asyncio.run_coroutine_threadsafe(bot.sync_commands(globally=globally), loop).result(
            60
        )

    # ------------------------------------------------------------------ the bot's thread

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to start(), or logged when it happens later
            if not self._ready.is_set():
                self._failure = exc
            else:
                log.exception("the Discord client stopped")
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            bot = self._new_bot()
            try:
                async with bot:
                    await bot.start(self.token)
                return
            except discord.PrivilegedIntentsRequired:
                if not self.message_content:
                    raise
                log.warning(
                    "the Message Content intent is not enabled for this application in the Discord "
                    "developer portal; continuing without it: only thread replies that mention the "
                    "bot (@Watchdesk 2 false) will be read. See docs/discord.md."
                )
                self.message_content = False

    def _new_bot(self) -> WatchdeskBot:
        bot = WatchdeskBot(
            self.desk,
            guild_ids=self.guild_ids,
            sync_global=self.settings.sync_global,
            message_content=self.message_content,
            guild_ready_timeout_s=self.guild_ready_timeout_s,
        )

        async def on_ready() -> None:
            log.info("Discord ready as %s in %d guild(s)", bot.user, len(bot.guilds))
            self._ready.set()

        bot.add_listener(on_ready, "on_ready")
        self.bot = bot
        self.sink.bot = bot
        return bot

    def __repr__(self) -> str:
        state: Any = "running" if self._thread and self._thread.is_alive() else "stopped"
        return f"<DiscordRunner {state} guilds={self.guild_ids}>"
