"""Discord's inbound markup → the desk's platform-neutral `InboundText`.

Discord message content carries channels as ``<#123>``, users as ``<@123>`` / ``<@!123>``, roles
as ``<@&123>``, ``@everyone`` / ``@here``, custom emoji as ``<:name:123>`` / ``<a:name:123>``,
links with embeds suppressed as ``<https://…>`` and masked links as ``[label](https://…)``.
This module is the only place that reads that syntax; channel ids are checked to be
snowflakes here, so the desk receives only real `Destination`s.
"""

from __future__ import annotations

import re

from bot.chat.emoji import SHORTCODES
from bot.desk.inbound import ChannelRef, InboundText, LinkRef, MentionRef, Segment
from bot.models import Destination

_MARKUP_RE = re.compile(
    r"<#(?P<channel>\d+)>"
    r"|<@(?P<kind>[!&]?)(?P<user>\d+)>"
    r"|<(?P<animated>a?):(?P<emoji>\w+):\d+>"
    r"|<(?P<link>https?://[^\s<>]+)>"
    r"|\[(?P<label>[^\[\]\n]+)\]\((?P<masked>https?://[^\s()]+)\)"
    r"|(?P<everyone>@(?:everyone|here))\b",
    re.IGNORECASE,
)


def is_snowflake(value: str) -> bool:
    """Discord ids are unsigned 64-bit integers written in decimal."""
    return value.isdigit() and not value.startswith("0") and int(value) < 2**64


def destination(channel_id: int | str) -> Destination:
    """The desk's destination for a Discord channel id; ValueError for anything else."""
    text = str(channel_id)
    if not is_snowflake(text):
        raise ValueError(f"{text!r} is not a Discord channel id (a snowflake)")
    return Destination("discord", text)


def _ref(match: re.Match[str]) -> Segment:
    if match["channel"]:
        if is_snowflake(match["channel"]):
            return ChannelRef(Destination("discord", match["channel"]))
        return match.group()
    if match["user"]:
        return MentionRef(("@&" if match["kind"] == "&" else "@") + match["user"])
    if match["emoji"]:
        return SHORTCODES.get(match["emoji"].lower(), "")
    if match["link"]:
        return LinkRef(match["link"])
    if match["masked"]:
        return LinkRef(match["masked"], match["label"])
    return MentionRef(match["everyone"])


def inbound_text(content: str) -> InboundText:
    """A Discord message's content (or a string option) in the desk's neutral form."""
    parts: list[Segment] = []
    pos = 0
    for match in _MARKUP_RE.finditer(content or ""):
        if match.start() > pos:
            parts.append(content[pos : match.start()])
        parts.append(_ref(match))
        pos = match.end()
    if pos < len(content or ""):
        parts.append(content[pos:])
    merged: list[Segment] = []
    for part in parts:
        if isinstance(part, str) and merged and isinstance(merged[-1], str):
            merged[-1] += part
        elif part != "":
            merged.append(part)
    return InboundText(tuple(merged))
