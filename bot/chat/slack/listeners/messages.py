"""Thread replies under posted alerts → `Desk.handle_thread_reply`; its answer goes back into the
thread (confirmations visibly, hints and refusals only to the person who wrote).

Only a human's reply in a thread counts: bot messages, edits, deletions and other subtypes are
ignored (``thread_broadcast`` — "also send to channel" — is still a human reply). Slack may
deliver one event twice (its retries); event ids already handled are skipped.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.chat.slack.directory import SlackDirectory
from bot.chat.slack.inbound import inbound_text, is_channel_id
from bot.chat.slack.replies import render_reply
from bot.desk import boundary
from bot.desk.commands import Desk
from bot.models import Destination

log = logging.getLogger(__name__)

HUMAN_SUBTYPES = frozenset({None, "thread_broadcast"})


class SeenEvents:
    """A bounded memory of recent event ids, so a redelivered event is handled once."""

    def __init__(self, size: int = 2000):
        self.size = size
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def first_time(self, event_id: str | None) -> bool:
        if not event_id:
            return True
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            while len(self._ids) > self.size:
                self._ids.popitem(last=False)
            return True


def is_human_thread_reply(event: dict[str, Any]) -> bool:
    thread_ts = event.get("thread_ts")
    return (
        event.get("subtype") in HUMAN_SUBTYPES
        and not event.get("bot_id")
        and bool(event.get("user"))
        and bool(thread_ts)
        and thread_ts != event.get("ts")
    )


def register(app: App, desk: Desk, directory: SlackDirectory) -> None:
    """Listen to every message event (so Bolt does not warn about unhandled ones) and act on
    human thread replies under alerts."""
    seen = SeenEvents()

    def on_message(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        if not is_human_thread_reply(event) or not seen.first_time(body.get("event_id")):
            return
        handle_thread_reply(desk, directory, client, event)

    app.event("message")(on_message)


def handle_thread_reply(
    desk: Desk, directory: SlackDirectory, client: WebClient, event: dict[str, Any]
) -> None:
    channel, thread_ts, user = event["channel"], event["thread_ts"], event["user"]
    if not is_channel_id(channel):
        return
    destination = Destination("slack", channel)
    # Cheap store lookup first: most thread replies in a busy channel are not under alerts, and
    # those must not cost a users.info call each.
    if desk.alert_id_for_message(destination, thread_ts) is None:
        return
    reply = boundary.run(
        lambda: desk.handle_thread_reply(
            directory.actor(user, channel),
            destination,
            thread_ts,
            inbound_text(event.get("text") or ""),
        ),
        f"thread reply in {channel}/{thread_ts}",
    )
    if reply is None:
        return
    text = render_reply(reply, directory.workspace_url())
    if reply.ok:
        client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, text=text, unfurl_links=False, unfurl_media=False
        )
    else:
        client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
