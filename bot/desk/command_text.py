"""Parsing of the text form of /watch, /feeds and /claims into typed commands, for every platform.

Slack hands a slash command over as ``command="/watch"`` and ``text='add "Viktor Khrenin" Хренин'``;
Discord text commands and the console look the same. :func:`parse_command` turns that text into
one of the frozen dataclasses below, or raises :class:`CommandUsageError` whose message says what
was wrong followed by the command's usage, ready to show the user.

Grammar (subcommands are case-insensitive; ``NAME`` is one argument, see quoting)::

    /watch add NAME [ALIAS ...] [#channel ...]   → WatchAdd(term, aliases, channels)
    /watch remove NAME        (rm, delete, del)  → WatchRemove(term)
    /watch list               (ls)               → WatchList()
    /watch test TEXT-OR-URL   (try)              → WatchTest(text)   the rest of the line, verbatim
    /feeds add URL                               → FeedsAdd(url)
    /feeds remove URL         (rm, delete, del)  → FeedsRemove(url)
    /feeds list               (ls)               → FeedsList()
    /claims [open]            (list, ls)         → ClaimsOpen()
    /<any> help               (?, -h, --help)    → Help(command)

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
* Slack's markup is undone: ``<https://x|label>`` is a link (its URL for /feeds; for /watch a link
  Slack made out of a bare domain such as ``belta.by`` counts as the label the user typed),
  ``<#C0123|news>`` is a channel and becomes the destination ``"slack:C0123"``, Discord's
  ``<#123>`` becomes ``"discord:123"``, and ``&amp; &lt; &gt;`` are unescaped. A plain ``#news``
  (no markup) is an ordinary word.
* ``/watch remove`` takes one name; unquoted words after it are joined (``remove Viktor Khrenin``).
* Names are 2..100 characters with at least one letter or digit; at most 20 aliases; duplicate
  aliases (ignoring case) and aliases equal to the name are dropped.
* ``/feeds`` URLs must be absolute http(s) URLs (``belta.by/rss`` is refused with a suggestion).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import UserError

MAX_TERM_CHARS = 100
MAX_ALIASES = 20
MAX_URL_CHARS = 2000


@dataclass(frozen=True)
class WatchAdd:
    """Watch ``term`` (and its ``aliases``); ``channels`` are destinations named in the command
    ("slack:C0123", "discord:123"), empty when none were named."""

    term: str
    aliases: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True)
class WatchRemove:
    term: str


@dataclass(frozen=True)
class WatchList:
    pass


@dataclass(frozen=True)
class WatchTest:
    """``text`` is the rest of the line as the user typed it (Slack link markup undone)."""

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
class Help:
    """The user asked for ``command``'s usage ("watch", "feeds" or "claims")."""

    command: str


Command = (
    WatchAdd | WatchRemove | WatchList | WatchTest | FeedsAdd | FeedsList | FeedsRemove
    | ClaimsOpen | Help
)  # fmt: skip


class CommandUsageError(UserError):
    """A slash command the parser could not read. ``problem`` says what was wrong, ``usage`` how
    the command is written; the message is both, one after the other."""

    def __init__(self, command: str | None, problem: str):
        self.command = command
        self.problem = problem
        self.usage = usage(command) if command in _USAGE else _all_usage()
        super().__init__(f"{problem}\n{self.usage}")


# --------------------------------------------------------------------------- usage

_USAGE: dict[str, tuple[str, ...]] = {
    "watch": (
        "/watch add NAME [ALIAS …] [#channel …] — watch a name and its other spellings; quote "
        'names with spaces: /watch add "Viktor Khrenin" "Віктар Хрэнін" Хренин',
        "/watch remove NAME — stop watching a name",
        "/watch list — show the watchlist",
        "/watch test TEXT or URL — show what the watchlist would match in it",
        "/watch help — this help",
    ),
    "feeds": (
        "/feeds add URL — poll a feed: /feeds add https://example.org/rss",
        "/feeds remove URL — stop polling it",
        "/feeds list — show the feeds",
        "/feeds help — this help",
    ),
    "claims": (
        "/claims — claims in recent alerts that nobody has checked yet",
        "/claims help — this help",
    ),
}

_SUBCOMMANDS: dict[str, dict[str, str]] = {
    "watch": {
        "add": "add", "remove": "remove", "rm": "remove", "delete": "remove", "del": "remove",
        "list": "list", "ls": "list", "test": "test", "try": "test",
    },
    "feeds": {
        "add": "add", "remove": "remove", "rm": "remove", "delete": "remove", "del": "remove",
        "list": "list", "ls": "list",
    },
    "claims": {"open": "open", "list": "open", "ls": "open"},
}  # fmt: skip
_HELP_WORDS = frozenset({"help", "?", "-h", "--help"})


def usage(command: str) -> str:
    """How ``command`` ("watch" or "/watch", "feeds", "claims") is written, one line per form."""
    name = command.strip().lstrip("/").casefold()
    if name not in _USAGE:
        raise ValueError(f"no such command: {command!r}")
    return "Usage:\n" + "\n".join(f"  {line}" for line in _USAGE[name])


def _all_usage() -> str:
    return "Commands: /watch, /feeds, /claims (add “help” to any of them for its usage)."


# --------------------------------------------------------------------------- arguments


@dataclass(frozen=True)
class _Arg:
    kind: str  # "word" | "quoted" | "link" | "channel" | "mention"
    text: str  # what the user typed (the label of a link, the destination of a channel)
    url: str | None = None  # for links


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
_MARKUP_RE = re.compile(r"<([^<>\s|]+)(?:\|([^<>]*))?>")
_INVISIBLE_RE = re.compile("[\u200b\u200c\u2060\ufeff]")


def _unescape(text: str) -> str:
    """Slack escapes these three in command text; nothing else is escaped."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _markup(match: re.Match[str]) -> _Arg:
    target, label = match.group(1), match.group(2)
    if target.lower().startswith(("http://", "https://")):
        url = _unescape(target)
        shown = _unescape(label) if label else url
        return _Arg("link", shown, url)
    if target.startswith("#"):
        channel = target[1:]
        if channel.isdigit():
            return _Arg("channel", f"discord:{channel}")
        if re.fullmatch(r"[A-Z0-9]+", channel):
            return _Arg("channel", f"slack:{channel}")
    if target.startswith(("@", "!")):
        return _Arg("mention", match.group())
    if target.lower().startswith("mailto:"):
        return _Arg("word", _unescape(label or target[7:]))
    return _Arg("word", _unescape(match.group()))


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


def _split_args(command: str, text: str) -> list[_Arg]:
    """Whitespace-separated arguments, honouring quotes and Slack/Discord markup."""
    args: list[_Arg] = []
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        markup = _MARKUP_RE.match(text, i)
        if markup:
            args.append(_markup(markup))
            i = markup.end()
            continue
        end = i
        while end < len(text) and not text[end].isspace():
            end += 1
        quoted = _quoted(command, text, i, end)
        if quoted is not None:
            inner, i = quoted
            args.append(_Arg("quoted", " ".join(_unescape(inner).split())))
            continue
        raw = text[i:end]
        if raw[-1] in _STRAY_CLOSERS and not any(ch in _QUOTES for ch in raw[:-1]):
            raise CommandUsageError(
                command,
                f"“{raw}” ends with a closing quote that was never opened: put quotes on both "
                'sides of a name, like "Viktor Khrenin".',
            )
        args.append(_Arg("word", _unescape(raw)))
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


def parse_command(command: str, text: str) -> Command:
    """Read one slash command; ``command`` is "watch" or "/watch" (likewise feeds, claims).

    Raises CommandUsageError (a UserError) with what was wrong and the command's usage.
    """
    name = command.strip().lstrip("/").casefold()
    if name not in _USAGE:
        raise CommandUsageError(None, f"There is no command “{command.strip()}”.")
    text = _INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text)).strip()
    if not text:
        if name == "claims":
            return ClaimsOpen()
        raise CommandUsageError(name, f"/{name} needs a subcommand, such as “list”.")
    word, rest = _first_word(text)
    if word.casefold() in _HELP_WORDS:
        return Help(name)
    sub = _subcommand(name, word)
    return _PARSERS[(name, sub)](rest)


def _first_word(text: str) -> tuple[str, str]:
    parts = text.split(maxsplit=1)
    return parts[0], parts[1] if len(parts) > 1 else ""


def _subcommand(name: str, word: str) -> str:
    known = _SUBCOMMANDS[name]
    sub = known.get(word.casefold())
    if sub is not None:
        return sub
    problem = f"“{word}” is not a /{name} subcommand."
    close = difflib.get_close_matches(word.casefold(), list(known), n=1, cutoff=0.6)
    if close:
        problem += f" Did you mean {known[close[0]]}?"
    elif name == "watch" and word.lower().startswith(("http", "<http")):
        problem += f" To test a page: /watch test {_plain(word)}"
    elif name == "watch" and any(ch.isalpha() for ch in word):
        problem += f" To watch it: /watch add {word}"
    elif name == "feeds" and word.lower().startswith(("http", "<http")):
        problem += " To poll it: /feeds add URL"
    raise CommandUsageError(name, problem)


def _no_arguments(command: str, sub: str, rest: str) -> None:
    if rest.strip():
        raise CommandUsageError(
            command, f"/{command} {sub} takes nothing after it (got “{rest.strip()}”)."
        )


# ---- /watch


def _watch_add(rest: str) -> WatchAdd:
    args = _split_args("watch", rest)
    names: list[str] = []
    channels: list[str] = []
    for arg in args:
        if arg.kind == "channel":
            channels.append(arg.text)
        else:
            names.append(_name_of(arg, "add"))
    if not names:
        raise CommandUsageError("watch", 'Say what to watch, e.g. /watch add "Viktor Khrenin".')
    term = _checked_name(names[0], "name")
    aliases: list[str] = []
    seen = {term.casefold()}
    for alias in names[1:]:
        alias = _checked_name(alias, "alias")
        if alias.casefold() not in seen:
            seen.add(alias.casefold())
            aliases.append(alias)
    if len(aliases) > MAX_ALIASES:
        raise CommandUsageError(
            "watch",
            f"That is {len(aliases)} aliases; at most {MAX_ALIASES} fit one name. Add the most "
            "common spellings; the matcher already handles case and word endings.",
        )
    return WatchAdd(term, tuple(aliases), tuple(dict.fromkeys(channels)))


def _name_of(arg: _Arg, sub: str) -> str:
    """The watch name an argument gives, refusing arguments that cannot be one."""
    if arg.kind == "mention":
        raise CommandUsageError(
            "watch",
            f"{arg.text} is a mention, not a name: type the name itself, in quotes if it has "
            "spaces.",
        )
    if arg.kind == "link" and arg.text.lower().startswith(("http://", "https://")):
        hint = " To poll a feed: /feeds add URL." if sub == "add" else ""
        raise CommandUsageError(
            "watch", f"/watch {sub} takes a name, not a web address ({arg.url}).{hint}"
        )
    return arg.text


def _checked_name(name: str, role: str) -> str:
    """A name or alias that the watchlist can hold, or a usage error saying why not."""
    if name.lower().startswith(("http://", "https://")):
        raise CommandUsageError(
            "watch",
            f"“{name}” is a web address, not {_a(role)}. To poll a feed: /feeds add URL.",
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


def _watch_remove(rest: str) -> WatchRemove:
    args = _split_args("watch", rest)
    if any(a.kind == "channel" for a in args):
        raise CommandUsageError("watch", "/watch remove takes a name, not a channel.")
    names = [_name_of(a, "remove") for a in args]
    if not names:
        raise CommandUsageError("watch", "Say which name to stop watching: /watch remove NAME.")
    if len(names) > 1 and any(a.kind == "quoted" for a in args):
        raise CommandUsageError(
            "watch",
            "/watch remove takes one name at a time; quote it if it has spaces "
            '(/watch remove "Viktor Khrenin").',
        )
    return WatchRemove(_checked_name(" ".join(names), "name"))


def _watch_list(rest: str) -> WatchList:
    _no_arguments("watch", "list", rest)
    return WatchList()


def _watch_test(rest: str) -> WatchTest:
    text = _plain(rest).strip()
    if not text:
        raise CommandUsageError(
            "watch",
            "Give the text or the web address to test: /watch test https://example.org/story",
        )
    return WatchTest(text)


def _plain(text: str) -> str:
    """Slack/Discord markup back to what the user typed (links as their URL)."""

    def undo(match: re.Match[str]) -> str:
        arg = _markup(match)
        if arg.kind == "link":
            return arg.url or arg.text
        if arg.kind == "channel" and match.group(2):
            return "#" + _unescape(match.group(2))
        if arg.kind == "mention" and match.group(2):
            return "@" + _unescape(match.group(2))
        return arg.text

    out: list[str] = []
    pos = 0
    for match in _MARKUP_RE.finditer(text):
        out += [_unescape(text[pos : match.start()]), undo(match)]
        pos = match.end()
    out.append(_unescape(text[pos:]))
    return "".join(out)


# ---- /feeds


def _feed_url(sub: str, rest: str) -> str:
    args = _split_args("feeds", rest)
    if not args:
        raise CommandUsageError("feeds", f"Give the feed's address: /feeds {sub} URL.")
    if len(args) > 1:
        raise CommandUsageError(
            "feeds", f"/feeds {sub} takes one address at a time (got {len(args)} arguments)."
        )
    arg = args[0]
    url = arg.url if arg.kind == "link" and arg.url else arg.text
    if arg.kind in ("channel", "mention"):
        raise CommandUsageError("feeds", f"/feeds {sub} takes a web address, not a mention.")
    return _checked_url(sub, url)


def _checked_url(sub: str, url: str) -> str:
    parts = urlsplit(url) if len(url) <= MAX_URL_CHARS else None
    if parts is None:
        raise CommandUsageError("feeds", f"That address is over {MAX_URL_CHARS} characters.")
    if parts.scheme.lower() not in ("http", "https"):
        suggestion = ""
        if not parts.scheme and re.match(r"[\w-]+(\.[\w-]+)+(/|$)", url):
            suggestion = f" Did you mean https://{url}?"
        raise CommandUsageError(
            "feeds", f"“{url}” is not a web address starting with https:// or http://.{suggestion}"
        )
    if not parts.hostname:
        raise CommandUsageError("feeds", f"“{url}” has no host name.")
    return url


def _feeds_add(rest: str) -> FeedsAdd:
    return FeedsAdd(_feed_url("add", rest))


def _feeds_remove(rest: str) -> FeedsRemove:
    return FeedsRemove(_feed_url("remove", rest))


def _feeds_list(rest: str) -> FeedsList:
    _no_arguments("feeds", "list", rest)
    return FeedsList()


# ---- /claims


def _claims_open(rest: str) -> ClaimsOpen:
    _no_arguments("claims", "open", rest)
    return ClaimsOpen()


_PARSERS = {
    ("watch", "add"): _watch_add,
    ("watch", "remove"): _watch_remove,
    ("watch", "list"): _watch_list,
    ("watch", "test"): _watch_test,
    ("feeds", "add"): _feeds_add,
    ("feeds", "remove"): _feeds_remove,
    ("feeds", "list"): _feeds_list,
    ("claims", "open"): _claims_open,
}
