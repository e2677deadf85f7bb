"""The one retry policy: how long to wait after a failed attempt, and when to stop trying.

Feed polling and every outbox intent use it with their own numbers (a feed's base is its poll
interval; a chat message's is seconds), so there is one backoff curve and one give-up rule.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bot.errors import RemoteError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff ``base_s × 2^(attempt−1)`` capped at ``max_s``; stop after
    ``max_attempts`` failures that came without the remote's own Retry-After."""

    base_s: float
    max_s: float
    max_attempts: int

    def delay_s(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based). The remote's
        Retry-After wins when it gave one (never less than zero, never more than ``max_s``)."""
        if retry_after is not None:
            return min(max(0.0, retry_after), self.max_s)
        return min(self.base_s * 2 ** max(0, attempt - 1), self.max_s)

    def gives_up(self, attempt: int, error: RemoteError | None = None) -> bool:
        """Stop when retrying cannot help (the remote said so) or plain failures kept coming.
        A rate limit (Retry-After given) is waited out rather than counted."""
        if error is not None and error.permanent:
            return True
        if error is not None and error.retry_after is not None:
            return False
        return attempt >= self.max_attempts


def retry_after_seconds(value: object) -> float | None:
    """A remote's Retry-After value (header text, a number, or a one-item list as some clients
    give headers) as seconds; None when absent or unusable (negative, inf, nan, an HTTP date)."""
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    if value is None or isinstance(value, bool):
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None
