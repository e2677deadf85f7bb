"""What the desk answers with: a `Reply` made of plain text and a few neutral pieces each chat
adapter renders in its own syntax.

The desk never writes platform markup. A reply that tells the user to run a command carries a
`CommandRef` (Slack shows ``/watch add Lukashenko``, Discord ``/watch add term:Lukashenko``);
an example to copy is `Code`; a link to a posted alert is a `MessageLink` (Slack permalink,
Discord jump URL). `Reply.text` is the plain rendering the console and the CLI print.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from bot.errors import UserError
from bot.models import Destination, MessageRef


@dataclass(frozen=True)
class Code:
    """Text to show verbatim, as inline code: a reply to copy (``2 false https://source``)."""

    text: str


@dataclass(frozen=True)
class Arg:
    """One argument of a command reference: the Discord option ``name`` and its value.

    ``value`` is what to type (one string, several for a list option, or a channel);
    ``placeholder`` marks it as a description ("NAME") rather than a value, ``optional`` as one
    that may be left out.
    """

    name: str
    value: str | tuple[str, ...] | Destination
    placeholder: bool = False
    optional: bool = False


@dataclass(frozen=True)
class CommandRef:
    """A slash command the user is told to run, e.g. ``CommandRef("watch", "add", (Arg("term",
    "Lukashenko"),))``; adapters render it in their platform's command syntax."""

    command: str
    sub: str | None = None
    args: tuple[Arg, ...] = ()


@dataclass(frozen=True)
class MessageLink:
    """A link to a message the bot posted (an alert), rendered per platform from its ref."""

    ref: MessageRef
    label: str


Part = str | Code | CommandRef | MessageLink


def plain_command(ref: CommandRef) -> str:
    """The platform-free rendering (console, CLI, logs): ``/watch add "Viktor Khrenin" X``."""
    words = [f"/{ref.command}"] + ([ref.sub] if ref.sub else [])
    for arg in ref.args:
        words.append(_plain_arg(arg))
    return " ".join(w for w in words if w)


def _plain_arg(arg: Arg) -> str:
    if isinstance(arg.value, Destination):
        text = f"#{arg.value.channel}" if arg.value.channel else str(arg.value)
    elif isinstance(arg.value, tuple):
        text = " ".join(quote_word(v) for v in arg.value)
    else:
        text = arg.value if arg.placeholder else quote_word(arg.value)
    return f"[{text}]" if arg.optional else text


def quote_word(value: str) -> str:
    """A value as one argument of the text command grammar: quoted when it has spaces."""
    return f'"{value}"' if any(ch.isspace() for ch in value) or not value else value


def plain_part(part: Part) -> str:
    if isinstance(part, str):
        return part
    if isinstance(part, Code):
        return part.text
    if isinstance(part, CommandRef):
        return plain_command(part)
    return f"{part.label} ({part.ref.destination} message {part.ref.message_id})"


class Reply:
    """The desk's answer: ``parts`` in order, and whether the request succeeded (``ok``)."""

    def __init__(self, *parts: Part, ok: bool = True):
        self.parts: tuple[Part, ...] = tuple(p for p in parts if p != "")
        self.ok = ok

    @property
    def text(self) -> str:
        return "".join(plain_part(p) for p in self.parts)

    def __iter__(self) -> Iterator[Part]:
        return iter(self.parts)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Reply) and (self.parts, self.ok) == (other.parts, other.ok)

    def __hash__(self) -> int:
        return hash((self.parts, self.ok))

    def __repr__(self) -> str:
        return f"Reply({self.text!r}, ok={self.ok})"


class Refusal(UserError):
    """A `UserError` whose message names commands or examples: adapters render its ``parts``
    like a reply's; ``str()`` is the plain rendering."""

    def __init__(self, *parts: Part):
        self.parts: tuple[Part, ...] = tuple(p for p in parts if p != "")
        super().__init__("".join(plain_part(p) for p in self.parts))


def code_parts(text: str) -> tuple[Part, ...]:
    """Desk-written text with examples between backticks → text and `Code` parts. Only for
    messages the desk writes itself; user or feed text never goes through here."""
    pieces = text.split("`")
    if len(pieces) % 2 == 0:  # an unpaired backtick: no code in it
        return (text,)
    return tuple(Code(p) if i % 2 else p for i, p in enumerate(pieces) if p)


def lines(*rows: tuple[Part, ...] | Part) -> tuple[Part, ...]:
    """Join rows (each a part or a tuple of parts) with newlines, for multi-line replies."""
    out: list[Part] = []
    for i, row in enumerate(rows):
        if i:
            out.append("\n")
        out.extend(row if isinstance(row, tuple) else (row,))
    return tuple(out)
