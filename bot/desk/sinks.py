"""The port every chat platform implements to receive alerts, and its failure type.

Sinks are synchronous: the outbox runs on the scheduler's worker thread. An asyncio-based
platform (Discord) bridges into its own event loop inside its sink.
"""

from __future__ import annotations

from typing import Protocol

from bot.models import AlertView, MessageRef


class DeliveryError(Exception):
    """A platform refused or failed a send. ``retry_after`` (seconds) comes from the platform
    when it rate-limits; ``permanent`` means retrying cannot help (channel not found, no access)."""

    def __init__(self, message: str, *, retry_after: float | None = None, permanent: bool = False):
        super().__init__(message)
        self.retry_after = retry_after
        self.permanent = permanent


class Sink(Protocol):
    """Where alerts go. ``channel`` is the platform's channel id: the part of a destination
    after ``"<platform>:"`` ("slack:C0123" → "C0123"); the console sink gets "" ."""

    platform: str

    def post_alert(self, alert: AlertView, channel: str) -> MessageRef:
        """Post a new alert message; the returned ref lets it be edited and threaded later."""
        ...

    def find_posted(self, alert_id: int, channel: str) -> MessageRef | None:
        """Find an alert this bot already posted (after a crash between send and record)."""
        ...

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        """Edit the posted alert in place to show new verdicts."""
        ...

    def post_notice(self, channel: str, text: str) -> None:
        """Post an operational notice (plain text, escaped by the sink)."""
        ...


def split_destination(destination: str) -> tuple[str, str]:
    """ "slack:C0123" → ("slack", "C0123"); "console" → ("console", "")."""
    platform, _, channel = destination.partition(":")
    return platform, channel
