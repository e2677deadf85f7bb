"""A loopback fake of the Slack Web API (and of response_url endpoints) for tests.

It answers the methods Watchdesk uses in Slack's JSON shapes, keeps posted messages per channel
(with metadata, so ``conversations.history`` can be searched as on Slack), records every request
byte for byte, and can be told to fail the next call of a method: 429 with Retry-After, a 500,
a Slack error code, or a timeout (optionally *after* the message was stored — the "did it post?"
case). Also: helpers to send genuinely signed requests to the Bolt app, as Slack does.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.parse
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

BOT_TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
SIGNING_SECRET = "test-signing-secret"
BOT_USER_ID = "UBOT0001"
BOT_ID = "BBOT0001"
APP_ID = "AWATCH01"
TEAM_ID = "T0TEAM01"
ALL_SCOPES = "chat:write,commands,channels:history,groups:history,channels:read,groups:read,users:read,usergroups:read"


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", or "response_url" for response_url posts
    params: dict[str, Any]
    raw_body: bytes
    headers: dict[str, str]
    path: str = ""
    at: float = 0.0  # time.monotonic() when it arrived


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout" | "error" | "slow"
    retry_after: int = 1
    error: str = "internal_error"
    after_effect: bool = False  # timeout only: apply the call (store the message) before hanging
    delay: float = 3.0  # timeout: how long to hang; slow: how long before doing the call


@dataclass
class FakeSlack:
    """State and behaviour of the fake workspace; `serve()` puts it on 127.0.0.1."""

    scopes: str = ALL_SCOPES
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: defaultdict(list))
    faults: dict[str, deque[Fault]] = field(default_factory=lambda: defaultdict(deque))
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    socket_url: str = "wss://127.0.0.1:1/link/?ticket=unused"  # what apps.connections.open gives

    # ------------------------------------------------------------------ set-up helpers

    def add_channel(
        self, channel_id: str, name: str, *, is_member: bool = True, is_archived: bool = False
    ) -> None:
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "is_channel": True,
            "is_member": is_member,
            "is_archived": is_archived,
            "is_private": channel_id.startswith("G"),
        }

    def add_user(self, user_id: str, display_name: str, *, is_admin: bool = False) -> None:
        self.users[user_id] = {
            "id": user_id,
            "team_id": TEAM_ID,
            "name": display_name.lower().replace(" ", "."),
            "is_admin": is_admin,
            "is_owner": False,
            "is_bot": False,
            "profile": {"display_name": display_name, "real_name": display_name},
        }

    def fail_next(self, method: str, kind: str, **options: Any) -> None:
        self.faults[method].append(Fault(kind, **options))

    def post_as_user(self, channel: str, user: str, text: str, thread_ts: str | None = None) -> str:
        """Put a human message into the channel's history (what Slack stores before an event)."""
        message = {"type": "message", "user": user, "text": text, "ts": self._next_ts()}
        if thread_ts:
            message["thread_ts"] = thread_ts
        with self._lock:
            self.messages[channel].append(message)
        return message["ts"]

    # ------------------------------------------------------------------ inspection helpers

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 10.0) -> list[Call]:
        """Listeners run in Bolt's threads: wait until `count` calls of `method` arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.calls_to(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} call(s) to {method}, got {len(self.calls_to(method))}"
        )

    def wait_for_response(self, key: str, timeout: float = 10.0) -> Call:
        """The response_url post made for the command whose response_url ends in `key`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [c for c in self.calls_to("response_url") if c.path == f"/response/{key}"]
            if found:
                return found[0]
            time.sleep(0.02)
        raise AssertionError(f"no response_url post for {key}")

    def top_level(self, channel: str) -> list[dict[str, Any]]:
        with self._lock:
            return [
                m
                for m in self.messages[channel]
                if "thread_ts" not in m or m["thread_ts"] == m["ts"]
            ]

    @property
    def base_url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def response_url(self, key: str) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/response/{key}"

    # ------------------------------------------------------------------ server

    def serve(self) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                fake._handle(self)

            def do_POST(self) -> None:  # noqa: N802
                fake._handle(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="fake-slack",
            daemon=True,
        ).start()
        return self

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def _handle(self, request: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        params: dict[str, Any] = dict(urllib.parse.parse_qsl(parsed.query))
        if raw:
            if (request.headers.get("Content-Type") or "").startswith("application/json"):
                params.update(json.loads(raw))
            else:
                params.update(urllib.parse.parse_qsl(raw.decode("utf-8")))
        headers = {k.lower(): v for k, v in request.headers.items()}
        if parsed.path.startswith("/response/"):
            method = "response_url"
        elif parsed.path.startswith("/api/"):
            method = parsed.path[len("/api/") :]
        else:
            _send(request, 404, b"not found", "text/plain")
            return
        with self._lock:
            self.calls.append(Call(method, params, raw, headers, parsed.path, time.monotonic()))
            fault = self.faults[method].popleft() if self.faults[method] else None
        if fault is not None and self._apply_fault(request, method, params, headers, fault):
            return
        if method == "response_url":
            _send(request, 200, b"ok", "text/plain")
            return
        status, body, extra = self._answer(method, params, headers)
        _send(request, status, json.dumps(body).encode(), "application/json; charset=utf-8", extra)

    def _apply_fault(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        params: dict[str, Any],
        headers: dict[str, str],
        fault: Fault,
    ) -> bool:
        if fault.kind == "429":
            body = json.dumps({"ok": False, "error": "ratelimited"}).encode()
            _send(request, 429, body, "application/json", {"Retry-After": str(fault.retry_after)})
        elif fault.kind == "500":
            _send(request, 500, b"<html><body>Internal Server Error</body></html>", "text/html")
        elif fault.kind == "error":
            _send(
                request,
                200,
                json.dumps({"ok": False, "error": fault.error}).encode(),
                "application/json",
            )
        elif fault.kind == "slow":  # a Slack slower than the client's patience: the call
            time.sleep(fault.delay)  # happens (the message is stored) only after the delay
            status, body, extra = self._answer(method, params, headers)
            with contextlib.suppress(OSError):  # the client may have hung up by now
                _send(request, status, json.dumps(body).encode(), "application/json", extra)
        elif fault.kind == "timeout":
            if fault.after_effect:
                self._answer(method, params, headers)
            time.sleep(fault.delay)
            return True  # the client has given up; write nothing
        else:
            raise ValueError(f"unknown fault kind {fault.kind!r}")
        return True

    # ------------------------------------------------------------------ the Web API methods

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        token = headers.get("authorization", "").removeprefix("Bearer ")
        if method == "apps.connections.open":
            if token != APP_TOKEN:
                return 200, {"ok": False, "error": "invalid_auth"}, {}
            return 200, {"ok": True, "url": self.socket_url}, {}
        if token != BOT_TOKEN:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        return handler(params)

    def _m_auth_test(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        body = {
            "ok": True,
            "url": "https://fake.slack.test/",
            "team": "Fake Desk",
            "user": "watchdesk",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }
        return 200, body, {"x-oauth-scopes": self.scopes}

    def _channel_error(self, channel: str) -> dict[str, Any] | None:
        info = self.channels.get(channel)
        if info is None:
            return {"ok": False, "error": "channel_not_found"}
        if info["is_archived"]:
            return {"ok": False, "error": "is_archived"}
        if not info["is_member"]:
            return {"ok": False, "error": "not_in_channel"}
        return None

    def _m_chat_postMessage(
        self, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        channel = params.get("channel", "")
        error = self._channel_error(channel)
        if error:
            return 200, error, {}
        message: dict[str, Any] = {
            "type": "message",
            "subtype": "bot_message",
            "text": params.get("text", ""),
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "ts": self._next_ts(),
        }
        for key in ("blocks", "metadata", "thread_ts"):
            if key in params:
                message[key] = params[key]
        with self._lock:
            self.messages[channel].append(message)
        return 200, {"ok": True, "channel": channel, "ts": message["ts"], "message": message}, {}

    def _m_chat_update(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        channel, ts = params.get("channel", ""), params.get("ts")
        with self._lock:
            for message in self.messages.get(channel, []):
                if message["ts"] == ts:
                    if message.get("bot_id") != BOT_ID:
                        return 200, {"ok": False, "error": "cant_update_message"}, {}
                    for key in ("text", "blocks", "metadata"):
                        if key in params:
                            message[key] = params[key]
                    return (
                        200,
                        {"ok": True, "channel": channel, "ts": ts, "text": message["text"]},
                        {},
                    )
        return 200, {"ok": False, "error": "message_not_found"}, {}

    def _m_chat_postEphemeral(
        self, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        error = self._channel_error(params.get("channel", ""))
        if error:
            return 200, error, {}
        return 200, {"ok": True, "message_ts": self._next_ts()}, {}

    def _m_conversations_history(
        self, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        channel = params.get("channel", "")
        if channel not in self.channels:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        limit = int(params.get("limit") or 100)
        with_metadata = str(params.get("include_all_metadata")) in ("1", "true", "True")
        newest_first = list(reversed(self.top_level(channel)))[:limit]
        messages = []
        for message in newest_first:
            copy = dict(message)
            if not with_metadata:
                copy.pop("metadata", None)
            messages.append(copy)
        return 200, {"ok": True, "messages": messages, "has_more": False}, {}

    def _m_conversations_info(
        self, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        info = self.channels.get(params.get("channel", ""))
        if info is None:
            return 200, {"ok": False, "error": "channel_not_found"}, {}
        return 200, {"ok": True, "channel": dict(info)}, {}

    def _m_users_info(self, params: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
        if "users:read" not in self.scopes.split(","):
            return 200, {"ok": False, "error": "missing_scope", "needed": "users:read"}, {}
        user = self.users.get(params.get("user", ""))
        if user is None:
            return 200, {"ok": False, "error": "user_not_found"}, {}
        return 200, {"ok": True, "user": dict(user)}, {}

    def _m_usergroups_users_list(
        self, params: dict[str, Any]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        members = self.usergroups.get(params.get("usergroup", ""))
        if members is None:
            return 200, {"ok": False, "error": "no_such_subteam"}, {}
        return 200, {"ok": True, "users": list(members)}, {}

    def _next_ts(self) -> str:
        n = next(self._ts)
        return f"{1_757_000_000 + n}.{n:06d}"


def _send(
    request: BaseHTTPRequestHandler,
    status: int,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> None:
    request.send_response(status)
    request.send_header("Content-Type", content_type)
    request.send_header("Content-Length", str(len(body)))
    for key, value in (extra or {}).items():
        request.send_header(key, value)
    request.end_headers()
    request.wfile.write(body)


# ---------------------------------------------------------------------- signed requests to Bolt


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's v0 request signature: HMAC-SHA256 over ``v0:{timestamp}:{body}``."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_post(
    url: str,
    body: bytes,
    content_type: str,
    *,
    secret: str = SIGNING_SECRET,
    timestamp: int | None = None,
    forged: bool = False,
) -> httpx.Response:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    sig = signature("not-the-secret" if forged else secret, stamp, body)
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sig,
    }
    return httpx.post(url, content=body, headers=headers, timeout=10)


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str,
    response_url: str,
    user_name: str = "",
) -> bytes:
    """The form-encoded body Slack posts for a slash command."""
    return urllib.parse.urlencode(
        {
            "token": "legacy-verification-token",
            "team_id": TEAM_ID,
            "team_domain": "fakedesk",
            "channel_id": channel_id,
            "channel_name": "desk",
            "user_id": user_id,
            "user_name": user_name or user_id.lower(),
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "1234.5678.abcdef",
        }
    ).encode()


_event_ids = itertools.count(1)


def message_event_body(
    channel: str,
    user: str,
    text: str,
    *,
    ts: str,
    thread_ts: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    event_id: str | None = None,
) -> bytes:
    """An Events API ``event_callback`` JSON body for a ``message`` event."""
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts,
        "event_ts": ts,
        "channel_type": "channel",
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    if subtype:
        event["subtype"] = subtype
    if bot_id:
        event["bot_id"] = bot_id
    body = {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_ids):08d}",
        "event_time": int(float(ts)),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": BOT_USER_ID,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    return json.dumps(body).encode()
