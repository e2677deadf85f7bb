"""The port every chat platform implements to receive the outbox's messages.

Sinks are synchronous: each platform's delivery worker (`bot.desk.outbox`) calls its sink on its
own thread. An asyncio-based platform (Discord) bridges into its own event loop inside its sink.

A sink raises `bot.errors.RemoteError` for a platform failure (``retry_after`` when the platform
rate-limits, ``permanent`` when retrying cannot help). Anything else it raises is a bug: the
worker logs it with its traceback and retries the intent within the retry policy's bound.
"""

from __future__ import annotations

from typing import Protocol

from bot.errors import RemoteError
from bot.models import AlertView, Destination, MessageRef


class Sink(Protocol):
    """Where one platform's messages go. Every destination handed in is on ``platform``."""

    platform: str

    request_timeout_s: float
    """The longest one call may take (a request, plus any pacing wait) before it raises a
    retryable `RemoteError`. The outbox's lease must outlast it, or a slow platform would see a
    second worker send the same message (checked when the sink is registered)."""

    def post_alert(self, alert: AlertView, to: Destination) -> MessageRef:
        """Post a new alert message; the returned ref lets it be edited and threaded later."""
        ...

    def find_posted(self, alert_id: int, to: Destination) -> MessageRef | None:
        """Find an alert this bot already posted (after a crash between send and record)."""
        ...

    def update_alert(self, alert: AlertView, ref: MessageRef) -> None:
        """Edit the posted alert in place to show new verdicts."""
        ...

    def post_in_thread(self, ref: MessageRef, text: str) -> MessageRef:
        """Post plain ``text`` (escaped by the sink) in the thread of the alert at ``ref``."""
        ...

    def post_notice(self, to: Destination, text: str) -> None:
        """Post a channel message: an operational notice or a digest (plain text, escaped by
        the sink)."""
        ...


def destination_of(ref: MessageRef, platform: str) -> Destination:
    """The destination a message ref points into, checked to be on ``platform``."""
    try:
        to = Destination.parse(ref.destination)
    except ValueError as exc:
        raise RemoteError(
            f"{ref.destination!r} is not a destination: {exc}", permanent=True
        ) from exc
    if to.platform != platform:
        raise RemoteError(f"{ref.destination} is not a {platform} destination", permanent=True)
    return to
