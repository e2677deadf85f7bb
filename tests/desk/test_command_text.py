"""Slash-command text: every accepted form, quoting, Slack markup, and every usage error."""

from __future__ import annotations

import re

import pytest

from bot.desk.command_text import (
    MAX_ALIASES,
    MAX_TERM_CHARS,
    ClaimsOpen,
    Command,
    CommandUsageError,
    FeedsAdd,
    FeedsList,
    FeedsRemove,
    Help,
    WatchAdd,
    WatchList,
    WatchRemove,
    WatchTest,
    parse_command,
    usage,
)
from bot.desk.inbound import ChannelRef, InboundText, LinkRef
from bot.errors import UserError
from bot.models import Destination

SLACK_NEWS = Destination("slack", "C0123ABC")
DISCORD_NEWS = Destination("discord", "123456789012345678")

ACCEPTED: list[tuple[str, str, Command]] = [
    # /watch add: the example, quoting in every style, three languages
    (
        "/watch",
        "add Lukashenko Lukashenka Лукашенко",
        WatchAdd("Lukashenko", ("Lukashenka", "Лукашенко")),
    ),
    ("watch", "add Lukashenko", WatchAdd("Lukashenko")),
    ("WATCH", "ADD Lukashenko", WatchAdd("Lukashenko")),
    (
        "/watch",
        'add "Viktor Khrenin" "Віктар Хрэнін"',
        WatchAdd("Viktor Khrenin", ("Віктар Хрэнін",)),
    ),
    (
        "/watch",
        "add “Viktor Khrenin” „Виктор Хренин“ Хренин",
        WatchAdd("Viktor Khrenin", ("Виктор Хренин", "Хренин")),
    ),
    ("/watch", "add «Запад-2025» Zapad-2025", WatchAdd("Запад-2025", ("Zapad-2025",))),
    ("/watch", "add «Захад 2025» «Запад 2025»", WatchAdd("Захад 2025", ("Запад 2025",))),
    ("/watch", "add «Запад»-2025", WatchAdd("«Запад»-2025")),
    ("/watch", 'add "ОАО «Белавиа»" Belavia', WatchAdd("ОАО «Белавиа»", ("Belavia",))),
    ("/watch", "add ОАО«Белавиа»", WatchAdd("ОАО«Белавиа»")),
    ("/watch", 'add "The “Patriot” party"', WatchAdd("The “Patriot” party")),
    (
        "/watch",
        "add 'Viktor Khrenin' ‘Віктар Хрэнін’",
        WatchAdd("Viktor Khrenin", ("Віктар Хрэнін",)),
    ),
    ("/watch", "add O'Brien з’езд", WatchAdd("O'Brien", ("з’езд",))),
    ("/watch", "add 't Hooft", WatchAdd("'t", ("Hooft",))),
    ("/watch", 'add "  Viktor   Khrenin "', WatchAdd("Viktor Khrenin")),
    ("/watch", '  add   "Zapad"   ', WatchAdd("Zapad")),
    ("/watch", "add\tBelavia\u00a0Белавія", WatchAdd("Belavia", ("Белавія",))),
    # duplicates and the term itself are dropped from the aliases
    (
        "/watch",
        "add Lukashenko lukashenko Лукашенко ЛУКАШЕНКО Lukashenka",
        WatchAdd("Lukashenko", ("Лукашенко", "Lukashenka")),
    ),
    # references the adapter found (see tests/chat/*/test_*_inbound.py for the markup)
    (
        "/watch",
        InboundText(
            ("add Lukashenko ", ChannelRef(SLACK_NEWS, "news-desk"), " ", ChannelRef(DISCORD_NEWS))
        ),
        WatchAdd("Lukashenko", (), (SLACK_NEWS, DISCORD_NEWS)),
    ),
    (
        "/watch",
        InboundText(
            ("add ", ChannelRef(SLACK_NEWS), " Belavia ", ChannelRef(SLACK_NEWS), " Белавиа")
        ),
        WatchAdd("Belavia", ("Белавиа",), (SLACK_NEWS,)),
    ),
    (
        "/watch",
        InboundText(("add ", LinkRef("http://belta.by", "belta.by"), " БелТА")),
        WatchAdd("belta.by", ("БелТА",)),
    ),
    (
        "/watch",
        InboundText(("add Lukashenko ", ChannelRef(SLACK_NEWS), " +default")),
        WatchAdd("Lukashenko", (), (SLACK_NEWS,), keep_default=True),
    ),
    ("/watch", "add AT&T", WatchAdd("AT&T")),
    ("/watch", "add #Zapad2025", WatchAdd("#Zapad2025")),
    # /watch remove, list, test
    ("/watch", "remove Lukashenko", WatchRemove("Lukashenko")),
    ("/watch", "rm Лукашэнка", WatchRemove("Лукашэнка")),
    ("/watch", "delete «Запад-2025»", WatchRemove("Запад-2025")),
    ("/watch", 'remove "Viktor Khrenin"', WatchRemove("Viktor Khrenin")),
    ("/watch", "remove Viktor Khrenin", WatchRemove("Viktor Khrenin")),
    ("/watch", "list", WatchList()),
    ("/watch", "LS", WatchList()),
    (
        "/watch",
        "test Лукашенко встретился с военными атташе",
        WatchTest("Лукашенко встретился с военными атташе"),
    ),
    (
        "/watch",
        'test Lukashenko said "52 prisoners"  were freed',
        WatchTest('Lukashenko said "52 prisoners"  were freed'),
    ),
    # /feeds
    ("/feeds", "add https://www.belta.by/rss", FeedsAdd("https://www.belta.by/rss")),
    ("/feeds", "ADD HTTPS://x.example/rss", FeedsAdd("HTTPS://x.example/rss")),
    ("/feeds", "remove https://www.belta.by/rss", FeedsRemove("https://www.belta.by/rss")),
    ("/feeds", "list", FeedsList()),
    # /claims
    ("/claims", "", ClaimsOpen()),
    ("/claims", "   ", ClaimsOpen()),
    ("/claims", "open", ClaimsOpen()),
    ("claims", "list", ClaimsOpen()),
    # help everywhere
    ("/watch", "help", Help("watch")),
    ("/watch", "HELP add", Help("watch")),
    ("/feeds", "?", Help("feeds")),
    ("/claims", "--help", Help("claims")),
]


@pytest.mark.parametrize(("command", "text", "expected"), ACCEPTED)
def test_accepted_forms(command: str, text: str, expected: Command) -> None:
    assert parse_command(command, text) == expected


ERRORS: list[tuple[str, str, str]] = [
    ("/vote", "2 false", "There is no command “/vote”"),
    ("/watch", "", "/watch needs a subcommand"),
    ("/feeds", "  ", "/feeds needs a subcommand"),
    ("/watch", "ad Lukashenko", "Did you mean add?"),
    ("/watch", "lsit", "Did you mean list?"),
    ("/watch", "remvoe Lukashenko", "Did you mean remove?"),
    ("/feeds", "ad https://x.example/rss", "Did you mean add?"),
    ("/watch", "Lukashenko", "To watch it: /watch add Lukashenko"),
    ("/watch", "Лукашэнка", "To watch it: /watch add Лукашэнка"),
    ("/feeds", "https://x.example/rss", "To poll it: /feeds add https://x.example/rss"),
    ("/claims", "open now", "/claims open takes nothing after it (got “now”)"),
    ("/claims", "5", "“5” is not a /claims subcommand"),
    # /watch add
    ("/watch", "add", "Say what to watch"),
    ("/watch", 'add "Viktor Khrenin', 'The quote " before “Viktor” is never closed'),
    ("/watch", "add «Запад 2025", "never closed"),
    ("/watch", "add „Виктор Хренин", "never closed"),
    ("/watch", 'add "Zapad 2025"x', "never closed"),
    ("/watch", 'add Viktor Khrenin"', "closing quote that was never opened"),
    ("/watch", "add Запад 2025»", "closing quote that was never opened"),
    ("/watch", 'add ""', "An empty quote can't be a name"),
    ("/watch", "add Z", "“Z” can't be a name"),
    ("/watch", "add Lukashenko ...", "“...” can't be an alias"),
    ("/watch", "add " + "Ж" * (MAX_TERM_CHARS + 1), f"the limit is {MAX_TERM_CHARS}"),
    (
        "/watch",
        "add Lukashenko " + "x" * (MAX_TERM_CHARS + 1),
        f"That alias is {MAX_TERM_CHARS + 1} characters long",
    ),
    (
        "/watch",
        "add Lukashenko " + " ".join(f"alias{i}" for i in range(MAX_ALIASES + 1)),
        f"at most {MAX_ALIASES}",
    ),
    ("/watch", "add https://www.belta.by/rss", "is a web address"),
    # /watch remove, list, test
    ("/watch", "remove", "Say which name to stop watching"),
    ("/watch", 'remove "Viktor Khrenin" Хренин', "one name at a time"),
    ("/watch", "list all", "/watch list takes nothing after it (got “all”)"),
    ("/watch", "test", "Give the text or the web address to test"),
    ("/watch", "test    ", "Give the text or the web address to test"),
    # /feeds
    ("/feeds", "add", "Give the feed's address"),
    ("/feeds", "add https://a.example/rss https://b.example/rss", "one address at a time"),
    ("/feeds", "add belta.by/rss", "Did you mean https://belta.by/rss?"),
    ("/feeds", "add ftp://x.example/rss", "not a web address starting with https://"),
    ("/feeds", "add https://", "has no host name"),
    ("/feeds", "add https://x.example/" + "a" * 2001, "over 2000 characters"),
    ("/feeds", "remove", "Give the feed's address"),
    ("/feeds", "list https://x.example/rss", "/feeds list takes nothing after it"),
]


@pytest.mark.parametrize(("command", "text", "expected"), ERRORS)
def test_usage_errors(command: str, text: str, expected: str) -> None:
    with pytest.raises(CommandUsageError) as caught:
        parse_command(command, text)
    error = caught.value
    assert expected in error.problem
    assert isinstance(error, UserError)
    # the message is the problem, then how the command is written
    assert str(error) == f"{error.problem}\n{error.usage}"
    name = command.strip("/").casefold()
    if name in ("watch", "feeds", "claims"):
        assert error.usage == usage(name)
        assert f"/{name}" in error.usage
    else:
        assert "/watch, /feeds, /claims" in error.usage


@pytest.mark.parametrize("command", ["watch", "/watch", "feeds", "/FEEDS", "claims"])
def test_usage_lists_only_real_subcommands(command: str) -> None:
    """Each usage line names its command and a subcommand the parser knows."""
    text = usage(command)
    name = command.strip("/").casefold()
    lines = text.splitlines()[1:]
    assert len(lines) >= 2
    for line in lines:
        words = line.split()
        assert words[0] == f"/{name}"
        sub = "" if words[1] == "—" else words[1]
        try:
            parse_command(name, sub)
        except CommandUsageError as exc:  # e.g. "add" alone lacks its name: fine
            assert "subcommand" not in exc.problem, line


def test_usage_of_unknown_command_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        usage("vote")


@pytest.mark.parametrize("command", ["watch", "feeds"])
def test_examples_in_usage_parse(command: str) -> None:
    """Every full example the usage text shows ("…: /watch add …") is itself accepted."""
    examples = re.findall(r": (/\w+ [^—\n]+)$", usage(command), flags=re.MULTILINE)
    assert examples
    for example in examples:
        name, _, text = example.partition(" ")
        assert isinstance(parse_command(name, text), (WatchAdd, FeedsAdd)), example


def test_quoted_and_guillemet_names_are_the_same_name() -> None:
    straight = parse_command("watch", 'add "Запад 2025"')
    guillemets = parse_command("watch", "add «Запад 2025»")
    curly = parse_command("watch", "add “Запад 2025”")
    assert straight == guillemets == curly == WatchAdd("Запад 2025")


def test_text_is_nfc_normalised() -> None:
    decomposed = "Лукашэнка у\u0306зброеныя"  # "ў" typed as у + combining breve
    parsed = parse_command("watch", f'add "{decomposed}"')
    assert parsed == WatchAdd("Лукашэнка ўзброеныя")
