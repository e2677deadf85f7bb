"""`SlackSink`: the outbox's port to Slack — post, find, update alerts, post in an alert's
thread and post notices.

It posts once per call and never retries a post itself (the outbox owns retries and "exactly
once"): a 429 comes back as ``RemoteError(retry_after=…)``, a 5xx or a timeout as a transient
`RemoteError` after which the outbox must ask `find_posted` before posting again. Each posted
alert carries message metadata ``watchdesk_alert {alert_id}``; that is what `find_posted` looks
for in the channel's recent history. A per-channel pacer keeps to Slack's one message per second
per channel; a wait longer than ``max_pace_s`` (after a 429) is not slept through but returned as
``RemoteError(retry_after=…)``, so one call never takes longer than `request_timeout_s` (the
client's HTTP timeout plus ``max_pace_s``), which the outbox's lease must outlast.
"""

from __future__ import annotations

import http.client
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from bot.chat.slack.blocks import SlackMessage, render_alert, render_reply
from bot.desk.sinks import destination_of
from bot.errors import RemoteError
from bot.models import AlertView, Destination, MessageRef
from bot.retry import retry_after_seconds

log = logging.getLogger(__name__)

EVENT_TYPE = "watchdesk_alert"
HISTORY_SCAN = 200  # recent messages searched by find_posted; alerts are recent when it matters
DEFAULT_RETRY_AFTER = 30.0  # when a 429 comes without a usable Retry-After header
MAX_PACE_S = 5.0  # the longest pacing wait slept through; longer ones come back as RemoteError

# Slack error codes after which a retry cannot succeed until a human changes something.
PERMANENT_ERRORS = frozenset(
    {
        "account_inactive",
        "cant_update_message",
        "channel_not_found",
        "edit_window_closed",
        "ekm_access_denied",
        "invalid_auth",
        "invalid_blocks",
        "invalid_metadata_format",
        "invalid_metadata_schema",
        "is_archived",
        "message_not_found",
        "metadata_too_large",
        "missing_scope",
        "msg_too_long",
        "no_permission",
        "not_allowed_token_type",
        "not_authed",
        "not_in_channel",
        "restricted_action",
        "team_access_not_granted",
        "token_expired",
        "token_revoked",
    }
)

# What a person must do about each permanent error; the outbox shows it in its notice/logs.
FIXES = {
    "channel_not_found": "check the channel ID in config (slack:C…) and that the bot can see it",
    "not_in_channel": "invite the bot: /invite @Watchdesk in that channel",
    "is_archived": "the channel is archived; unarchive it or change the destination",
    "invalid_auth": "SLACK_BOT_TOKEN is wrong; copy the Bot User OAuth Token again",
    "token_revoked": "the app was uninstalled or the token revoked; reinstall and copy the new token",
    "missing_scope": "reinstall the app from config/slack-manifest.yml; run `watchdesk doctor`",
}


class ChannelPacer:
    """Spaces sends to one channel at least `interval` seconds apart; a 429 pushes the next
    allowed send out by its Retry-After. Thread-safe (the outbox and listeners may share it)."""

    def __init__(
        self,
        interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def wait(self, channel: str, max_wait: float = float("inf")) -> None:
        """Block until `channel` may receive a message, and book the slot after this one. A
        wait longer than ``max_wait`` books nothing and raises `RemoteError` with it as
        ``retry_after`` (the channel is held after a 429: the caller comes back later)."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(channel, now))
            if slot - now > max_wait:
                raise RemoteError(
                    f"Slack asked us to hold {channel} for {slot - now:.0f}s more",
                    retry_after=slot - now,
                )
            self._next[channel] = slot + self.interval
        if slot > now:
            self._sleep(slot - now)

    def defer(self, channel: str, seconds: float) -> None:
        with self._lock:
            self._next[channel] = max(self._next.get(channel, 0.0), self._clock() + seconds)


def _retry_after(error: SlackApiError) -> float:
    headers = {k.lower(): v for k, v in (error.response.headers or {}).items()}
    seconds = retry_after_seconds(headers.get("retry-after"))
    return DEFAULT_RETRY_AFTER if seconds is None else seconds


def remote_error(action: str, channel: str, error: Exception) -> RemoteError:
    """Translate any slack_sdk failure into the outbox's vocabulary."""
    if isinstance(error, SlackApiError):
        status = error.response.status_code
        code = (
            (error.response.data or {}).get("error", "")
            if isinstance(error.response.data, dict)
            else ""
        )
        if status == 429 or code == "ratelimited":
            seconds = _retry_after(error)
            return RemoteError(
                f"Slack rate-limited {action} in {channel}; retry in {seconds:g}s",
                retry_after=seconds,
            )
        if code in PERMANENT_ERRORS:
            fix = FIXES.get(code, "see https://api.slack.com/methods for the error code")
            return RemoteError(
                f"Slack refused {action} in {channel}: {code} ({fix})", permanent=True
            )
        return RemoteError(
            f"Slack failed {action} in {channel}: HTTP {status} {code or 'no error code'}"
        )
    return RemoteError(
        f"Slack unreachable for {action} in {channel}: {type(error).__name__}: {error}"
    )


def alert_metadata(alert_id: int) -> dict[str, Any]:
    return {"event_type": EVENT_TYPE, "event_payload": {"alert_id": alert_id}}


class SlackSink:
    """Implements `bot.desk.sinks.Sink` for Slack. ``client`` should be built by
    `bot.chat.slack.app.build_web_client` (no automatic retries: a silent retry after a dropped
    connection could post an alert twice)."""

    platform = "slack"

    def __init__(
        self,
        client: WebClient,
        *,
        pacer: ChannelPacer | None = None,
        history_scan: int = HISTORY_SCAN,
        max_pace_s: float = MAX_PACE_S,
    ):
        self.client = client
        self.pacer = pacer or ChannelPacer()
        self.history_scan = history_scan
        self.max_pace_s = max_pace_s
        self._identity: tuple[str | None, str | None] | None = None

    @property
    def request_timeout_s(self) -> float:
        """The longest one call takes: a pacing wait, then one request under the client's
        timeout (`bot.chat.slack.client.build_web_client`)."""
        return self.max_pace_s + float(self.client.timeout)

    # ------------------------------------------------------------------ Sink protocol

    def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
        channel = self._channel(to)
        message = render_alert(alert)
        response = self._call(
            "posting an alert",
            channel,
            self.client.chat_postMessage,
            channel=channel,
            text=message.text,
            blocks=message.blocks,
            metadata=alert_metadata(alert.alert_id),
            unfurl_links=False,
            unfurl_media=False,
        )
        ts = str(response["ts"])
        return MessageRef(destination=f"slack:{channel}", message_id=ts, thread_id=ts)

    def find_posted(self, alert_id: int, to: Destination) -> MessageRef | None:
        """Scan the channel's recent history for our own message carrying this alert's id."""
        channel = self._channel(to)
        response = self._call(
            "looking for an already posted alert",
            channel,
            self.client.conversations_history,
            paced=False,
            channel=channel,
            limit=self.history_scan,
            include_all_metadata=True,
        )
        for message in response.get("messages") or []:
            if self._is_ours(message) and _alert_id_of(message) == alert_id:
                ts = str(message["ts"])
                log.info(
                    "alert %s was already posted in %s (ts %s); not posting again",
                    alert_id,
                    channel,
                    ts,
                )
                return MessageRef(destination=f"slack:{channel}", message_id=ts, thread_id=ts)
        return None

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        channel = self._channel(destination_of(ref, self.platform))
        message: SlackMessage = render_alert(alert)
        self._call(
            "updating an alert",
            channel,
            self.client.chat_update,
            channel=channel,
            ts=ref.message_id,
            text=message.text,
            blocks=message.blocks,
            metadata=alert_metadata(alert.alert_id),
        )

    def post_in_thread(self, ref: MessageRef, text: str) -> MessageRef:
        """A reply under the alert's message (``thread_ts``), not broadcast to the channel."""
        channel = self._channel(destination_of(ref, self.platform))
        thread_ts = ref.thread_id or ref.message_id
        response = self._call(
            "posting in an alert's thread",
            channel,
            self.client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            text=render_reply(text),
            unfurl_links=False,
            unfurl_media=False,
        )
        return MessageRef(ref.destination, str(response["ts"]), thread_ts)

    def post_notice(self, to: Destination, text: str) -> None:
        channel = self._channel(to)
        self._call(
            "posting a notice",
            channel,
            self.client.chat_postMessage,
            channel=channel,
            text=render_reply(text),
            unfurl_links=False,
            unfurl_media=False,
        )

    # ------------------------------------------------------------------ internals

    def _channel(self, to: Destination) -> str:
        if to.platform != self.platform:
            raise RemoteError(f"{to} is not a Slack destination", permanent=True)
        return to.channel

    def _call(
        self,
        action: str,
        where: str,
        method: Callable[..., Any],
        /,
        *,
        paced: bool = True,
        **kwargs: Any,
    ) -> Any:
        """One Web API call, paced per channel, with every failure turned into RemoteError."""
        if paced:
            self.pacer.wait(where, self.max_pace_s)
        try:
            return method(**kwargs)
        except SlackApiError as exc:
            error = remote_error(action, where, exc)
            if error.retry_after is not None:
                self.pacer.defer(where, error.retry_after)
            raise error from exc
        except (SlackClientError, OSError, http.client.HTTPException) as exc:  # timeouts, resets
            raise remote_error(action, where, exc) from exc

    def _is_ours(self, message: dict[str, Any]) -> bool:
        bot_id, user_id = self.identity()
        if bot_id and message.get("bot_id") == bot_id:
            return True
        return bool(user_id) and message.get("user") == user_id

    def identity(self) -> tuple[str | None, str | None]:
        """(bot_id, bot user id) of our token, from auth.test, asked once."""
        if self._identity is None:
            try:
                response = self.client.auth_test()
            except (SlackClientError, OSError, http.client.HTTPException) as exc:
                raise remote_error("checking the bot's identity", "auth.test", exc) from exc
            self._identity = (response.get("bot_id"), response.get("user_id"))
        return self._identity


def _alert_id_of(message: dict[str, Any]) -> int | None:
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != EVENT_TYPE:
        return None
    value = (metadata.get("event_payload") or {}).get("alert_id")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
