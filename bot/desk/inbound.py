"""Inbound chat text in a platform-neutral form, and the rule against control characters.

Each chat adapter turns its platform's markup (Slack's ``<#C0123|news>``, ``<@U1>``, ``&amp;``,
``:x:``; Discord's ``<#123>``, ``<@!1>``, ``<:name:id>``) into an `InboundText`: plain text with
the references the user made kept as typed objects (a channel as a `Destination`, a mention, a
link). The desk's parsers read only this form, so no desk code knows any platform's syntax.
The console and the CLI pass plain strings, which are an `InboundText` with no references.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from bot.errors import UserError
from bot.models import Destination


@dataclass(frozen=True)
class ChannelRef:
    """A channel the user picked (``#news``); ``label`` is its name when the platform said."""

    destination: Destination
    label: str = ""


@dataclass(frozen=True)
class MentionRef:
    """A mention of a user, role, group or everyone; ``label`` is how to show it (``@anna``)."""

    label: str


@dataclass(frozen=True)
class LinkRef:
    """A link the platform marked up; ``label`` is the text shown (the URL itself when empty)."""

    url: str
    label: str = ""


Ref = ChannelRef | MentionRef | LinkRef
Segment = str | Ref

# Parsers swap each reference for one of these noncharacters while they split the text (users
# can't type them: `refuse_controls` refuses them), then swap it back.
PLACEHOLDER_BASE = 0xFDD0
MAX_REFS = 32


@dataclass(frozen=True)
class InboundText:
    parts: tuple[Segment, ...] = ()

    @classmethod
    def of(cls, text: str | InboundText) -> InboundText:
        return text if isinstance(text, InboundText) else cls((text,) if text else ())

    def refs(self) -> tuple[Ref, ...]:
        return tuple(p for p in self.parts if not isinstance(p, str))

    def placeholders(self) -> tuple[str, tuple[Ref, ...]]:
        """(text with each reference replaced by one placeholder character, the references).

        Raises UserError when the text holds more references than placeholders exist.
        """
        refs = self.refs()
        if len(refs) > MAX_REFS:
            raise UserError(
                f"That message has {len(refs)} links, channels and mentions; at most {MAX_REFS} "
                "fit one command."
            )
        out: list[str] = []
        n = 0
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(chr(PLACEHOLDER_BASE + n))
                n += 1
        return "".join(out), refs

    def plain(self) -> str:
        """The text as a person reads it: links as their URL, channels and mentions by name."""
        return "".join(p if isinstance(p, str) else ref_text(p) for p in self.parts)


def ref_text(ref: Ref) -> str:
    if isinstance(ref, LinkRef):
        return ref.url
    if isinstance(ref, ChannelRef):
        return f"#{ref.label or ref.destination.channel}"
    return ref.label


def placeholder_index(ch: str) -> int | None:
    n = ord(ch) - PLACEHOLDER_BASE
    return n if 0 <= n < MAX_REFS else None


# --------------------------------------------------------------------------- control characters

_BIDI_CONTROLS = frozenset(
    "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
_CONTROL_NAMES = {
    0x00: "NUL", 0x07: "BEL", 0x08: "backspace", 0x09: "tab", 0x0A: "line break",
    0x0D: "carriage return", 0x1B: "ESC", 0x7F: "DEL",
}  # fmt: skip


def control_char(text: str, *, allow_newlines: bool = False) -> str | None:
    """The first control character in ``text`` (C0, DEL, C1, a bidi control or a noncharacter),
    or None. ``allow_newlines`` lets line breaks and tabs through (multi-line notes)."""
    for ch in text:
        code = ord(ch)
        if allow_newlines and ch in "\n\t":
            continue
        if (
            unicodedata.category(ch) == "Cc"
            or ch in _BIDI_CONTROLS
            or 0xFDD0 <= code <= 0xFDEF
            or (code & 0xFFFE) == 0xFFFE
        ):
            return ch
    return None


def describe_char(ch: str) -> str:
    """``U+0000 (NUL)`` — how a refusal names an invisible character."""
    code = ord(ch)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "")
    if not name and (0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE):
        name = "noncharacter"
    return f"U+{code:04X}" + (f" ({name})" if name else "")


def refuse_controls(text: str, what: str, *, allow_newlines: bool = False) -> str:
    """``text`` unchanged, or a UserError naming the control character and where it was.

    Databases disagree about them (PostgreSQL rejects NUL, SQLite stores it), matchers never
    see them in articles, and bidi controls make a term display as something else.
    """
    ch = control_char(text, allow_newlines=allow_newlines)
    if ch is not None:
        raise UserError(
            f"That {what} contains the invisible control character {describe_char(ch)}, which "
            f"Watchdesk does not accept: retype the {what} without it (copying from a PDF or a "
            "terminal often brings one along)."
        )
    return text
