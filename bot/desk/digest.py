"""The digest: at each of ``[memory] digest_times`` (in the desk's ``timezone``), one message
per default channel listing the claims still open (oldest alert first, then by check-worthiness)
and the verdicts recorded since the previous digest time. Posted through the outbox's
``digest`` intent, keyed by channel and slot, so two workers (or a restart) never post one
twice; nothing is posted when there is nothing to say.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.store.memory import DigestClaim, DigestVerdict

MAX_OPEN = 15
MAX_VERDICTS = 15


class DigestMemory(Protocol):
    def verdicts_since(self, since: datetime, limit: int = 50) -> list[DigestVerdict]: ...

    def open_claims_by_salience(self, limit: int = 20) -> list[DigestClaim]: ...


class DigestOutbox(Protocol):
    def add_digest(self, destination: str, text: str, *, key: str | None = None) -> bool: ...


def _age(since: datetime, now: datetime) -> str:
    hours = max(0, int((now - since).total_seconds() // 3600))
    return f"{hours // 24}d {hours % 24}h" if hours >= 24 else f"{hours}h"


def _link(url: str | None) -> str:
    return f" — {url}" if url else ""


def compose(memory: DigestMemory, *, since: datetime, now: datetime, zone: ZoneInfo) -> str | None:
    """The digest text, or None when no claim is open and no verdict came since ``since``."""
    open_claims = memory.open_claims_by_salience(limit=MAX_OPEN + 1)
    verdicts = memory.verdicts_since(since, limit=MAX_VERDICTS + 1)
    if not open_claims and not verdicts:
        return None
    local = since.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    lines = [f"Watchdesk digest — {now.astimezone(zone).strftime('%Y-%m-%d %H:%M')} ({zone.key})"]
    if open_claims:
        lines.append("Open claims, oldest first:")
        for c in open_claims[:MAX_OPEN]:
            lines.append(
                f"• {_age(c.alerted_at, now)} · alert #{c.alert_id} “{c.alert_title}” claim "
                f"{c.claim_n}: {c.text}{_link(c.alert_url)}"
            )
        if len(open_claims) > MAX_OPEN:
            lines.append("• …and more: /claims open lists them all")
    else:
        lines.append("No open claims.")
    if verdicts:
        lines.append(f"Verdicts since {local}:")
        for v in verdicts[:MAX_VERDICTS]:
            lines.append(
                f"• alert #{v.alert_id} claim {v.claim_n} → {v.verdict} (by {v.checker}): "
                f"{v.text}{_link(v.alert_url)}"
            )
        if len(verdicts) > MAX_VERDICTS:
            lines.append("• …and more")
    else:
        lines.append(f"No verdicts since {local}.")
    return "\n".join(lines)


def slots_around(now: datetime, times: Sequence[str], zone: ZoneInfo) -> tuple[datetime, datetime]:
    """(the latest digest time at or before ``now``, the one before it), in UTC; the local
    times are read on the local calendar, so a DST change moves them with the clock."""
    local_now = now.astimezone(zone)
    candidates = []
    for days in (0, 1, 2):
        day = (local_now - timedelta(days=days)).date()
        for text in times:
            hour, minute = (int(p) for p in text.split(":"))
            moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
            if moment <= local_now:
                candidates.append(moment.astimezone(UTC))
    candidates.sort(reverse=True)
    return candidates[0], candidates[1]


@dataclass
class DigestSchedule:
    """Posts the digest of each slot once. The first call only learns the current slot: a
    worker that starts at 10:00 does not post the 09:00 digest late."""

    times: tuple[str, ...]
    timezone: str
    channels: tuple[str, ...]
    _seen: datetime | None = None

    def due(self, now: datetime) -> tuple[datetime, datetime] | None:
        """(slot, previous slot) when a new slot began since the last call."""
        if not self.times:
            return None
        slot, previous = slots_around(now, self.times, ZoneInfo(self.timezone))
        if self._seen is None:  # the first cycle learns where the desk is in its day
            self._seen = slot
            return None
        if slot <= self._seen:
            return None
        self._seen = slot
        return slot, previous

    def run(self, memory: DigestMemory, outbox: DigestOutbox, now: datetime) -> int:
        """Queue this slot's digests; returns how many were queued."""
        due = self.due(now)
        if due is None:
            return 0
        slot, previous = due
        return post_digest(
            memory, outbox, self.channels, since=previous, now=slot, zone=ZoneInfo(self.timezone)
        )


def post_digest(
    memory: DigestMemory,
    outbox: DigestOutbox,
    channels: Sequence[str],
    *,
    since: datetime,
    now: datetime,
    zone: ZoneInfo,
    key: str | None = "slot",
) -> int:
    """One digest per channel (keyed by slot unless ``key`` is None: `/digest now`)."""
    text = compose(memory, since=since, now=now, zone=zone)
    if text is None:
        return 0
    queued = 0
    for channel in channels:
        slot_key = f"digest-{channel}-{now.isoformat()}" if key else None
        queued += outbox.add_digest(channel, text, key=slot_key)
    return queued
