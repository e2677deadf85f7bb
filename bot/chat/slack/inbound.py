"""Slack's inbound markup → the desk's platform-neutral `InboundText`.

Slack sends message and command text (with ``should_escape: true``) with ``&``, ``<`` and ``>``
escaped, links as ``<https://x|label>``, channels as ``<#C0123|news>``, users as ``<@U0123>``,
special mentions as ``<!here>`` / ``<!subteam^S1|@team>``, and emoji as ``:white_check_mark:``.
This module is the only place that reads that syntax; channel ids are checked against Slack's
own form here, so the desk receives only real `Destination`s.
"""

from __future__ import annotations

import re

from bot.chat.emoji import SHORTCODES
from bot.desk.inbound import ChannelRef, InboundText, LinkRef, MentionRef, Segment
from bot.models import Destination

_MARKUP_RE = re.compile(r"<([^<>\s|]+)(?:\|([^<>]*))?>")
_EMOJI_RE = re.compile(r":([a-z0-9_+\-]+):")
# Public (C), private (G) and direct (D) conversation ids: the letter, then upper-case letters
# and digits (real ids have 9-11 characters; tests and old workspaces use shorter ones).
CHANNEL_ID_RE = re.compile(r"[CGD][A-Z0-9]{3,20}")


def is_channel_id(channel: str) -> bool:
    return CHANNEL_ID_RE.fullmatch(channel) is not None


def destination(channel_id: str) -> Destination:
    """The desk's destination for a Slack channel id; ValueError for anything else."""
    if not is_channel_id(channel_id):
        raise ValueError(f"{channel_id!r} is not a Slack channel id (like C0123ABCD)")
    return Destination("slack", channel_id)


def unescape(text: str) -> str:
    """Slack escapes exactly these three; nothing else is entity-encoded."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _emoji(text: str) -> str:
    return _EMOJI_RE.sub(lambda m: SHORTCODES.get(m.group(1), m.group()), text)


def _text(raw: str) -> str:
    return _emoji(unescape(raw))


def _ref(match: re.Match[str]) -> Segment:
    target, label = match.group(1), match.group(2)
    shown = unescape(label) if label else ""
    if target.lower().startswith(("http://", "https://")):
        return LinkRef(unescape(target), shown)
    if target.lower().startswith("mailto:"):
        return shown or unescape(target[7:])
    if target.startswith("#"):
        if is_channel_id(target[1:]):
            return ChannelRef(Destination("slack", target[1:]), shown)
        return "#" + (shown or target[1:])
    if target.startswith("@"):
        return MentionRef("@" + (shown.lstrip("@") or target[1:]))
    if target.startswith("!"):
        special = target[1:].split("^", 1)[0]
        return MentionRef(shown if shown.startswith("@") else "@" + (shown or special))
    return unescape(match.group())


def inbound_text(text: str) -> InboundText:
    """A Slack message or command text in the desk's neutral form."""
    parts: list[Segment] = []
    pos = 0
    for match in _MARKUP_RE.finditer(text or ""):
        if match.start() > pos:
            parts.append(_text(text[pos : match.start()]))
        parts.append(_ref(match))
        pos = match.end()
    if pos < len(text or ""):
        parts.append(_text(text[pos:]))
    return InboundText(tuple(_merge(parts)))


def _merge(parts: list[Segment]) -> list[Segment]:
    """Adjacent text pieces as one string, so the desk sees words whole."""
    out: list[Segment] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        elif part != "":
            out.append(part)
    return out
