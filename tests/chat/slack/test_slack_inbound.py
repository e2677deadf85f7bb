"""Slack's inbound markup is undone by the Slack adapter, so the desk's parsers see only the
neutral form: these are the Slack spellings of commands and verdict replies, end to end."""

from __future__ import annotations

import pytest

from bot.chat.slack.inbound import destination, inbound_text
from bot.desk.command_text import (
    Command,
    CommandUsageError,
    FeedsAdd,
    FeedsRemove,
    WatchAdd,
    WatchRemove,
    WatchTest,
    parse_command,
)
from bot.desk.inbound import ChannelRef, InboundText, LinkRef, MentionRef
from bot.desk.verdicts import VerdictHint, VerdictRequest, parse_verdict_reply
from bot.models import Destination, Verdict

NEWS = Destination("slack", "C0123ABC")

COMMANDS: list[tuple[str, str, Command]] = [
    ("/watch", "add AT&amp;T", WatchAdd("AT&T")),
    ("/watch", "add Lukashenko <#C0123ABC|news-desk>", WatchAdd("Lukashenko", (), (NEWS,))),
    (
        "/watch",
        "add <#C0123ABC|news> Belavia <#C0123ABC|news> Белавиа",
        WatchAdd("Belavia", ("Белавиа",), (NEWS,)),
    ),
    ("/watch", "add <http://belta.by|belta.by> БелТА", WatchAdd("belta.by", ("БелТА",))),
    ("/watch", "remove Belavia <#C0123ABC>", WatchRemove("Belavia", (NEWS,))),
    (
        "/watch",
        "test <https://www.belta.by/president/view/x-123/?a=1&amp;b=2>",
        WatchTest("https://www.belta.by/president/view/x-123/?a=1&b=2"),
    ),
    (
        "/watch",
        "try see <https://x.example/a|x.example/a> in <#C0123|news> by <@U1|anna> &lt;3",
        WatchTest("see https://x.example/a in #news by @anna <3"),
    ),
    (
        "/feeds",
        "add <https://belsat.eu/by/feed/|belsat.eu/by/feed/>",
        FeedsAdd("https://belsat.eu/by/feed/"),
    ),
    ("/feeds", "add <https://nashaniva.com/rss>", FeedsAdd("https://nashaniva.com/rss")),
    (
        "/feeds",
        'add "https://x.example/rss?a=1&amp;b=2"',
        FeedsAdd("https://x.example/rss?a=1&b=2"),
    ),
    (
        "/feeds",
        "del <https://www.belta.by/rss|www.belta.by/rss>",
        FeedsRemove("https://www.belta.by/rss"),
    ),
]


@pytest.mark.parametrize(("command", "text", "expected"), COMMANDS)
def test_slack_commands_reach_the_desk_neutral(command: str, text: str, expected: Command) -> None:
    assert parse_command(command, inbound_text(text)) == expected


ERRORS = [
    ("/watch", "<https://x.example/a>", "To test a page: /watch test https://x.example/a"),
    ("/watch", "add <#C0123|news>", "Say what to watch"),
    ("/watch", "add <https://www.belta.by/rss>", "takes a name, not a web address"),
    ("/watch", "add <@U0123ABC>", "is a mention, not a name"),
    ("/watch", "add <!here>", "@here is a mention, not a name"),
    ("/watch", "remove <#C0123|news>", "Say whose route to remove"),
    ("/feeds", "add <#C0123|news>", "not a mention"),
]


@pytest.mark.parametrize(("command", "text", "expected"), ERRORS)
def test_slack_markup_errors(command: str, text: str, expected: str) -> None:
    with pytest.raises(CommandUsageError) as caught:
        parse_command(command, inbound_text(text))
    assert expected in caught.value.problem


def test_inbound_text_parts() -> None:
    assert inbound_text(
        "<@U1|anna> see <https://x.example/?a=1&amp;b=2|label> in <#C0123ABC|news> "
        "<!subteam^S1|@checkers> :white_check_mark: :unknown_code: <mailto:a@b.c|a@b.c>"
    ) == InboundText(
        (
            MentionRef("@anna"),
            " see ",
            LinkRef("https://x.example/?a=1&b=2", "label"),
            " in ",
            ChannelRef(NEWS, "news"),
            " ",
            MentionRef("@checkers"),
            " ✅ :unknown_code: a@b.c",
        )
    )
    # not a Slack channel id: left as the text the user saw
    assert inbound_text("<#c0123|news>") == InboundText(("#news",))


def test_destination_validates_slack_ids() -> None:
    assert destination("C0123ABC") == NEWS
    for bad in ("123456789012345678", "c0123abc", "C01 23", ""):
        with pytest.raises(ValueError):
            destination(bad)


F, T = Verdict.FALSE, Verdict.TRUE

VERDICTS = [
    ("2 FALSE <https://x.y|x.y>", VerdictRequest((2,), F, "https://x.y", None)),
    ("<@U0123ABCD> 2 false", VerdictRequest((2,), F, None, None)),
    ("<@U0123ABCD|watchdesk> 2 false", VerdictRequest((2,), F, None, None)),
    ("1 :white_check_mark:", VerdictRequest((1,), T, None, None)),
    ("3 :x:", VerdictRequest((3,), F, None, None)),
    ("4 :warning:", VerdictRequest((4,), Verdict.MISLEADING, None, None)),
    ("5 :question:", VerdictRequest((5,), Verdict.UNPROVEN, None, None)),
    (
        "2 false <https://example.org/a?b=1&amp;c=2|example.org>",
        VerdictRequest((2,), F, "https://example.org/a?b=1&c=2", None),
    ),
    (
        "2 false\n> quoted\nAT&amp;T numbers differ",
        VerdictRequest((2,), F, None, "AT&T numbers differ"),
    ),
]


@pytest.mark.parametrize(("text", "expected"), VERDICTS)
def test_slack_verdict_replies(text: str, expected: VerdictRequest) -> None:
    assert parse_verdict_reply(inbound_text(text), 5) == expected


@pytest.mark.parametrize(
    "text", ["2 false <@U0123ABCD>", "claim 2: false see <#C0123ABC|news>", "2 false <!channel>"]
)
def test_a_mention_as_source_gets_a_hint(text: str) -> None:
    hint = parse_verdict_reply(inbound_text(text), 5)
    assert isinstance(hint, VerdictHint) and "mention or a channel can't be" in hint.message
