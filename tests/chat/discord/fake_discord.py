"""A loopback fake of Discord's REST API and gateway, for driving unmodified discord.py.

It speaks enough of the real protocol for the Watchdesk bot: login (``/users/@me``,
``/oauth2/applications/@me``), command registration, messages (with ``nonce``/``enforce_nonce``,
Discord's embed and component limits, threads from messages), interaction callbacks and
followups, and the gateway (HELLO, IDENTIFY with intent checks, READY, GUILD_CREATE,
heartbeats, RESUME, zlib-stream transport compression). Every REST call is recorded with its
JSON body so tests can assert the exact payloads the bot sent.

It runs on its own thread and event loop, like a remote server would; the test thread uses the
synchronous methods (`slash`, `click`, `say`, `wait_for`, ...). Responses carry
``Content-Type: application/json`` exactly (discord.py compares the header literally) and
``X-RateLimit-*`` headers; injected 429s carry ``Via`` like Discord's (discord.py treats a 429
without it as a Cloudflare ban).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import WSMsgType, web

DISCORD_EPOCH_MS = 1420070400000
API_PREFIX = "/api/v10"
TOKEN = "fake-bot-token.for-tests"
PERM_MANAGE_GUILD = 1 << 5
PERM_ADMINISTRATOR = 1 << 3
PERM_MEMBER = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16) | (1 << 31) | (1 << 35) | (1 << 38)
INTENT_MESSAGE_CONTENT = 1 << 15
INTENT_GUILD_MEMBERS = 1 << 1
INTENT_GUILD_PRESENCES = 1 << 8
PRIVILEGED_INTENTS = INTENT_MESSAGE_CONTENT | INTENT_GUILD_MEMBERS | INTENT_GUILD_PRESENCES
EPHEMERAL = 1 << 6
HAS_THREAD = 1 << 5

OPTION_SUB_COMMAND = 1
OPTION_SUB_COMMAND_GROUP = 2
OPTION_CHANNEL = 7


class _Snowflakes:
    def __init__(self) -> None:
        self._counter = itertools.count(1)
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (
                next(self._counter) & 0xFFF
            )


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Call:
    """One REST request the bot made."""

    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0

    def matches(self, method: str, pattern: str) -> bool:
        return self.method == method and re.fullmatch(pattern, self.path) is not None


@dataclass
class Injection:
    """A canned failure for the next matching request(s)."""

    method: str
    pattern: str
    status: int | None = 429  # None: answer normally (after ``delay_s``)
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    times: int = 1
    perform: bool = False  # do the real work first (e.g. store the message), then fail
    disconnect: bool = False  # drop the connection instead of answering
    delay_s: float = 0.0  # wait this long before answering


@dataclass
class User:
    id: int
    username: str
    roles: tuple[int, ...] = ()
    bot: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "username": self.username,
            "global_name": self.username.title(),
            "discriminator": "0",
            "avatar": None,
            "bot": self.bot,
            "public_flags": 0,
        }


class DiscordRejection(Exception):
    """An API error Discord would answer with (status, JSON error body)."""

    def __init__(self, status: int, code: int, message: str, errors: dict[str, Any] | None = None):
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            self.body["errors"] = errors


class UnhandledRoute(DiscordRejection):
    """A request the fake does not implement: recorded so a test can fail on it."""


class _ZlibStream:
    """Discord's zlib-stream: one deflate context per connection, each message ending in a
    Z_SYNC_FLUSH marker (what discord.py asks for unless a zstd library is installed)."""

    def __init__(self) -> None:
        self._context = zlib.compressobj()

    def encode(self, text: str) -> bytes:
        return self._context.compress(text.encode()) + self._context.flush(zlib.Z_SYNC_FLUSH)


class _ZstdStream:
    """Discord's zstd-stream: one zstd stream per connection, each message a flushed block
    (discord.py asks for it when the `zstandard` package is installed)."""

    def __init__(self) -> None:
        import zstandard  # only importable when discord.py could ask for zstd-stream

        self._flush = zstandard.COMPRESSOBJ_FLUSH_BLOCK
        self._context = zstandard.ZstdCompressor().compressobj()

    def encode(self, text: str) -> bytes:
        return self._context.compress(text.encode()) + self._context.flush(self._flush)


def _transport(compress: str | None) -> _ZlibStream | _ZstdStream | None:
    """The transport compression for a gateway URL's ``compress`` value; ValueError if unknown."""
    if compress is None:
        return None
    if compress == "zlib-stream":
        return _ZlibStream()
    if compress == "zstd-stream":
        try:
            return _ZstdStream()
        except ImportError:
            raise ValueError("zstd-stream needs the zstandard package") from None
    raise ValueError(f"unknown compression {compress!r}")


class _Session:
    def __init__(
        self, ws: web.WebSocketResponse, transport: _ZlibStream | _ZstdStream | None
    ) -> None:
        self.ws = ws
        self.transport = transport
        self.session_id = secrets.token_hex(16)
        self.seq = 0
        self.intents = 0
        self.identified = False
        self.lock = asyncio.Lock()

    async def send(self, payload: dict[str, Any]) -> None:
        async with self.lock:
            if payload.get("op") == 0:
                self.seq += 1
                payload["s"] = self.seq
            text = json.dumps(payload)
            if self.transport is not None:
                await self.ws.send_bytes(self.transport.encode(text))
            else:
                await self.ws.send_str(text)


class FakeDiscord:
    """One application, one bot user and one guild with channels, roles and members."""

    def __init__(self, *, allow_message_content: bool = True) -> None:
        self.allow_message_content = allow_message_content
        self.ids = _Snowflakes()
        self.app_id = self.ids.next()
        self.bot_user = User(self.app_id, "watchdesk", bot=True)
        self.guild_id = self.ids.next()
        self.other_guild_id = self.ids.next()
        self.editor_role = self.ids.next()
        self.admin_role = self.ids.next()
        self.alerts_channel = self.ids.next()
        self.other_channel = self.ids.next()
        self.owner = User(self.ids.next(), "owner")
        self.alice = User(self.ids.next(), "alice", roles=(self.editor_role,))
        self.bob = User(self.ids.next(), "bob")
        self.carol = User(self.ids.next(), "carol", roles=(self.admin_role,))
        self.roles: dict[int, dict[str, Any]] = {
            self.guild_id: self._role(self.guild_id, "@everyone", PERM_MEMBER, 0),
            self.editor_role: self._role(self.editor_role, "Editors", 0, 1),
            self.admin_role: self._role(self.admin_role, "Desk admins", PERM_MANAGE_GUILD, 2),
        }
        self.channels: dict[int, dict[str, Any]] = {
            cid: {
                "id": str(cid),
                "type": 0,
                "guild_id": str(self.guild_id),
                "name": name,
                "position": pos,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "topic": None,
                "last_message_id": None,
                "rate_limit_per_user": 0,
                "flags": 0,
            }
            for pos, (cid, name) in enumerate(
                ((self.alerts_channel, "alerts"), (self.other_channel, "general"))
            )
        }
        self.messages: dict[int, list[dict[str, Any]]] = {cid: [] for cid in self.channels}
        self.ephemeral: list[dict[str, Any]] = []
        self.commands: dict[str, dict[str, dict[str, Any]]] = {}  # scope → name → command
        self.interactions: dict[str, dict[str, Any]] = {}  # token → {payload, responded}
        self.calls: list[Call] = []
        self.unhandled: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.gateway_queries: list[dict[str, str]] = []
        self.injections: list[Injection] = []
        self._nonces: dict[tuple[int, str], dict[str, Any]] = {}
        self._sessions: list[_Session] = []
        self._session_intents: dict[str, int] = {}
        self._cond = threading.Condition()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.port = 0

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeDiscord:
        started = threading.Event()

        def main() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            loop.run_until_complete(self._start_server())
            started.set()
            loop.run_forever()
            loop.run_until_complete(self._stop_server())
            loop.close()

        self._thread = threading.Thread(target=main, name="fake-discord", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("fake Discord did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def _start_server(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _stop_server(self) -> None:
        for session in list(self._sessions):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    def _run(self, coro: Any) -> Any:
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    # ------------------------------------------------------------------ test-side helpers

    def inject(self, injection: Injection) -> None:
        with self._cond:
            self.injections.append(injection)

    def wait_for(self, predicate: Callable[[list[Call]], Any], timeout: float = 10.0) -> Any:
        """Wait until ``predicate(calls)`` is truthy and return its value."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                result = predicate(list(self.calls))
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    paths = [f"{c.method} {c.path}" for c in self.calls]
                    raise AssertionError(f"timed out waiting; calls so far: {paths}")
                self._cond.wait(remaining)

    def calls_to(self, method: str, pattern: str) -> list[Call]:
        with self._cond:
            return [c for c in self.calls if c.matches(method, pattern)]

    def wait_call(
        self, method: str, pattern: str, count: int = 1, timeout: float = 10.0
    ) -> list[Call]:
        return self.wait_for(
            lambda calls: (
                (m := [c for c in calls if c.matches(method, pattern)]) and len(m) >= count and m
            ),
            timeout,
        )

    def channel_messages(self, channel_id: int) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(m) for m in self.messages.get(channel_id, [])]

    def member_payload(self, user: User) -> dict[str, Any]:
        return {
            "user": user.payload(),
            "roles": [str(r) for r in user.roles],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "nick": None,
            "avatar": None,
            "deaf": False,
            "mute": False,
            "flags": 0,
            "pending": False,
            "premium_since": None,
            "communication_disabled_until": None,
        }

    def permissions_of(self, user: User) -> int:
        value = int(self.roles[self.guild_id]["permissions"])
        for role in user.roles:
            value |= int(self.roles[role]["permissions"])
        if value & PERM_ADMINISTRATOR:
            return (1 << 53) - 1
        return value

    def dispatch(self, event: str, data: dict[str, Any]) -> None:
        self._run(self._dispatch(event, data))

    def request_reconnect(self) -> None:
        """Ask every connected client to reconnect (op 7), as Discord does before maintenance."""

        async def send() -> None:
            for session in list(self._sessions):
                await session.send({"op": 7, "d": None})

        self._run(send())

    def slash(
        self,
        user: User,
        channel_id: int,
        command: str,
        *,
        guild_id: int | None = None,
        **options: Any,
    ) -> str:
        """Invoke "/watch add" (etc.) as ``user``; options are typed from the registered command
        schema, as Discord would. Returns the interaction token."""
        data = self._command_data(command, options, focused=None)
        return self._interact(2, user, channel_id, data, guild_id=guild_id)

    def autocomplete(
        self, user: User, channel_id: int, command: str, focused: str, **options: Any
    ) -> str:
        data = self._command_data(command, options, focused=focused)
        return self._interact(4, user, channel_id, data)

    def click(
        self,
        user: User,
        channel_id: int,
        message_id: int,
        custom_id: str,
        values: list[str] | None = None,
    ) -> str:
        """Press a button (or choose select ``values``) on a message the bot posted."""
        message = self._find_message(channel_id, message_id)
        component = next(
            (
                c
                for row in message.get("components", [])
                for c in row.get("components", [])
                if c.get("custom_id") == custom_id
            ),
            None,
        )
        if component is None:
            raise AssertionError(f"message {message_id} has no component {custom_id!r}")
        data: dict[str, Any] = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        return self._interact(3, user, channel_id, data, message=message)

    def say(self, user: User, channel_id: int, content: str, *, mention_bot: bool = False) -> int:
        """``user`` posts ``content`` in a channel or thread; returns the message id."""
        if mention_bot:
            content = f"<@{self.bot_user.id}> {content}"
        message = self._message(channel_id, user, content=content)
        message["mentions"] = [self.bot_user.payload()] if mention_bot else []
        with self._cond:
            self.messages.setdefault(channel_id, []).append(message)
        self._run(self._dispatch_message_create(message, mention_bot))
        return int(message["id"])

    def plant(self, user: User, channel_id: int, **fields: Any) -> int:
        """Put a message in a channel's history without a gateway event (e.g. an old one)."""
        message = self._message(channel_id, user, **fields)
        with self._cond:
            self.messages.setdefault(channel_id, []).append(message)
        return int(message["id"])

    def responses_for(self, token: str) -> list[Call]:
        """Callback and followup calls answering one interaction, in order."""
        with self._cond:
            return [c for c in self.calls if token in c.path]

    def wait_answer(self, token: str, timeout: float = 10.0) -> Call:
        """The call that carries the interaction's visible answer (callback type 4/8, or the
        followup after a deferral)."""

        def answered(calls: list[Call]) -> Call | None:
            for call in calls:
                if token not in call.path or call.status >= 300:
                    continue
                if call.path.endswith("/callback") and call.body.get("type") in (4, 7, 8):
                    return call
                if call.path.startswith("/webhooks/"):
                    return call
            return None

        return self.wait_for(answered, timeout)

    # ------------------------------------------------------------------ payload builders

    @staticmethod
    def _role(role_id: int, name: str, permissions: int, position: int) -> dict[str, Any]:
        return {
            "id": str(role_id),
            "name": name,
            "color": 0,
            "hoist": False,
            "icon": None,
            "unicode_emoji": None,
            "position": position,
            "permissions": str(permissions),
            "managed": False,
            "mentionable": False,
            "flags": 0,
        }

    def _guild_payload(self) -> dict[str, Any]:
        with self._cond:
            threads = [c for c in self.channels.values() if c["type"] == 11]
            channels = [c for c in self.channels.values() if c["type"] != 11]
        return {
            "id": str(self.guild_id),
            "name": "Newsroom",
            "icon": None,
            "owner_id": str(self.owner.id),
            "roles": list(self.roles.values()),
            "emojis": [],
            "stickers": [],
            "features": [],
            "member_count": 5,
            "large": False,
            "unavailable": False,
            "joined_at": "2024-01-01T00:00:00+00:00",
            "channels": channels,
            "threads": threads,
            "members": [self.member_payload(self.bot_user)],
            "voice_states": [],
            "presences": [],
            "stage_instances": [],
            "guild_scheduled_events": [],
            "soundboard_sounds": [],
            "preferred_locale": "en-US",
            "premium_tier": 0,
            "system_channel_flags": 0,
            "verification_level": 0,
            "default_message_notifications": 1,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "nsfw_level": 0,
        }

    def _message(self, channel_id: int, author: User, **fields: Any) -> dict[str, Any]:
        channel = self.channels.get(channel_id)
        message = {
            "id": str(self.ids.next()),
            "channel_id": str(channel_id),
            "author": author.payload(),
            "content": "",
            "timestamp": _now(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "components": [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if channel is not None:
            message["guild_id"] = channel.get("guild_id")
        message.update(fields)
        return message

    def _command_schema(self, name: str) -> dict[str, Any]:
        with self._cond:
            for scope in (f"guild:{self.guild_id}", "global"):
                if name in self.commands.get(scope, {}):
                    return self.commands[scope][name]
        raise AssertionError(f"/{name} was not registered; registered: {self.commands}")

    def _command_data(
        self, command: str, values: dict[str, Any], focused: str | None
    ) -> dict[str, Any]:
        words = command.split()
        schema = self._command_schema(words[0])
        data: dict[str, Any] = {
            "id": schema["id"],
            "name": schema["name"],
            "type": 1,
            "guild_id": str(self.guild_id),
        }
        node, holder = schema, data
        for word in words[1:]:
            node = next((o for o in node.get("options", []) if o["name"] == word), None)
            if node is None or node["type"] not in (OPTION_SUB_COMMAND, OPTION_SUB_COMMAND_GROUP):
                raise AssertionError(f"/{command}: no subcommand {word!r} registered")
            child: dict[str, Any] = {"name": word, "type": node["type"], "options": []}
            holder.setdefault("options", []).append(child)
            holder = child
        options: list[dict[str, Any]] = []
        resolved: dict[str, Any] = {}
        for name, value in values.items():
            spec = next((o for o in node.get("options", []) if o["name"] == name), None)
            if spec is None:
                raise AssertionError(f"/{command} has no option {name!r}")
            option: dict[str, Any] = {"name": name, "type": spec["type"], "value": value}
            if spec["type"] == OPTION_CHANNEL:
                option["value"] = str(value)
                channel = dict(self.channels[int(value)])
                channel["permissions"] = str(PERM_MEMBER)
                resolved.setdefault("channels", {})[str(value)] = channel
            if name == focused:
                option["focused"] = True
            options.append(option)
        holder["options"] = options
        if resolved:
            data["resolved"] = resolved
        return data

    def _interact(
        self,
        kind: int,
        user: User,
        channel_id: int,
        data: dict[str, Any],
        *,
        message: dict[str, Any] | None = None,
        guild_id: int | None = None,
    ) -> str:
        token = "itok-" + secrets.token_urlsafe(24)
        interaction_id = self.ids.next()
        guild = guild_id or self.guild_id
        channel = dict(
            self.channels.get(channel_id) or {"id": str(channel_id), "type": 0, "name": "?"}
        )
        channel["permissions"] = str(self.permissions_of(user))
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.app_id),
            "type": kind,
            "data": data,
            "guild_id": str(guild),
            "guild": {"id": str(guild), "locale": "en-US", "features": []},
            "channel_id": str(channel_id),
            "channel": channel,
            "member": {**self.member_payload(user), "permissions": str(self.permissions_of(user))},
            "token": token,
            "version": 1,
            "app_permissions": str(PERM_MEMBER),
            "locale": "en-US",
            "guild_locale": "en-US",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(guild)},
            "context": 0,
            "attachment_size_limit": 10485760,
        }
        if message is not None:
            payload["message"] = message
        with self._cond:
            self.interactions[token] = {
                "id": interaction_id,
                "payload": payload,
                "responded": False,
            }
        self.dispatch("INTERACTION_CREATE", payload)
        return token

    def _find_message(self, channel_id: int, message_id: int) -> dict[str, Any]:
        with self._cond:
            for message in self.messages.get(channel_id, []):
                if int(message["id"]) == message_id:
                    return json.loads(json.dumps(message))
        raise AssertionError(f"no message {message_id} in channel {channel_id}")

    # ------------------------------------------------------------------ gateway

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        query = dict(request.query)
        with self._cond:
            self.gateway_queries.append(query)
        compress = query.get("compress")
        if query.get("v") != "10":
            await ws.close(code=4012, message=b"Invalid API version")
            return ws
        if query.get("encoding", "json") != "json":
            await ws.close(code=4002, message=b"Decode error: only json is served")
            return ws
        try:
            transport = _transport(compress)
        except ValueError:
            # Discord closes with 4000 for a transport it cannot speak; so does this fake,
            # so a test fails loudly rather than hanging.
            await ws.close(code=4000, message=b"Unsupported compression")
            return ws
        session = _Session(ws, transport)
        self._sessions.append(session)
        try:
            await session.send({"op": 10, "d": {"heartbeat_interval": 41250, "_trace": ["fake"]}})
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                await self._gateway_op(session, json.loads(msg.data))
        finally:
            self._sessions.remove(session)
        return ws

    async def _gateway_op(self, session: _Session, payload: dict[str, Any]) -> None:
        op, data = payload.get("op"), payload.get("d")
        if op == 1:
            await session.send({"op": 11, "d": None})
        elif op == 2:
            with self._cond:
                self.identifies.append(data)
                self._cond.notify_all()
            if data.get("token") != TOKEN:
                await session.ws.close(code=4004, message=b"Authentication failed.")
                return
            intents = int(data.get("intents", 0))
            if intents & INTENT_MESSAGE_CONTENT and not self.allow_message_content:
                await session.ws.close(code=4014, message=b"Disallowed intent(s).")
                return
            session.intents = intents
            session.identified = True
            self._session_intents[session.session_id] = intents
            await session.send(
                {
                    "op": 0,
                    "t": "READY",
                    "d": {
                        "v": 10,
                        "user": self.bot_user.payload(),
                        "guilds": [{"id": str(self.guild_id), "unavailable": True}],
                        "session_id": session.session_id,
                        "resume_gateway_url": self.gateway_url,
                        "application": {"id": str(self.app_id), "flags": self._app_flags()},
                        "user_settings": {},
                        "relationships": [],
                        "private_channels": [],
                        "presences": [],
                        "guild_join_requests": [],
                        "geo_ordered_rtc_regions": [],
                        "_trace": ["fake"],
                    },
                }
            )
            await session.send({"op": 0, "t": "GUILD_CREATE", "d": self._guild_payload()})
        elif op == 6:
            with self._cond:
                self.resumes.append(data)
                self._cond.notify_all()
            known = self._session_intents.get(data.get("session_id", ""))
            if known is None or data.get("token") != TOKEN:
                await session.send({"op": 9, "d": False})
                return
            session.session_id = data["session_id"]
            session.seq = int(data.get("seq") or 0)
            session.intents = known
            session.identified = True
            await session.send({"op": 0, "t": "RESUMED", "d": {"_trace": ["fake"]}})

    def _app_flags(self) -> int:
        return (1 << 18) if self.allow_message_content else 0

    async def _dispatch(self, event: str, data: dict[str, Any]) -> None:
        for session in list(self._sessions):
            if session.identified and not session.ws.closed:
                await session.send({"op": 0, "t": event, "d": json.loads(json.dumps(data))})

    async def _dispatch_message_create(self, message: dict[str, Any], mentions_bot: bool) -> None:
        for session in list(self._sessions):
            if not session.identified or session.ws.closed:
                continue
            data = json.loads(json.dumps(message))
            user = next(
                (
                    u
                    for u in (self.alice, self.bob, self.carol, self.owner)
                    if str(u.id) == data["author"]["id"]
                ),
                None,
            )
            if user is not None:
                data["member"] = {k: v for k, v in self.member_payload(user).items() if k != "user"}
            if not session.intents & INTENT_MESSAGE_CONTENT and not mentions_bot:
                # Discord's rule without the privileged intent: no text, embeds or components
                data.update(content="", embeds=[], attachments=[], components=[])
            await session.send({"op": 0, "t": "MESSAGE_CREATE", "d": data})

    # ------------------------------------------------------------------ REST

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        raw = await request.read()
        body: Any = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        call = Call(request.method, path, dict(request.query), body, dict(request.headers))
        if request.headers.get("Authorization") != f"Bot {TOKEN}" and not path.startswith(
            ("/webhooks/", "/interactions/")
        ):
            return self._record(call, self._json({"message": "401: Unauthorized", "code": 0}, 401))
        injection = self._take_injection(call)
        if injection is not None and not injection.perform:
            await asyncio.sleep(injection.delay_s)
            return await self._inject(call, injection, request)
        try:
            status, result = self._route(call)
        except DiscordRejection as exc:
            if isinstance(exc, UnhandledRoute):
                with self._cond:
                    self.unhandled.append(call)
            return self._record(call, self._json(exc.body, exc.status))
        if injection is not None and injection.delay_s:
            await asyncio.sleep(injection.delay_s)
        if injection is not None and (injection.status is not None or injection.disconnect):
            return await self._inject(call, injection, request)
        if status == 204:
            return self._record(call, web.Response(status=204, headers=self._ratelimit_headers()))
        return self._record(call, self._json(result, status))

    def _record(self, call: Call, response: web.StreamResponse) -> web.StreamResponse:
        call.status = response.status
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()
        return response

    def _take_injection(self, call: Call) -> Injection | None:
        with self._cond:
            for injection in self.injections:
                if call.matches(injection.method, injection.pattern):
                    injection.times -= 1
                    if injection.times <= 0:
                        self.injections.remove(injection)
                    return injection
        return None

    async def _inject(
        self, call: Call, injection: Injection, request: web.Request
    ) -> web.StreamResponse:
        if injection.disconnect:
            call.status = -1
            with self._cond:
                self.calls.append(call)
                self._cond.notify_all()
            assert request.transport is not None
            request.transport.close()
            return web.Response(status=500)
        headers = dict(self._ratelimit_headers())
        body = injection.body
        assert injection.status is not None
        if injection.status == 429:
            retry_after = float((body or {}).get("retry_after", 0.1))
            body = body or {
                "message": "You are being rate limited.",
                "retry_after": retry_after,
                "global": False,
            }
            headers.update(
                {
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset-After": str(retry_after),
                    "X-RateLimit-Reset": str(time.time() + retry_after),
                    "X-RateLimit-Scope": "shared" if not body.get("global") else "global",
                    "Retry-After": str(max(1, round(retry_after))),
                    "Via": "1.1 google",
                }
            )
            if body.get("global"):
                headers["X-RateLimit-Global"] = "true"
        headers.update(injection.headers)
        return self._record(
            call, self._json(body or {"message": "injected", "code": 0}, injection.status, headers)
        )

    def _ratelimit_headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": "50",
            "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}",
            "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": "fakebucket",
        }

    def _json(
        self, data: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> web.Response:
        all_headers = {
            **self._ratelimit_headers(),
            **(headers or {}),
            "Content-Type": "application/json",
        }
        return web.Response(status=status, body=json.dumps(data).encode(), headers=all_headers)

    def _route(self, call: Call) -> tuple[int, Any]:
        routes: list[tuple[str, str, Callable[..., tuple[int, Any]]]] = [
            ("GET", r"/users/@me", self._get_me),
            ("GET", r"/oauth2/applications/@me", self._get_application),
            ("GET", r"/gateway(/bot)?", self._get_gateway),
            ("PUT", r"/applications/(\d+)/guilds/(\d+)/commands", self._put_guild_commands),
            ("PUT", r"/applications/(\d+)/commands", self._put_global_commands),
            ("GET", r"/channels/(\d+)", self._get_channel),
            ("GET", r"/channels/(\d+)/messages", self._get_messages),
            ("POST", r"/channels/(\d+)/messages", self._post_message),
            ("PATCH", r"/channels/(\d+)/messages/(\d+)", self._patch_message),
            ("POST", r"/channels/(\d+)/messages/(\d+)/threads", self._post_thread),
            ("POST", r"/interactions/(\d+)/([^/]+)/callback", self._post_callback),
            ("POST", r"/webhooks/(\d+)/([^/]+)", self._post_followup),
            ("PATCH", r"/webhooks/(\d+)/([^/]+)/messages/@original", self._patch_original),
        ]
        for method, pattern, handler in routes:
            match = re.fullmatch(pattern, call.path)
            if method == call.method and match:
                return handler(call, *match.groups())
        raise UnhandledRoute(404, 0, "404: Not Found")

    def _get_me(self, call: Call) -> tuple[int, Any]:
        return 200, {
            **self.bot_user.payload(),
            "verified": True,
            "mfa_enabled": False,
            "flags": 0,
            "locale": "en-US",
        }

    def _get_application(self, call: Call) -> tuple[int, Any]:
        return 200, {
            "id": str(self.app_id),
            "name": "Watchdesk",
            "icon": None,
            "description": "",
            "summary": "",
            "type": None,
            "bot_public": False,
            "bot_require_code_grant": False,
            "verify_key": "0" * 64,
            "flags": self._app_flags(),
            "owner": self.owner.payload(),
            "team": None,
            "bot": self.bot_user.payload(),
            "interactions_endpoint_url": None,
            "redirect_uris": [],
            "approximate_guild_count": 1,
        }

    def _get_gateway(self, call: Call, bot: str | None) -> tuple[int, Any]:
        result: dict[str, Any] = {"url": self.gateway_url}
        if bot:
            result.update(
                shards=1,
                session_start_limit={
                    "total": 1000,
                    "remaining": 999,
                    "reset_after": 0,
                    "max_concurrency": 1,
                },
            )
        return 200, result

    def _store_commands(
        self, scope: str, app_id: str, guild_id: str | None, body: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        if int(app_id) != self.app_id:
            raise DiscordRejection(403, 50001, "Missing Access")
        if guild_id is not None and int(guild_id) != self.guild_id:
            raise DiscordRejection(403, 50001, "Missing Access")
        stored: dict[str, dict[str, Any]] = {}
        for command in body:
            if (
                not re.fullmatch(r"[-_\w]{1,32}", command["name"])
                or command["name"] != command["name"].lower()
            ):
                raise DiscordRejection(400, 50035, "Invalid Form Body", {"name": command["name"]})
            if len(command.get("description", "")) > 100:
                raise DiscordRejection(
                    400, 50035, "Invalid Form Body", {"description": command["name"]}
                )
            stored[command["name"]] = {
                **command,
                "id": str(self.ids.next()),
                "application_id": str(self.app_id),
                "version": str(self.ids.next()),
                "default_member_permissions": command.get("default_member_permissions"),
                "type": command.get("type", 1),
                **({"guild_id": guild_id} if guild_id else {}),
            }
        with self._cond:
            self.commands[scope] = stored
        return list(stored.values())

    def _put_guild_commands(self, call: Call, app_id: str, guild_id: str) -> tuple[int, Any]:
        return 200, self._store_commands(f"guild:{guild_id}", app_id, guild_id, call.body)

    def _put_global_commands(self, call: Call, app_id: str) -> tuple[int, Any]:
        return 200, self._store_commands("global", app_id, None, call.body)

    def _channel(self, channel_id: str) -> dict[str, Any]:
        with self._cond:
            channel = self.channels.get(int(channel_id))
        if channel is None:
            raise DiscordRejection(404, 10003, "Unknown Channel")
        return channel

    def _get_channel(self, call: Call, channel_id: str) -> tuple[int, Any]:
        return 200, self._channel(channel_id)

    def _get_messages(self, call: Call, channel_id: str) -> tuple[int, Any]:
        self._channel(channel_id)
        limit = int(call.query.get("limit", 50))
        if not 1 <= limit <= 100:
            raise DiscordRejection(400, 50035, "Invalid Form Body", {"limit": limit})
        with self._cond:
            newest_first = list(reversed(self.messages.get(int(channel_id), [])))
        return 200, newest_first[:limit]

    def _post_message(self, call: Call, channel_id: str) -> tuple[int, Any]:
        self._channel(channel_id)
        body = call.body
        self._validate_message(body)
        nonce = body.get("nonce")
        if nonce is not None and body.get("enforce_nonce"):
            with self._cond:
                existing = self._nonces.get((int(channel_id), str(nonce)))
            if existing is not None:
                return 200, existing
        fields = {
            k: body[k] for k in ("content", "embeds", "components", "nonce", "flags") if k in body
        }
        if "message_reference" in body:
            fields["message_reference"] = body["message_reference"]
            fields["type"] = 19
        message = self._message(int(channel_id), self.bot_user, **fields)
        for embed in message.get("embeds", []):
            embed.setdefault("type", "rich")
        with self._cond:
            self.messages.setdefault(int(channel_id), []).append(message)
            if nonce is not None:
                self._nonces[(int(channel_id), str(nonce))] = message
        return 200, message

    def _patch_message(self, call: Call, channel_id: str, message_id: str) -> tuple[int, Any]:
        self._channel(channel_id)
        self._validate_message(call.body)
        with self._cond:
            for message in self.messages.get(int(channel_id), []):
                if message["id"] == message_id:
                    if message["author"]["id"] != str(self.bot_user.id):
                        raise DiscordRejection(
                            403, 50005, "Cannot edit a message authored by another user"
                        )
                    for key in ("content", "embeds", "components", "flags"):
                        if key in call.body:
                            message[key] = call.body[key]
                    message["edited_timestamp"] = _now()
                    return 200, message
        raise DiscordRejection(404, 10008, "Unknown Message")

    def _post_thread(self, call: Call, channel_id: str, message_id: str) -> tuple[int, Any]:
        parent = self._channel(channel_id)
        name = call.body.get("name", "")
        if not 1 <= len(name) <= 100:
            raise DiscordRejection(400, 50035, "Invalid Form Body", {"name": name})
        with self._cond:
            message = next(
                (m for m in self.messages.get(int(channel_id), []) if m["id"] == message_id), None
            )
            if message is None:
                raise DiscordRejection(404, 10008, "Unknown Message")
            if int(message_id) in self.channels:
                raise DiscordRejection(
                    400, 160004, "A thread has already been created for this message"
                )
            thread = {
                "id": message_id,
                "type": 11,
                "guild_id": parent["guild_id"],
                "parent_id": channel_id,
                "owner_id": str(self.bot_user.id),
                "name": name,
                "last_message_id": None,
                "message_count": 0,
                "member_count": 1,
                "rate_limit_per_user": 0,
                "flags": 0,
                "total_message_sent": 0,
                "thread_metadata": {
                    "archived": False,
                    "auto_archive_duration": call.body.get("auto_archive_duration", 4320),
                    "archive_timestamp": _now(),
                    "locked": False,
                    "create_timestamp": _now(),
                },
            }
            self.channels[int(message_id)] = thread
            self.messages[int(message_id)] = []
            message["flags"] = int(message.get("flags", 0)) | HAS_THREAD
            message["thread"] = thread
        assert self._loop is not None
        self._loop.create_task(self._dispatch("THREAD_CREATE", {**thread, "newly_created": True}))
        return 201, thread

    def _interaction(self, token: str) -> dict[str, Any]:
        with self._cond:
            interaction = self.interactions.get(token)
        if interaction is None:
            raise DiscordRejection(404, 10062, "Unknown interaction")
        return interaction

    def _post_callback(self, call: Call, interaction_id: str, token: str) -> tuple[int, Any]:
        interaction = self._interaction(token)
        if str(interaction["id"]) != interaction_id:
            raise DiscordRejection(404, 10062, "Unknown interaction")
        if interaction["responded"]:
            raise DiscordRejection(400, 40060, "Interaction has already been acknowledged.")
        interaction["responded"] = True
        kind = call.body.get("type")
        data = call.body.get("data") or {}
        if kind in (4, 7):
            self._validate_message(data)
        if kind == 8 and len(data.get("choices", [])) > 25:
            raise DiscordRejection(400, 50035, "Invalid Form Body", {"choices": "max 25"})
        ephemeral = bool(int(data.get("flags", 0)) & EPHEMERAL)
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction_id,
                "type": interaction["payload"]["type"],
                "response_message_loading": kind == 5,
                "response_message_ephemeral": ephemeral,
            }
        }
        if kind in (4, 5):
            channel_id = int(interaction["payload"]["channel_id"])
            payload = interaction["payload"]
            meta = {
                "id": interaction_id,
                "type": payload["type"],
                "name": payload["data"].get("name", ""),
                "user": payload["member"]["user"],
            }
            fields = {k: data[k] for k in ("content", "embeds", "components", "flags") if k in data}
            message = self._message(channel_id, self.bot_user, interaction=meta, **fields)
            with self._cond:
                self.ephemeral.append(message)
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"] = {"type": kind, "message": message}
        return 200, result

    def _post_followup(self, call: Call, app_id: str, token: str) -> tuple[int, Any]:
        if int(app_id) != self.app_id:
            raise DiscordRejection(404, 10015, "Unknown Webhook")
        interaction = self._interaction(token)
        if not interaction["responded"]:
            raise DiscordRejection(400, 40060, "Interaction has not been acknowledged")
        self._validate_message(call.body)
        channel_id = int(interaction["payload"]["channel_id"])
        message = self._message(
            channel_id,
            self.bot_user,
            webhook_id=app_id,
            **{
                k: call.body[k]
                for k in ("content", "embeds", "components", "flags")
                if k in call.body
            },
        )
        with self._cond:
            self.ephemeral.append(message)
        if call.query.get("wait", "false").lower() in ("true", "1"):
            return 200, message
        return 204, None

    def _patch_original(self, call: Call, app_id: str, token: str) -> tuple[int, Any]:
        interaction = self._interaction(token)
        self._validate_message(call.body)
        channel_id = int(interaction["payload"]["channel_id"])
        return 200, self._message(
            channel_id,
            self.bot_user,
            **{k: call.body[k] for k in ("content", "embeds", "components") if k in call.body},
        )

    # ------------------------------------------------------------------ Discord's limits

    def _validate_message(self, body: dict[str, Any]) -> None:
        """Discord's documented limits: a message breaking one is refused with 50035."""
        problems: list[str] = []
        content = body.get("content")
        if content is not None and len(content) > 2000:
            problems.append("content: Must be 2000 or fewer in length.")
        embeds = body.get("embeds") or []
        if len(embeds) > 10:
            problems.append("embeds: Must be 10 or fewer in length.")
        total = 0
        for embed in embeds:
            total += self._validate_embed(embed, problems)
        if total > 6000:
            problems.append("embeds: Embed size exceeds maximum size of 6000")
        rows = body.get("components") or []
        if len(rows) > 5:
            problems.append("components: Must be 5 or fewer in length.")
        for row in rows:
            children = row.get("components", [])
            if row.get("type") != 1 or not 1 <= len(children) <= 5:
                problems.append("components: each action row holds 1 to 5 components")
            for child in children:
                custom_id = child.get("custom_id", "")
                if not 1 <= len(custom_id) <= 100:
                    problems.append("custom_id: Must be between 1 and 100 in length.")
                if len(child.get("label", "") or "") > 80:
                    problems.append("label: Must be 80 or fewer in length.")
                if child.get("type") == 3 and len(child.get("options", [])) > 25:
                    problems.append("options: Must be 25 or fewer in length.")
                if child.get("type") == 3 and len(children) != 1:
                    problems.append("a select menu needs a row of its own")
        if problems:
            raise DiscordRejection(400, 50035, "Invalid Form Body", {"problems": problems})

    @staticmethod
    def _validate_embed(embed: dict[str, Any], problems: list[str]) -> int:
        def size(text: str | None) -> int:
            return len((text or "").encode("utf-16-le")) // 2

        limits = {"title": 256, "description": 4096}
        total = 0
        for key, limit in limits.items():
            if size(embed.get(key)) > limit:
                problems.append(f"embed.{key}: Must be {limit} or fewer in length.")
            total += size(embed.get(key))
        footer = (embed.get("footer") or {}).get("text")
        if size(footer) > 2048:
            problems.append("embed.footer.text: Must be 2048 or fewer in length.")
        total += size(footer)
        fields = embed.get("fields") or []
        if len(fields) > 25:
            problems.append("embed.fields: Must be 25 or fewer in length.")
        for f in fields:
            if not 1 <= size(f.get("name")) <= 256:
                problems.append("embed.fields.name: Must be between 1 and 256 in length.")
            if not 1 <= size(f.get("value")) <= 1024:
                problems.append("embed.fields.value: Must be between 1 and 1024 in length.")
            total += size(f.get("name")) + size(f.get("value"))
        url = embed.get("url")
        if url is not None and not re.match(r"^https?://\S+$", url):
            problems.append("embed.url: Not a well formed URL.")
        return total
