"""`watchdesk status`: what `/metrics` says, as a short table for a terminal, read from the
store alone (so it works with no worker running, from any machine that reaches the database).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from bot.settings import Settings, format_duration
from bot.store.feeds import FeedStates
from bot.store.outbox import QueueDepth
from bot.store.repo import Store


@dataclass(frozen=True)
class Status:
    feeds: FeedStates
    queues: list[QueueDepth]
    alerts_today: int
    articles: int
    encoder: str
    now: datetime


def read_status(store: Store, settings: Settings) -> Status:
    """Everything the table shows, from the store (and the configured encoder)."""
    now = store.clock()
    midnight = datetime.combine(now.date(), time(0), tzinfo=now.tzinfo)
    return Status(
        feeds=store.feeds.feed_states(),
        queues=store.outbox.queue_depths(),
        alerts_today=store.alerts.count_created_since(midnight),
        articles=store.articles.count_articles(),
        encoder=settings.analysis.encoder,
        now=now,
    )


def ago(then: datetime, now: datetime) -> str:
    """ "3m ago" in the units the config uses; whole seconds."""
    seconds = max(0, int((now - then).total_seconds()))
    if seconds >= 60:
        seconds -= seconds % 60 if seconds < 3600 else seconds % 3600
    return f"{format_duration(seconds)} ago"


def status_lines(status: Status) -> list[str]:
    c = status.feeds.counts
    active = c["active"] + c["backing_off"]
    last = status.feeds.last_polled_at
    rows = [
        (
            "feeds",
            f"{active} active ({c['backing_off']} backing off), {c['disabled']} disabled",
        ),
        (
            "last poll",
            f"{last:%Y-%m-%d %H:%M:%S} UTC ({ago(last, status.now)})" if last else "never",
        ),
        ("alerts today", f"{status.alerts_today} (since 00:00 UTC)"),
        ("articles", str(status.articles)),
        ("encoder", f"{status.encoder} (configured)"),
    ]
    if not status.queues:
        rows.append(("outbox", "empty: nothing waiting to be sent"))
    lines = [f"{name:<13}{value}" for name, value in rows]
    if status.queues:
        lines.append(f"{'outbox':<13}{'platform':<10}{'kind':<13}{'pending':>8}  oldest")
        for q in status.queues:
            lines.append(
                f"{'':<13}{q.platform:<10}{q.kind:<13}{q.pending:>8}  "
                f"{ago(q.oldest_created_at, status.now)}"
            )
    return lines
