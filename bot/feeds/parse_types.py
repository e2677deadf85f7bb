"""The shape both parse backends hand to `bot.feeds.parse`: what a parser saw, before capping.

Its own module so that the feedparser backend (in `bot.feeds.parse`) and the fast path
(`bot.feeds.fastparse`) share it without importing each other.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RawEntry:
    """An entry as a parser backend saw it, before any capping or cleaning."""

    guid: Any
    link: Any
    title: Any
    title_is_html: bool
    summary: Any
    contents: Sequence[Any]
    published: time.struct_time | None
    author: Any


@dataclass(frozen=True)
class RawFeed:
    """A whole document as a parser backend saw it; ``version`` "" means "not a feed"."""

    version: str
    title: Any
    title_is_html: bool
    link: Any
    entries: Sequence[RawEntry]
    bozo: bool
    bozo_reason: str | None
