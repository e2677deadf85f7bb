"""Parsing of the text form of /watch, /feeds and /claims into typed commands, for every platform.

Slack hands a slash command over as ``command="/watch"`` and ``text='add "Viktor Khrenin" Хренин'``;
the console and the CLI look the same. Each chat adapter first turns its platform's markup into
an `bot.desk.inbound.InboundText` (channels as `Destination`, mentions, links); plain strings are
accepted too. :func:`parse_command` turns that into one of the frozen dataclasses below, or raises
:class:`CommandUsageError` whose message says what was wrong followed by the command's usage.

Grammar (subcommands are case-insensitive; ``NAME`` is one argument, see quoting)::

    /watch add NAME [ALIAS ...] [#channel ...] [+default]  → WatchAdd(term, aliases, channels,
                                                               keep_default)
    /watch remove NAME [#channel ...]   (rm, delete, del)  → WatchRemove(term, channels)
    /watch unalias ALIAS                                   → WatchUnalias(alias)
    /watch list               (ls)                         → WatchList()
    /watch test TEXT-OR-URL   (try)                        → WatchTest(text)  the rest, verbatim
    /feeds add URL                                         → FeedsAdd(url)
    /feeds remove URL         (rm, delete, del)            → FeedsRemove(url)
    /feeds list               (ls)                         → FeedsList()
    /claims [open]            (list, ls)                   → ClaimsOpen()
    /claims mine                                           → ClaimsMine()
    /digest [now]                                          → DigestNow()
    /why URL-OR-ALERT-NUMBER                               → WhyQuery(target)  no subcommand
    /<any> help               (?, -h, --help)              → Help(command)

Arguments and quoting:

* Arguments are separated by whitespace. A name with spaces is quoted with straight double
  quotes ``"…"``, curly quotes ``“…”``, low-high quotes ``„…“`` or guillemets ``«…»``; straight or
  curly single quotes ``'…'`` / ``‘…’`` also work. Quote marks are only quotes when they open at
  the start of an argument and close at its end (the closing mark followed by a space or the end
  of the text); they are then removed, and the spaces inside are collapsed to one. Everywhere
  else a quote mark is part of the name: ``«Запад»-2025`` and ``ОАО«Белавиа»`` stay as typed,
  and apostrophes inside words (``O'Brien``, ``з’езд``) are letters.
* A double quote or guillemet that opens an argument and never closes, or one that closes an
  argument that was never opened (``Khrenin"``), is a usage error. An unclosed single quote is
  taken as an apostrophe.
* References the adapter found are single arguments: a link (its URL for /feeds; for /watch a
  link the platform made out of a bare domain such as ``belta.by`` counts as the label the user
  typed), a channel (its `Destination`), a mention (refused where a name is expected). A plain
  ``#news`` (no channel reference) is an ordinary word.
* ``/watch add … #channel`` routes the name's alerts to that channel *instead of* the default
  channels; ``+default`` keeps the default channels too.
* ``/watch remove`` takes one name; unquoted words after it are joined (``remove Viktor Khrenin``).
  With channels it removes only those routes.
* Names are 2..100 characters with at least one letter or digit and no control characters; at
  most 20 aliases; duplicate aliases (ignoring case) and aliases equal to the name are dropped.
* ``/feeds`` URLs must be absolute http(s) URLs (``belta.by/rss`` is refused with a suggestion).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.desk.inbound import (
    ChannelRef,
    InboundText,
    LinkRef,
    MentionRef,
    Ref,
    placeholder_index,
    ref_text,
    refuse_controls,
)
from bot.desk.replies import Arg, CommandRef, Part, Refusal, lines, plain_part
from bot.models import Destination

MAX_TERM_CHARS = 100
MAX_ALIASES = 20
MAX_URL_CHARS = 2000
KEEP_DEFAULT_WORD = "+default"


@dataclass(frozen=True)
class WatchAdd:
    """Watch ``term`` (and its ``aliases``); ``channels`` are destinations named in the command
    (empty when none were named); ``keep_default`` adds them to the default channels rather than
    replacing them."""

    term: str
    aliases: tuple[str, ...] = ()
    channels: tuple[Destination, ...] = ()
    keep_default: bool = False


@dataclass(frozen=True)
class WatchRemove:
    """Stop watching ``term``; with ``channels``, only stop routing it to those."""

    term: str
    channels: tuple[Destination, ...] = ()


@dataclass(frozen=True)
class WatchUnalias:
    """Stop matching one spelling, keeping the name it belongs to."""

    alias: str


@dataclass(frozen=True)
class WatchList:
    pass


@dataclass(frozen=True)
class WatchTest:
    """``text`` is the rest of the line as the user typed it (links as their URL)."""

    text: str


@dataclass(frozen=True)
class FeedsAdd:
    url: str


@dataclass(frozen=True)
class FeedsList:
    pass


@dataclass(frozen=True)
class FeedsRemove:
    url: str


@dataclass(frozen=True)
class ClaimsOpen:
    pass


@dataclass(frozen=True)
class ClaimsMine:
    """The claims the person said "I'm on it" to and has not judged yet."""


@dataclass(frozen=True)
class DigestNow:
    """Post the digest (open claims, verdicts since the last digest) in this channel now."""


@dataclass(frozen=True)
class WhyQuery:
    """``/why``: ``target`` is an article's address or an alert number, as typed."""

    target: str


@dataclass(frozen=True)
class Help:
    """The user asked for ``command``'s usage ("watch", "feeds" or "claims")."""

    command: str


Command = (
    WatchAdd | WatchRemove | WatchUnalias | WatchList | WatchTest | FeedsAdd | FeedsList
    | FeedsRemove | ClaimsOpen | ClaimsMine | DigestNow | WhyQuery | Help
)  # fmt: skip


class CommandUsageError(Refusal):
    """A slash command the parser could not read. ``problem`` says what was wrong, ``usage`` how
    the command is written; the message is both, one after the other."""

    def __init__(self, command: str | None, problem: str | tuple[Part, ...]):
        self.command = command
        problem_parts = (problem,) if isinstance(problem, str) else problem
        usage_parts = usage_parts_of(command) if command in _USAGE else (_all_usage(),)
        self.problem = "".join(plain_part(p) for p in problem_parts)
        self.usage = "".join(plain_part(p) for p in usage_parts)
        super().__init__(*problem_parts, "\n", *usage_parts)


# --------------------------------------------------------------------------- usage


def cmd(command: str, sub: str | None = None, *args: Arg) -> CommandRef:
    """Shorthand for a command reference in replies."""
    return CommandRef(command, sub, args)


def _ph(name: str, text: str, optional: bool = False) -> Arg:
    return Arg(name, text, placeholder=True, optional=optional)


_USAGE: dict[str, tuple[tuple[Part, ...], ...]] = {
    "watch": (
        (
            cmd("watch", "add", _ph("term", "NAME"), _ph("aliases", "ALIAS …", True),
                _ph("channel", "#channel", True)),
            " — watch a name and its other spellings: ",
            cmd("watch", "add", Arg("term", "Viktor Khrenin"),
                Arg("aliases", ("Віктар Хрэнін", "Хренин"))),
        ),
        (cmd("watch", "remove", _ph("term", "NAME")), " — stop watching a name"),
        (
            cmd("watch", "remove", _ph("term", "NAME"), _ph("channel", "#channel")),
            " — stop posting a name's alerts to one channel",
        ),
        (cmd("watch", "unalias", _ph("alias", "ALIAS")), " — stop matching one spelling"),
        (cmd("watch", "list"), " — show the watchlist"),
        (cmd("watch", "test", _ph("text", "TEXT or URL")), " — show what the watchlist would match"),
        (cmd("watch", "help"), " — this help"),
    ),
    "feeds": (
        (
            cmd("feeds", "add", _ph("url", "URL")), " — poll a feed: ",
            cmd("feeds", "add", Arg("url", "https://example.org/rss")),
        ),
        (cmd("feeds", "remove", _ph("url", "URL")), " — stop polling it"),
        (cmd("feeds", "list"), " — show the feeds"),
        (cmd("feeds", "help"), " — this help"),
    ),
    "claims": (
        (cmd("claims", "open"), " — claims in recent alerts that nobody has checked yet"),
        (cmd("claims", "mine"), " — the claims you said “I'm on it” to"),
        (cmd("claims", "help"), " — this help"),
    ),
    "digest": (
        (cmd("digest", "now"), " — post the digest of open claims and new verdicts here now"),
        (cmd("digest", "help"), " — this help"),
    ),
    "why": (
        (
            cmd("why", None, _ph("target", "URL or ALERT-NUMBER")),
            " — where an article stopped on its way to an alert: ",
            cmd("why", None, Arg("target", "42")),
        ),
        (cmd("why", "help"), " — this help"),
    ),
}  # fmt: skip

_SUBCOMMANDS: dict[str, dict[str, str]] = {
    "watch": {
        "add": "add", "remove": "remove", "rm": "remove", "delete": "remove", "del": "remove",
        "unalias": "unalias", "list": "list", "ls": "list", "test": "test", "try": "test",
    },
    "feeds": {
        "add": "add", "remove": "remove", "rm": "remove", "delete": "remove", "del": "remove",
        "list": "list", "ls": "list",
    },
    "claims": {"open": "open", "list": "open", "ls": "open", "mine": "mine"},
    "digest": {"now": "now"},
}  # fmt: skip
_HELP_WORDS = frozenset({"help", "?", "-h", "--help"})


def _command_name(command: str) -> str:
    name = command.strip().lstrip("/").casefold()
    if name not in _USAGE:
        raise ValueError(f"no such command: {command!r}")
    return name


def usage_parts_of(command: str) -> tuple[Part, ...]:
    """How ``command`` is written, one line per form, as reply parts (rendered per platform)."""
    rows = _USAGE[_command_name(command)]
    return lines("Usage:", *((("  ", *row)) for row in rows))


def usage(command: str) -> str:
    """How ``command`` ("watch" or "/watch", "feeds", "claims") is written, in plain text."""
    return "".join(plain_part(p) for p in usage_parts_of(command))


def _all_usage() -> str:
    return (
        "Commands: /watch, /feeds, /claims, /digest, /why "
        "(add “help” to any of them for its usage)."
    )


# --------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class _Arg:
    kind: str  # "word" | "quoted" | "link" | "channel" | "mention"
    text: str  # what the user typed (the label of a link, the name of a channel or mention)
    url: str | None = None  # for links
    destination: Destination | None = None  # for channels


# Each opening mark and the marks that may close it, most likely first.
_QUOTES: dict[str, tuple[str, ...]] = {
    '"': ('"', "”"),
    "“": ("”", '"', "“"),
    "„": ("“", "”", '"'),
    "«": ("»",),
    "”": ("”",),
    "'": ("'", "’"),
    "‘": ("’", "'"),
}
_SINGLE_QUOTES = frozenset({"'", "‘"})
_STRAY_CLOSERS = frozenset({'"', "”", "»", "“"})
_INVISIBLE_RE = re.compile("[\u200b\u200c\u2060\ufeff]")


class _Text:
    """The command text with each reference as one placeholder character (see `InboundText`)."""

    def __init__(self, text: str, refs: tuple[Ref, ...]):
        self.text = text
        self.refs = refs

    def ref_at(self, ch: str) -> Ref | None:
        n = placeholder_index(ch)
        return self.refs[n] if n is not None and n < len(self.refs) else None

    def restore(self, text: str, *, links_as_url: bool = True) -> str:
        """Placeholders inside ``text`` back to what the user sees of each reference."""
        out = []
        for ch in text:
            ref = self.ref_at(ch)
            if ref is None:
                out.append(ch)
            elif isinstance(ref, LinkRef) and not links_as_url:
                out.append(ref.label or ref.url)
            else:
                out.append(ref_text(ref))
        return "".join(out)


def _ref_arg(ref: Ref) -> _Arg:
    if isinstance(ref, LinkRef):
        if ref.url.lower().startswith(("http://", "https://")):
            return _Arg("link", ref.label or ref.url, ref.url)
        return _Arg("word", ref.label or ref.url)
    if isinstance(ref, ChannelRef):
        return _Arg("channel", ref_text(ref), destination=ref.destination)
    assert isinstance(ref, MentionRef)
    return _Arg("mention", ref.label)


def _closing(text: str, start: int, closers: Sequence[str]) -> int | None:
    """Index of the mark closing a quote opened before ``start``: the first of ``closers`` (in
    order of preference) found at the end of a word."""
    for closer in closers:
        pos = text.find(closer, start)
        while pos != -1:
            if pos + 1 == len(text) or text[pos + 1].isspace():
                return pos
            pos = text.find(closer, pos + 1)
    return None


def _split_args(command: str, source: _Text, text: str) -> list[_Arg]:
    """Whitespace-separated arguments, honouring quotes; a lone reference is one argument."""
    args: list[_Arg] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        ref = source.ref_at(text[i])
        if ref is not None and (i + 1 == len(text) or text[i + 1].isspace()):
            args.append(_ref_arg(ref))
            i += 1
            continue
        end = i
        while end < len(text) and not text[end].isspace():
            end += 1
        quoted = _quoted(command, text, i, end)
        if quoted is not None:
            inner, i = quoted
            args.append(_Arg("quoted", " ".join(source.restore(inner, links_as_url=False).split())))
            continue
        raw = text[i:end]
        if raw[-1] in _STRAY_CLOSERS and not any(ch in _QUOTES for ch in raw[:-1]):
            raise CommandUsageError(
                command,
                f"“{raw}” ends with a closing quote that was never opened: put quotes on both "
                'sides of a name, like "Viktor Khrenin".',
            )
        args.append(_Arg("word", source.restore(raw, links_as_url=False)))
        i = end
    return args


def _quoted(command: str, text: str, i: int, end: int) -> tuple[str, int] | None:
    """(inside, index after) when a quote opens at ``i``; None when the mark there is literal."""
    opener = text[i]
    closers = _QUOTES.get(opener)
    if closers is None:
        return None
    raw = text[i:end]
    if len(raw) >= 2 and raw[-1] in closers and not any(c in raw[1:-1] for c in closers):
        return raw[1:-1], end  # "Zapad" or «Запад-2025»: a one-word quote
    if any(c in raw[1:] for c in closers):
        return None  # «Запад»-2025: the marks are part of the name
    close = _closing(text, i + 1, closers)
    if close is not None:
        return text[i + 1 : close], close + 1
    if opener in _SINGLE_QUOTES:
        return None  # an apostrophe, not a quote
    raise CommandUsageError(
        command,
        f"The quote {opener} before “{raw[1:]}” is never closed: close it after the last word "
        f'of the name, like "Viktor Khrenin".',
    )


# --------------------------------------------------------------------------- parsing


def parse_command(command: str, text: str | InboundText) -> Command:
    """Read one slash command; ``command`` is "watch" or "/watch" (likewise feeds, claims).

    Raises CommandUsageError (a UserError) with what was wrong and the command's usage, and
    UserError for a control character anywhere in the text.
    """
    name = command.strip().lstrip("/").casefold()
    if name not in _USAGE:
        raise CommandUsageError(None, f"There is no command “{command.strip()}”.")
    inbound = InboundText.of(text)
    for part in inbound.parts:
        if isinstance(part, str):
            refuse_controls(part, "command", allow_newlines=True)
    raw, refs = inbound.placeholders()
    raw = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", raw)).strip()
    source = _Text(raw, refs)
    if not raw:
        if name == "claims":
            return ClaimsOpen()
        if name == "digest":
            return DigestNow()
        if name == "why":
            raise CommandUsageError(name, "/why needs an article's address or an alert number.")
        raise CommandUsageError(name, f"/{name} needs a subcommand, such as “list”.")
    word, rest = _first_word(raw)
    if word.casefold() in _HELP_WORDS:
        return Help(name)
    if name == "why":
        return WhyQuery(source.restore(raw).strip())
    sub = _subcommand(name, source, word)
    return _PARSERS[(name, sub)](source, rest)


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _subcommand(name: str, source: _Text, word: str) -> str:
    known = _SUBCOMMANDS[name]
    sub = known.get(word.casefold())
    if sub is not None:
        return sub
    shown = source.restore(word, links_as_url=False)
    problem: list[Part] = [f"“{shown}” is not a /{name} subcommand."]
    close = difflib.get_close_matches(word.casefold(), list(known), n=1, cutoff=0.6)
    looks_like_url = source.restore(word).lower().startswith("http")
    if close:
        problem.append(f" Did you mean {known[close[0]]}?")
    elif name == "watch" and looks_like_url:
        problem += [" To test a page: ", cmd("watch", "test", Arg("text", source.restore(word)))]
    elif name == "watch" and any(ch.isalpha() for ch in shown):
        problem += [" To watch it: ", cmd("watch", "add", Arg("term", shown))]
    elif name == "feeds" and looks_like_url:
        problem += [" To poll it: ", cmd("feeds", "add", Arg("url", source.restore(word)))]
    raise CommandUsageError(name, tuple(problem))


def _no_arguments(command: str, sub: str, source: _Text, rest: str) -> None:
    if rest.strip():
        raise CommandUsageError(
            command,
            f"/{command} {sub} takes nothing after it (got “{source.restore(rest.strip())}”).",
        )


# ---- /watch


def _watch_add(source: _Text, rest: str) -> WatchAdd:
    args = _split_args("watch", source, rest)
    names: list[str] = []
    channels: list[Destination] = []
    keep_default = False
    for arg in args:
        if arg.kind == "channel" and arg.destination is not None:
            channels.append(arg.destination)
        elif arg.kind == "word" and arg.text.casefold() == KEEP_DEFAULT_WORD:
            keep_default = True
        else:
            names.append(_name_of(arg, "add"))
    if not names:
        raise CommandUsageError(
            "watch",
            ("Say what to watch, e.g. ", cmd("watch", "add", Arg("term", "Viktor Khrenin")), "."),
        )
    if keep_default and not channels:
        raise CommandUsageError(
            "watch",
            f"{KEEP_DEFAULT_WORD} adds the default channels to the channels you name; name a "
            "channel too, or leave it out (alerts go to the default channels anyway).",
        )
    term = check_name(names[0], "name")
    aliases: list[str] = []
    seen = {term.casefold()}
    for alias in names[1:]:
        alias = check_name(alias, "alias")
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    check_alias_count(len(aliases))
    return WatchAdd(term, tuple(aliases), tuple(dict.fromkeys(channels)), keep_default)


def check_alias_count(count: int) -> None:
    if count > MAX_ALIASES:
        raise CommandUsageError(
            "watch",
            f"That is {count} aliases; at most {MAX_ALIASES} fit one name. Add the most "
            "common spellings; the matcher already handles case and word endings.",
        )


def _name_of(arg: _Arg, sub: str) -> str:
    """The watch name an argument gives, refusing arguments that cannot be one."""
    if arg.kind == "mention":
        raise CommandUsageError(
            "watch",
            f"{arg.text} is a mention, not a name: type the name itself, in quotes if it has "
            "spaces.",
        )
    if arg.kind == "link" and arg.text.lower().startswith(("http://", "https://")):
        hint: tuple[Part, ...] = (
            (" To poll a feed: ", cmd("feeds", "add", Arg("url", arg.url or arg.text)), ".")
            if sub == "add"
            else ()
        )
        raise CommandUsageError(
            "watch", (f"/watch {sub} takes a name, not a web address ({arg.url}).", *hint)
        )
    return arg.text


def check_name(name: str, role: str) -> str:
    """A name or alias that the watchlist can hold, or a usage error saying why not. Every way
    of adding a name (text commands, Discord options, the CLI) goes through this check."""
    # Tabs and line breaks are spacing (collapsed below); every other control is refused.
    refuse_controls(name, f"watch {role}", allow_newlines=True)
    name = " ".join(unicodedata.normalize("NFC", name).split())
    if name.lower().startswith(("http://", "https://")):
        raise CommandUsageError(
            "watch",
            (
                f"“{name}” is a web address, not {_a(role)}. To poll a feed: ",
                cmd("feeds", "add", Arg("url", name)),
                ".",
            ),
        )
    if len(name) > MAX_TERM_CHARS:
        raise CommandUsageError(
            "watch",
            f"That {role} is {len(name)} characters long; the limit is {MAX_TERM_CHARS}. "
            "Watch the shortest form people use (e.g. the surname).",
        )
    if len(name) < 2 or not any(ch.isalnum() for ch in name):
        shown = f"“{name}”" if name else "An empty quote"
        raise CommandUsageError(
            "watch",
            f"{shown} can't be {_a(role)}: it needs at least two characters and a letter or digit.",
        )
    return name


def _a(role: str) -> str:
    return f"an {role}" if role[0] in "aeiou" else f"a {role}"


def _watch_remove(source: _Text, rest: str) -> WatchRemove:
    args = _split_args("watch", source, rest)
    channels = tuple(
        dict.fromkeys(a.destination for a in args if a.kind == "channel" and a.destination)
    )
    names = [_name_of(a, "remove") for a in args if a.kind != "channel"]
    if not names:
        problem: tuple[Part, ...] = (
            ("Say whose route to remove: ", cmd("watch", "remove", _ph("term", "NAME"),
                                                _ph("channel", "#channel")), ".")
            if channels
            else ("Say which name to stop watching: ", cmd("watch", "remove", _ph("term", "NAME")),
                  ".")
        )  # fmt: skip
        raise CommandUsageError("watch", problem)
    if len(names) > 1 and any(a.kind == "quoted" for a in args):
        raise CommandUsageError(
            "watch",
            (
                "/watch remove takes one name at a time; quote it if it has spaces (",
                cmd("watch", "remove", Arg("term", "Viktor Khrenin")),
                ").",
            ),
        )
    return WatchRemove(check_name(" ".join(names), "name"), channels)


def _watch_unalias(source: _Text, rest: str) -> WatchUnalias:
    args = _split_args("watch", source, rest)
    if any(a.kind == "channel" for a in args):
        raise CommandUsageError("watch", "/watch unalias takes a spelling, not a channel.")
    names = [_name_of(a, "unalias") for a in args]
    if not names:
        raise CommandUsageError(
            "watch",
            ("Say which spelling to drop: ", cmd("watch", "unalias", _ph("alias", "ALIAS")), "."),
        )
    if len(names) > 1 and any(a.kind == "quoted" for a in args):
        raise CommandUsageError("watch", "/watch unalias takes one spelling at a time.")
    return WatchUnalias(check_name(" ".join(names), "alias"))


def _watch_list(source: _Text, rest: str) -> WatchList:
    _no_arguments("watch", "list", source, rest)
    return WatchList()


def _watch_test(source: _Text, rest: str) -> WatchTest:
    text = source.restore(rest).strip()
    if not text:
        raise CommandUsageError(
            "watch",
            (
                "Give the text or the web address to test: ",
                cmd("watch", "test", Arg("text", "https://example.org/story")),
            ),
        )
    return WatchTest(text)


# ---- /feeds


def _feed_url(sub: str, source: _Text, rest: str) -> str:
    args = _split_args("feeds", source, rest)
    if not args:
        raise CommandUsageError(
            "feeds",
            ("Give the feed's address: ", cmd("feeds", sub, _ph("url", "URL")), "."),
        )
    if len(args) > 1:
        raise CommandUsageError(
            "feeds", f"/feeds {sub} takes one address at a time (got {len(args)} arguments)."
        )
    arg = args[0]
    if arg.kind in ("channel", "mention"):
        raise CommandUsageError("feeds", f"/feeds {sub} takes a web address, not a mention.")
    url = arg.url if arg.kind == "link" and arg.url else arg.text
    return check_feed_url(url)


def check_feed_url(url: str) -> str:
    """An absolute http(s) URL as typed, or a usage error saying what is wrong with it. Every way
    of adding or removing a feed goes through this check."""
    url = url.strip()
    refuse_controls(url, "feed address")
    parts = urlsplit(url) if len(url) <= MAX_URL_CHARS else None
    if parts is None:
        raise CommandUsageError("feeds", f"That address is over {MAX_URL_CHARS} characters.")
    if parts.scheme.lower() not in ("http", "https"):
        suggestion: tuple[Part, ...] = ()
        if not parts.scheme and re.match(r"[\w-]+(\.[\w-]+)+(/|$)", url):
            suggestion = (f" Did you mean https://{url}? Add it with ",
                          cmd("feeds", "add", Arg("url", f"https://{url}")), ".")  # fmt: skip
        raise CommandUsageError(
            "feeds",
            (f"“{url}” is not a web address starting with https:// or http://.", *suggestion),
        )
    if not parts.hostname:
        raise CommandUsageError("feeds", f"“{url}” has no host name.")
    return url


def _feeds_add(source: _Text, rest: str) -> FeedsAdd:
    return FeedsAdd(_feed_url("add", source, rest))


def _feeds_remove(source: _Text, rest: str) -> FeedsRemove:
    return FeedsRemove(_feed_url("remove", source, rest))


def _feeds_list(source: _Text, rest: str) -> FeedsList:
    _no_arguments("feeds", "list", source, rest)
    return FeedsList()


# ---- /claims


def _claims_open(source: _Text, rest: str) -> ClaimsOpen:
    _no_arguments("claims", "open", source, rest)
    return ClaimsOpen()


def _claims_mine(source: _Text, rest: str) -> ClaimsMine:
    _no_arguments("claims", "mine", source, rest)
    return ClaimsMine()


def _digest_now(source: _Text, rest: str) -> DigestNow:
    _no_arguments("digest", "now", source, rest)
    return DigestNow()


_PARSERS = {
    ("watch", "add"): _watch_add,
    ("watch", "remove"): _watch_remove,
    ("watch", "unalias"): _watch_unalias,
    ("watch", "list"): _watch_list,
    ("watch", "test"): _watch_test,
    ("feeds", "add"): _feeds_add,
    ("feeds", "remove"): _feeds_remove,
    ("feeds", "list"): _feeds_list,
    ("claims", "open"): _claims_open,
    ("claims", "mine"): _claims_mine,
    ("digest", "now"): _digest_now,
}
